"""Every API error is JSON: {"error": "one-line message", "detail": ...} with a 4xx status."""

from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


def json_exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        return Response({"error": "request body too large", "detail": None}, status=status.HTTP_400_BAD_REQUEST)
    response = exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django's 500 handling log it
    detail = response.data
    if isinstance(exc, exceptions.ValidationError):
        message = "invalid input"
        response.status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        message = f"{exc.detail} Send a JSON body with Content-Type: application/json."
        detail = None
        response.status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(detail, dict) and "detail" in detail:
        message = str(detail["detail"])
        detail = None
    else:
        message = str(exc)
    if isinstance(exc, exceptions.PermissionDenied) and "CSRF" in message:
        message = "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header"
    response.data = {"error": message, "detail": detail}
    return response

"""Every API error is JSON: {"error": "one-line message", "detail": ...} with a 4xx status.

Two statuses besides 4xx: 429 when a swiper is over their rate limit (cityvibes_site/throttling.py)
and 503 when the database is unreachable (outside DRF views cityvibes_site/middleware.py does the
same). Both carry a Retry-After header and say it in detail.retry_after.
"""

import logging

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.middleware import csrf
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)

# Connection refused, terminated by a restart, "the database system is shutting down", too many
# connections, a statement timeout: the request may well succeed if retried in a few seconds.
DATABASE_ERRORS = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER_SECONDS = 5


class ErrorSerializer(serializers.Serializer):
    """The body of every API error (documented in the OpenAPI schema as "Error")."""

    error = serializers.CharField()
    detail = serializers.JSONField(allow_null=True)


def error_body(message: str, detail: object = None) -> dict:
    return {"error": message, "detail": detail}


def database_unavailable_body() -> dict:
    return error_body(
        "database unavailable", {"retry_after": DATABASE_RETRY_AFTER_SECONDS, "message": "try again in a few seconds"}
    )


def log_database_unavailable(exc: Exception) -> None:
    lines = str(exc).strip().splitlines()
    logger.warning("database unavailable (%s): %s", type(exc).__name__, lines[0] if lines else "")


def json_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: DRF's own answer, reshaped into the error format."""
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("request body too large"), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DATABASE_ERRORS):
        log_database_unavailable(exc)
        return Response(
            database_unavailable_body(),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    response = exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django's 500 handling log it
    detail = response.data
    if isinstance(exc, exceptions.ValidationError):
        message = "invalid input"
        response.status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(exc, exceptions.Throttled):
        message = "too many requests" + (f": try again in {exc.wait} seconds" if exc.wait else "")
        detail = {"retry_after": exc.wait}
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        message = f"{exc.detail} Send a JSON body with Content-Type: application/json."
        detail = None
        response.status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(detail, dict) and "detail" in detail:
        message = str(detail["detail"])
        detail = None
    else:
        message = str(exc)
    if isinstance(exc, exceptions.PermissionDenied) and message.startswith("CSRF Failed: "):
        reason = message.removeprefix("CSRF Failed: ")
        message, detail = csrf_failure_message(reason), {"reason": reason}
    response.data = error_body(message, detail)
    return response


def csrf_failure_message(reason: str) -> str:
    """What is missing, in words, from Django's reason for refusing the CSRF check (DRF passes it on)."""
    if reason == csrf.REASON_NO_REFERER:  # over HTTPS, neither Origin nor Referer was sent
        return "CSRF check failed: over HTTPS, send an Origin or Referer header naming this site (browsers do)"
    if reason.startswith(("Origin checking failed", "Referer checking failed")):
        return (
            "CSRF check failed: the Origin or Referer header names another site (a site of yours belongs in "
            "DJANGO_CSRF_TRUSTED_ORIGINS)"
        )
    return "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header"

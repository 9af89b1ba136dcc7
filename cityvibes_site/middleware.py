"""A database outage (restart, failover, connection refused) answers 503, never a 500 or a traceback.

- A view that raises OperationalError / InterfaceError: 503 through `process_exception` (DRF views
  already answer 503 JSON themselves, in cityvibes_site/api_errors.py).
- The same error raised outside any view, e.g. by SessionMiddleware saving the session after the
  database went away: Django has already turned it into a 500; `__call__` swaps that for the 503.
  (List this middleware first in MIDDLEWARE so it sees every other middleware's response.)
- A session this request stored that the browser does not know yet (a new visitor's first swipe
  stores its session before the swipe, see swipes/sessions.py): its cookie is sent whatever the
  response is. SessionMiddleware sends no cookie with a 5xx, and a first swipe that committed just
  before an outage must stay with the browser that made it.

/api/ paths get JSON {"error": "database unavailable", "detail": {"retry_after": ...}}, pages a
short HTML page; both with Retry-After. Django itself drops the broken connection when the request
finishes, and CONN_HEALTH_CHECKS (settings) checks a persistent connection before reusing it, so
the first request after a restart reconnects.
"""

import json
import sys
import time
from http import HTTPStatus

from django.conf import settings
from django.core.signals import got_request_exception
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.http import http_date
from django.views.defaults import page_not_found, server_error

from cityvibes_site.api_errors import (
    DATABASE_ERRORS,
    DATABASE_RETRY_AFTER_SECONDS,
    database_unavailable_body,
    error_body,
    log_database_unavailable,
)

_FAILED_ON_DATABASE = "_cityvibes_database_unavailable"


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        response = JsonResponse(database_unavailable_body(), status=503)
    else:
        # No request context: the context processors would read the session and the user, from the
        # database that is down.
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def send_cookie_of_new_session(request: HttpRequest, response: HttpResponse) -> None:
    """Set the cookie of a session stored during this request that the browser did not send, unless
    the response sets it already."""
    session = getattr(request, "session", None)
    name = settings.SESSION_COOKIE_NAME
    if session is None or not session.session_key or name in response.cookies:
        return
    if request.COOKIES.get(name) == session.session_key:
        return
    max_age = None if session.get_expire_at_browser_close() else session.get_expiry_age()
    response.set_cookie(
        name,
        session.session_key,
        max_age=max_age,
        expires=None if max_age is None else http_date(time.time() + max_age),
        domain=settings.SESSION_COOKIE_DOMAIN,
        path=settings.SESSION_COOKIE_PATH,
        secure=settings.SESSION_COOKIE_SECURE or None,
        httponly=settings.SESSION_COOKIE_HTTPONLY or None,
        samesite=settings.SESSION_COOKIE_SAMESITE,
    )


def _remember_database_failure(sender, request=None, **kwargs) -> None:
    """got_request_exception is sent inside Django's `except` block: sys.exc_info() is the error."""
    error = sys.exc_info()[1]
    if request is not None and isinstance(error, DATABASE_ERRORS):
        log_database_unavailable(error)
        setattr(request, _FAILED_ON_DATABASE, True)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        got_request_exception.connect(
            _remember_database_failure, weak=False, dispatch_uid="cityvibes-database-unavailable"
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 500 and getattr(request, _FAILED_ON_DATABASE, False):
            response = database_unavailable_response(request)
        send_cookie_of_new_session(request, response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_ERRORS):
            log_database_unavailable(exception)
            return database_unavailable_response(request)
        return None


class ApiAnswersJsonMiddleware:
    """Every answer under /api/ is JSON in the error format, also the ones Django makes outside the views.

    - Plain HTTP while SECURE_SSL_REDIRECT is on: 400, not SecurityMiddleware's 301 (a client following a
      301 sends a POST again as a GET, without its body). List this middleware above SecurityMiddleware.
    - A chunked body (no Content-Length): 411. Django reads such a body as empty, so a swipe would be
      answered "photo: This field is required".
    - Any other error that is not JSON (an unknown /api/ path, a Host header not in ALLOWED_HOSTS, Django's
      500 page, DEBUG's HTML pages): the same status with a JSON body.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        if settings.SECURE_SSL_REDIRECT and not request.is_secure():
            return JsonResponse(error_body("HTTPS required: send API requests to https://"), status=400)
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            message = "length required: send the body with a Content-Length header, not chunked"
            return JsonResponse(error_body(message), status=411)
        response = self.get_response(request)
        if response.status_code >= 400 and not is_json(response) and not response.streaming:
            response.content = json.dumps(error_body(HTTPStatus(response.status_code).phrase.lower()))
            response["Content-Type"] = "application/json"
            if response.has_header("Content-Length"):
                response["Content-Length"] = str(len(response.content))
        return response


def is_json(response: HttpResponse) -> bool:
    media_type = response.get("Content-Type", "").split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


class FriendlyErrorPagesMiddleware:
    """Visitors get the site's own 404 and 500 pages (templates/404.html, 500.html), DEBUG or not.

    With DEBUG off Django uses those templates itself. With DEBUG on (the default local run, which
    serves static files that way) it answers a missing page with its technical 404, listing every URL
    pattern, and a crash with the traceback: this middleware swaps those for the site's pages, as in
    production. The traceback still goes to the console log. /api/ answers are left to
    ApiAnswersJsonMiddleware (JSON). Listed last in MIDDLEWARE, so the page it makes still passes the
    session, CSRF and message middleware on its way out.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not settings.DEBUG or request.path.startswith("/api/") or response.streaming:
            return response
        if response.status_code == 404:
            return page_not_found(request, Http404())
        if response.status_code == 500:
            return server_error(request)  # like Django's handler500: no context that could fail again
        return response

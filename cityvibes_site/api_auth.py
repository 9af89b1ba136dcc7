"""How the JSON API knows who is asking: the browser's session, with CSRF checked for everyone."""

from drf_spectacular.authentication import SessionScheme
from rest_framework.authentication import SessionAuthentication


class CsrfEnforcingSessionAuthentication(SessionAuthentication):
    """Session auth that checks CSRF for anonymous sessions too.

    DRF's SessionAuthentication only checks CSRF for logged-in users, but anonymous swipers
    have state (their scores) that another site must not be able to change.
    """

    def authenticate(self, request):
        user = getattr(request._request, "user", None)
        if user is None or not user.is_active:
            self.enforce_csrf(request)
            return None
        return super().authenticate(request)


class CsrfEnforcingSessionScheme(SessionScheme):
    """Documents the API's session authentication (with CSRF for anonymous sessions) in the OpenAPI schema."""

    target_class = "cityvibes_site.api_auth.CsrfEnforcingSessionAuthentication"
    name = "cookieAuth"

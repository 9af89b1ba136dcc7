from drf_spectacular.authentication import SessionScheme


class CsrfEnforcingSessionScheme(SessionScheme):
    """Documents the API's session authentication (with CSRF for anonymous sessions) in the OpenAPI schema."""

    target_class = "swipes.api_auth.CsrfEnforcingSessionAuthentication"
    name = "cookieAuth"

from django.apps import AppConfig


class SiteConfig(AppConfig):
    """The site-wide web plumbing every app shares: error format, outage middleware, rate limits, API auth."""

    name = "cityvibes_site"
    verbose_name = "City Vibes site"

    def ready(self) -> None:
        # Registers the OpenAPI auth extension, the rate settings' system checks, the failed log-in counter.
        from cityvibes_site import api_auth, login_throttle, throttling  # noqa: F401

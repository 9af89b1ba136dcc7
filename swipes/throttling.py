"""Rate limits per swiper: DRF throttles whose counts live in the Django cache.

Each swiper has their own allowance, keyed by who is asking: the logged-in user, else the anonymous
session's swiper token, else the session, else the client address (a visitor before their first
swipe has no session yet). With CACHE_URL=redis://... every gunicorn worker shares the counts; with
the default local-memory cache each worker process counts on its own, so the effective limit is
the rate times the number of workers.

Rates come from settings (CITYVIBES_RATE_SWIPES, CITYVIBES_RATE_IDENTIFY), read on every request so
`override_settings` works in tests: "120/min", "5/s", "1000/hour", "10000/day"; "off" disables.
"""

import math

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from swipes.services import SESSION_KEY

OFF = {"", "off", "none"}


def swiper_ident(request) -> str:
    """Who is asking, for rate limiting. Works with Django's HttpRequest and DRF's Request."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    session = getattr(request, "session", None)
    if session is not None:
        # Reading a key loads the session first: a made-up session cookie then has no session_key.
        token = session.get(SESSION_KEY)
        if token:
            return f"anon:{token}"
        if session.session_key:
            return f"session:{session.session_key}"
    return f"ip:{BaseThrottle().get_ident(request)}"


class SwiperRateThrottle(SimpleRateThrottle):
    """A per-swiper allowance of `rate_setting` requests in a sliding window."""

    rate_setting = ""

    def get_rate(self) -> str | None:
        rate = str(getattr(settings, self.rate_setting, "") or "").strip()
        return None if rate.lower() in OFF else rate

    def parse_rate(self, rate):
        try:
            num_requests, duration = super().parse_rate(rate)
        except (ValueError, KeyError, IndexError):
            raise ImproperlyConfigured(
                f'{self.rate_setting}={rate!r}: expected "N/s", "N/min", "N/hour", "N/day" or "off"'
            ) from None
        if num_requests is not None and num_requests < 1:
            raise ImproperlyConfigured(f"{self.rate_setting}={rate!r}: allow at least 1 request (or say off)")
        return num_requests, duration

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": swiper_ident(request)}

    def wait(self) -> float:
        """Seconds until the oldest request in the window expires, i.e. until one more is allowed."""
        if not self.history:
            return float(self.duration)
        return max(1.0, self.duration - (self.now - self.history[-1]))


class SwipeWriteThrottle(SwiperRateThrottle):
    """POST /api/swipes, /api/swipes/undo and /api/reset."""

    scope = "swipes"
    rate_setting = "CITYVIBES_RATE_SWIPES"

    def allow_request(self, request, view) -> bool:
        return request.method in SAFE_METHODS or super().allow_request(request, view)


class SwipeReadThrottle(SwiperRateThrottle):
    """GET /api/photos/next and /api/results: the same rate as swipes, counted separately."""

    scope = "swipe-reads"
    rate_setting = "CITYVIBES_RATE_SWIPES"

    def allow_request(self, request, view) -> bool:
        return request.method not in SAFE_METHODS or super().allow_request(request, view)


class IdentifyThrottle(SwiperRateThrottle):
    """POST /api/identify and the /identify/ form: each runs the CNN on an upload."""

    scope = "identify"
    rate_setting = "CITYVIBES_RATE_IDENTIFY"


def throttle_wait(request, throttle_class: type[SwiperRateThrottle]) -> int | None:
    """For plain Django views: None when the request is allowed (and counted), else seconds to wait."""
    throttle = throttle_class()
    if throttle.allow_request(request, None):
        return None
    return math.ceil(throttle.wait())


@checks.register()
def check_rates(app_configs=None, **kwargs) -> list[checks.Error]:
    """`manage.py check` (and migrate, runserver) refuse a malformed rate instead of a 500 per request."""
    errors = []
    for throttle_class in (SwipeWriteThrottle, IdentifyThrottle):
        try:
            throttle_class()
        except ImproperlyConfigured as error:
            errors.append(checks.Error(str(error), id="cityvibes.E001"))
    return errors

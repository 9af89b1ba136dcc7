"""Rate limits per swiper: DRF throttles whose counts live in the Django cache.

Each swiper has their own allowance, keyed by who is asking: the logged-in user, else the anonymous
session's swiper token, else the session, else the client address (a visitor before their first
swipe has no session yet). The address is REMOTE_ADDR, or behind N proxies declared in
REST_FRAMEWORK["NUM_PROXIES"] (DJANGO_NUM_PROXIES) the Nth from the end of X-Forwarded-For, the one
the outermost proxy saw: never what the client wrote there itself. With CACHE_URL=redis://... every gunicorn
worker shares the counts; with the default local-memory cache each worker process counts on its own,
so the effective limit is the rate times the number of workers.

Counting is a fixed window: one counter per swiper, scope and window (the clock's minute for
"120/min", its second for "5/s", ...), created at 0 and incremented atomically by every request
(one Lua script on Redis, add + incr elsewhere), so concurrent requests never both take the last
place. A request is allowed while the count is within the rate; a refused one waits until the
window ends. A swiper can get up to twice the rate across a window's end, which these limits
(against scripts, not a precise quota) can live with.

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


def count_request(cache, key: str, timeout: int) -> int:
    """Add 1 to the count at `key` and return the new count; a new count starts at 0 and is dropped
    `timeout` seconds later. Atomic: in one step on swipes.redis_cache.RedisCache, else add then incr
    (each atomic in Redis, Memcached and the local-memory cache)."""
    incr_with_expiry = getattr(cache, "incr_with_expiry", None)
    if incr_with_expiry is not None:
        return incr_with_expiry(key, timeout)
    cache.add(key, 0, timeout)
    try:
        return cache.incr(key)
    except ValueError:  # gone between add and incr (evicted, or the cache was cleared): count afresh
        cache.add(key, 0, timeout)
        return cache.incr(key)


class SwiperRateThrottle(SimpleRateThrottle):
    """A per-swiper allowance of `rate_setting` requests in each fixed window of the rate's period."""

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
        """The swiper's counter for this scope; allow_request adds the window's number."""
        return self.cache_format % {"scope": self.scope, "ident": swiper_ident(request)}

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.now = self.timer()
        self.window = int(self.now // self.duration)
        self.key = f"{self.get_cache_key(request, view)}_{self.window}"
        # The counter lives duration + 1 seconds from its first request: at least a second past its
        # window's end (nothing reads it after that), so it cannot expire under a request still counting.
        return count_request(self.cache, self.key, self.duration + 1) <= self.num_requests

    def wait(self) -> float:
        """Seconds until this window ends and the count starts again (at least 1)."""
        return max(1.0, (self.window + 1) * self.duration - self.now)


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

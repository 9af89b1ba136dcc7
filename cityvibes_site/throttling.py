"""Rate limits per swiper: DRF's SimpleRateThrottle, keyed by who is asking, counting in the Django cache.

Who is asking: the logged-in user, else the browser's session, else the client address (a visitor
before their first swipe has no session yet). The address is REMOTE_ADDR, or behind N proxies declared
in REST_FRAMEWORK["NUM_PROXIES"] (DJANGO_NUM_PROXIES) the Nth from the end of X-Forwarded-For, the one
the outermost proxy saw: never what the client wrote there itself.

DRF keeps a list of each swiper's recent request times in the cache (a sliding window). It reads and
writes that list without a lock, so a burst of requests arriving at the same instant can slip a few
past the limit: these limits stop scripts, they are not an exact quota. With CACHE_URL=redis://...
every gunicorn worker shares the counts; with the default local-memory cache each worker counts on
its own, so the effective limit is the rate times the number of workers.

Rates come from settings (CITYVIBES_RATE_SWIPES, CITYVIBES_RATE_IDENTIFY), read on every request so
`override_settings` works in tests: "120/min", "5/s", "1000/hour", "10000/day"; "off" disables.
"""

import math

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import SimpleRateThrottle

OFF = {"", "off", "none"}


class SwiperRateThrottle(SimpleRateThrottle):
    """A per-swiper allowance of `rate_setting` requests per period (DRF's sliding window)."""

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
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            session = getattr(request, "session", None)
            # items() loads the session: a made-up session cookie then has no session_key.
            if session is not None and session.items() and session.session_key:
                ident = f"session:{session.session_key}"
            else:
                ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class SwipeWriteThrottle(SwiperRateThrottle):
    """POST /api/swipes, /api/swipes/undo and /api/reset, and the swipe page's form posts."""

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
    return max(1, math.ceil(throttle.wait() or 1))


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


# Caches that each process keeps to itself (or that keep nothing): counts in them are per worker.
PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


@checks.register(checks.Tags.security, deploy=True)
def check_rate_limits_share_a_cache(app_configs=None, **kwargs) -> list[checks.Warning]:
    """`check --deploy`: in production, rate limits on and a per-process cache mean each gunicorn worker
    counts on its own (a burst of 200 swipes got no 429; identify allowed 39 of 20)."""
    limited = [name for name in ("CITYVIBES_RATE_SWIPES", "CITYVIBES_RATE_IDENTIFY") if rate_is_on(name)]
    if settings.CITYVIBES_LOGIN_FAILURES_PER_ACCOUNT or settings.CITYVIBES_LOGIN_FAILURES_PER_ADDRESS:
        limited.append("failed log-ins")
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if settings.DEBUG or not limited or backend not in PER_PROCESS_CACHES:
        return []
    return [
        checks.Warning(
            f"{', '.join(limited)} are counted in {backend.rsplit('.', 1)[-1]}, which each web process keeps "
            "to itself: every gunicorn worker allows the full rate.",
            hint="Set CACHE_URL=redis://host:6379/1 (docs/deploy.md), or turn the limits off.",
            id="cityvibes.W001",
        )
    ]


def rate_is_on(setting: str) -> bool:
    return str(getattr(settings, setting, "") or "").strip().lower() not in OFF

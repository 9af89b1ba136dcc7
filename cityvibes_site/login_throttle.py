"""Failed log-ins are limited per account and per address, counted in the Django cache.

After CITYVIBES_LOGIN_FAILURES_PER_ACCOUNT failed log-ins for one username (5), or
CITYVIBES_LOGIN_FAILURES_PER_ADDRESS from one address (20), within one window of
CITYVIBES_LOGIN_WINDOW_SECONDS (900), log-ins for that account or from that address are refused until the
window ends, the right password too: guessing gets a handful of tries per quarter of an hour. A
successful log-in clears its account's count. 0 turns a limit off.

Counted with cache.incr (atomic in Redis), so requests sent in parallel are each counted; a burst can
still get as many guesses in as it sends at the same instant, once. The address is the one the rate
limits use (REMOTE_ADDR, or with DJANGO_NUM_PROXIES the address the outermost proxy saw).

Enforced in the authentication backend, so the site's log-in page and the admin's both obey; the site's
page says why, with a 429 and Retry-After. Like the rate limits, the counts need a shared cache
(CACHE_URL) in production: `check --deploy` warns without one (cityvibes.W001).
"""

import hashlib
import math
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.dispatch import receiver
from rest_framework.throttling import BaseThrottle

timer = time.time  # the tests move it


def _limits(request, username: str | None) -> list[tuple[str, int]]:
    """(cache key of the current window, failures allowed) for the account and for the address."""
    window = int(timer() // settings.CITYVIBES_LOGIN_WINDOW_SECONDS)
    account = hashlib.sha256((username or "").strip().casefold().encode()).hexdigest()[:32]
    address = BaseThrottle().get_ident(request)
    return [
        (f"login-failures:{window}:account:{account}", settings.CITYVIBES_LOGIN_FAILURES_PER_ACCOUNT),
        (f"login-failures:{window}:address:{address}", settings.CITYVIBES_LOGIN_FAILURES_PER_ADDRESS),
    ]


def seconds_refused(request, username: str | None) -> int:
    """0 when this log-in may be tried, else how long until its account and address may try again."""
    limits = [(key, allowed) for key, allowed in _limits(request, username) if allowed > 0]
    counts = cache.get_many([key for key, _ in limits])
    if all(counts.get(key, 0) < allowed for key, allowed in limits):
        return 0
    window = settings.CITYVIBES_LOGIN_WINDOW_SECONDS
    return max(1, math.ceil(window - timer() % window))


@receiver(user_login_failed, dispatch_uid="cityvibes-count-failed-login")
def count_failed_login(sender, credentials: dict, request=None, **kwargs) -> None:
    if request is None:
        return
    for key, _ in _limits(request, credentials.get(get_user_model().USERNAME_FIELD)):
        cache.add(key, 0, timeout=settings.CITYVIBES_LOGIN_WINDOW_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between the two calls: this failure starts the count
            cache.add(key, 1, timeout=settings.CITYVIBES_LOGIN_WINDOW_SECONDS)


@receiver(user_logged_in, dispatch_uid="cityvibes-clear-failed-logins")
def clear_failed_logins(sender, request=None, user=None, **kwargs) -> None:
    if request is not None and user is not None:
        cache.delete(_limits(request, user.get_username())[0][0])


class LoginThrottledBackend(ModelBackend):
    """Django's ModelBackend, refusing any log-in for an account or from an address over its failures."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if request is not None and seconds_refused(request, username):
            raise PermissionDenied  # authenticate() stops here, tries no other backend, counts a failure
        return super().authenticate(request, username=username, password=password, **kwargs)


class ThrottledAuthenticationForm(AuthenticationForm):
    """The log-in form, saying why a log-in is refused when the account or the address is over its limit."""

    def clean(self):
        wait = seconds_refused(self.request, self.cleaned_data.get("username"))
        if wait:
            self.retry_after = wait
            minutes = math.ceil(wait / 60)
            raise ValidationError(
                f"Too many failed log-ins for this account or from this address. Try again in {minutes} "
                f"minute{'s' if minutes > 1 else ''}.",
                code="throttled",
            )
        return super().clean()


class ThrottledLoginView(LoginView):
    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if getattr(form, "retry_after", None):
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after)
        return response

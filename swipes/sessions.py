"""Which swiper a request is: the logged-in user's swipe data, else the anonymous browser session's.

The web edge (swipes/api.py, swipes/views.py) finds the swiper here and passes it to the services;
the services never see the request. Nothing in a URL, parameter, body or header names a swiper.
"""

from django.http import HttpRequest

from swipes import services
from swipes.models import UserSwipeData

SESSION_KEY = "cityvibes_swiper"  # the anonymous swiper's anon_token, kept only in the session


def current_swiper(request: HttpRequest, *, create: bool = False) -> UserSwipeData | None:
    """This browser's swiper; with create=True, a new one if it has none yet (a first swipe)."""
    user = request.user
    if user.is_authenticated:
        swiper = UserSwipeData.objects.filter(user=user).first()
        if swiper is None and create:
            swiper = services.adopt_or_create_for_user(user=user, anon_token=request.session.get(SESSION_KEY))
        return swiper
    token = request.session.get(SESSION_KEY)
    swiper = UserSwipeData.objects.filter(anon_token=token, user__isnull=True).first() if token else None
    if swiper is not None or not create:
        return swiper
    swiper = services.create_anonymous_swiper()
    request.session[SESSION_KEY] = str(swiper.anon_token)
    # Stored now, before the first swipe commits: if the database went away right after that commit,
    # the answer would be a 503 and SessionMiddleware would store nothing, leaving the swipe with a
    # swiper no browser can find. Stored, its cookie goes out with any answer (cityvibes_site/middleware.py).
    request.session.save()
    return swiper

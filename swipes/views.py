"""Server-rendered pages. They work without JavaScript; static/js/swipe.js enhances them."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from cityvibes_site.throttling import SwipeWriteThrottle, throttle_wait
from photos.models import Photo
from photos.serializers import photo_payload
from swipes import services
from swipes.forms import SwipeForm
from swipes.selectors import (
    confidence_from,
    filters_of,
    leading_cities,
    next_photos_for,
    rank_cities_for,
    summary_of,
    taste_of,
)
from swipes.sessions import current_swiper

PREFETCH = 5


def swipe_page(request):
    swiper = current_swiper(request)
    reading = taste_of(swiper)
    upcoming = next_photos_for(swiper, n=PREFETCH, reading=reading)
    return render(
        request,
        "swipes/swipe.html",
        {
            "photo": upcoming[0] if upcoming else None,
            "upcoming": [photo_payload(request, p) for p in upcoming],
            "swipe_count": swiper.swipe_count if swiper else 0,
            "top_cities": leading_cities(swiper, limit=3, reading=reading),
            "collection_empty": not Photo.objects.exists(),
            "filters": reading.filters or filters_of(swiper),  # the reading has them when one is on
        },
    )


def over_rate_limit(request) -> bool:
    """The form posts count against the same allowance as the swipe API (CITYVIBES_RATE_SWIPES)."""
    wait = throttle_wait(request, SwipeWriteThrottle)
    if wait is None:
        return False
    messages.error(request, f"Too many swipes in a short time: try again in {wait} seconds.")
    return True


@require_POST
def swipe_submit(request):
    if over_rate_limit(request):
        return redirect("swipes:swipe")
    form = SwipeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That swipe was not understood; please try again.")
        return redirect("swipes:swipe")
    swiper = current_swiper(request, create=True)
    try:
        services.record_swipe(swiper=swiper, photo_id=form.cleaned_data["photo"], liked=form.cleaned_data["liked"])
    except services.SwipeError as error:
        messages.error(request, str(error))
    return redirect("swipes:swipe")


@require_POST
def undo_submit(request):
    if over_rate_limit(request):
        return redirect("swipes:swipe")
    swiper = current_swiper(request)
    try:
        if swiper is None:
            raise services.NothingToUndo("there is no swipe to undo")
        services.undo_last_swipe(swiper=swiper)
    except services.SwipeError as error:
        messages.info(request, str(error).capitalize() + ".")
    return redirect("swipes:swipe")


@require_POST
def narrow_submit(request):
    """The quick filters' buttons: each posts its own choice (a field left out keeps its value)."""
    if over_rate_limit(request):
        return redirect("swipes:swipe")
    swiper = current_swiper(request, create=True)
    chosen = {key: request.POST[key][:40] for key in ("region", "size", "state") if key in request.POST}
    try:
        services.set_filters(swiper=swiper, **chosen)
    except services.SwipeError as error:
        messages.error(request, str(error)[0].upper() + str(error)[1:] + ".")
    return redirect("swipes:swipe")


@require_POST
def reset_submit(request):
    if over_rate_limit(request):
        return redirect("swipes:swipe")
    swiper = current_swiper(request)
    if swiper is not None:
        services.reset_swipes(swiper=swiper)
    messages.success(request, "Starting over: your scores are back to zero.")
    return redirect("swipes:swipe")


def results_page(request):
    swiper = current_swiper(request)
    reading = taste_of(swiper)
    summary = summary_of(swiper, reading)
    ranked = rank_cities_for(swiper, limit=10, photos_per_city=3, reading=reading)
    return render(
        request,
        "swipes/results.html",
        {"ranked": ranked, "summary": summary, "confidence": confidence_from(ranked, summary, reading)},
    )


def signup(request):
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        current_swiper(request, create=True)  # keeps the swipes made before signing up
        messages.success(request, "Account created: your swipes now follow you to any device.")
        return redirect("swipes:swipe")
    return render(request, "registration/signup.html", {"form": form})

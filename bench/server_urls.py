"""The app's URLs plus /bench/floor and /bench/bare, for bench/swipe_load.py only (never in production)."""

import json
import uuid

from django.db import connection
from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.http import require_POST

from swipes.services import SESSION_KEY

FLOOR_TABLE = "bench_floor"


def _insert_one_row() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {FLOOR_TABLE} (at) VALUES (now())")


def floor(request):
    """One committed INSERT of a tiny row and nothing else: no session, no ORM, no app code.

    Whatever records a swipe durably in PostgreSQL does at least this, so its throughput bounds
    the swipe endpoint's from above, as /healthz (no database at all) bounds every request's.
    """
    _insert_one_row()
    return JsonResponse({"ok": True})


@require_POST
def bare(request):
    """The least any swipe endpoint does: a CSRF-checked POST of a small JSON body, the swiper found
    through the session (the session store: Redis in production), one committed INSERT, a JSON answer.

    No DRF, no validation beyond parsing, no rate limit, no scores: a tighter bound than /bench/floor
    on what POST /api/swipes can reach with this stack. The user's first call stores the session.
    """
    payload = json.loads(request.body)
    swiper = request.session.get(SESSION_KEY)
    if swiper is None:
        swiper = request.session[SESSION_KEY] = str(uuid.uuid4())
    _insert_one_row()
    return JsonResponse({"ok": True, "photo": payload.get("photo"), "swiper": swiper})


urlpatterns = [path("bench/floor", floor), path("bench/bare", bare), path("", include("cityvibes_site.urls"))]

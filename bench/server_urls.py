"""The app's URLs plus /bench/bare, for bench/swipe_load.py only (never in production)."""

import json
import uuid

from django.db import connection
from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.http import require_POST

from swipes.sessions import SESSION_KEY

BARE_TABLE = "bench_bare"


def create_bare_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {BARE_TABLE} (id bigserial PRIMARY KEY, at timestamptz NOT NULL)")


@require_POST
def bare(request):
    """The least any swipe endpoint does: a CSRF-checked POST of a small JSON body, the swiper found
    through the session (the session store: Redis in production), one committed INSERT, a JSON answer.

    No DRF, no validation beyond parsing, no rate limit, no scores: what POST /api/swipes is measured
    against. The user's first call stores the session.
    """
    payload = json.loads(request.body)
    swiper = request.session.get(SESSION_KEY)
    if swiper is None:
        swiper = request.session[SESSION_KEY] = str(uuid.uuid4())
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {BARE_TABLE} (at) VALUES (now())")
    return JsonResponse({"ok": True, "photo": payload.get("photo"), "swiper": swiper})


urlpatterns = [path("bench/bare", bare), path("", include("cityvibes_site.urls"))]

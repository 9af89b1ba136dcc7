"""The app's URLs plus /bench/floor, for bench/swipe_load.py only (never in production)."""

from django.db import connection
from django.http import JsonResponse
from django.urls import include, path

FLOOR_TABLE = "bench_floor"


def floor(request):
    """One committed INSERT of a tiny row and nothing else: no session, no ORM, no app code.

    Whatever records a swipe durably in PostgreSQL does at least this, so its throughput bounds
    the swipe endpoint's from above, as /healthz (no database at all) bounds every request's.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {FLOOR_TABLE} (at) VALUES (now())")
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/floor", floor), path("", include("cityvibes_site.urls"))]

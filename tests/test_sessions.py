"""Sessions: with a shared cache (CACHE_URL) they are read from the cache and written to the database too."""

import runpy
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.clients import browser
from tests.factories import make_city, make_photo

SETTINGS = Path(__file__).resolve().parent.parent / "cityvibes_site" / "settings.py"

pytestmark = pytest.mark.django_db


@pytest.fixture
def cached_db_sessions(settings):
    # The test process has one local-memory cache, which is as shared as it needs to be here.
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"


@pytest.fixture
def photo():
    return make_photo(make_city("Denver"))


def session_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if "django_session" in q["sql"]]


@pytest.mark.parametrize(
    ("cache_url", "engine"),
    [
        ("redis://cache.internal:6379/1", "django.contrib.sessions.backends.cached_db"),
        ("", "django.contrib.sessions.backends.db"),  # local memory is per worker: a logout would not reach them all
    ],
)
def test_settings_cache_sessions_only_in_a_shared_cache(monkeypatch, cache_url, engine):
    monkeypatch.setenv("CACHE_URL", cache_url)
    assert runpy.run_path(str(SETTINGS))["SESSION_ENGINE"] == engine


@pytest.mark.parametrize(
    "engine", ["django.contrib.sessions.backends.cached_db", "django.contrib.sessions.backends.db"]
)
def test_a_first_swipe_stores_its_new_session_and_sends_its_cookie(settings, engine, photo):
    settings.SESSION_ENGINE = engine
    client = browser()

    response = client.post_json("/api/swipes", {"photo": photo.pk, "liked": True})

    assert response.status_code == 201
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie.value == Session.objects.get().session_key
    assert cookie["httponly"] and cookie["max-age"] == settings.SESSION_COOKIE_AGE
    assert client.get("/api/results").json()["swipe_count"] == 1  # the next request finds the swiper


def test_a_swiper_is_found_without_reading_the_session_table(cached_db_sessions, photo):
    client = browser()
    assert client.post_json("/api/swipes", {"photo": photo.pk, "liked": True}).status_code == 201
    assert Session.objects.count() == 1  # written to the database as well

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/results").json()["swipe_count"] == 1
    assert session_queries(queries) == []


def test_a_swiper_survives_a_cache_flush(cached_db_sessions, photo):
    client = browser()
    assert client.post_json("/api/swipes", {"photo": photo.pk, "liked": True}).status_code == 201
    cache.clear()

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/results").json()["swipe_count"] == 1
    assert len(session_queries(queries)) == 1  # read back from the database, and cached again
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/results").json()["swipe_count"] == 1
    assert session_queries(queries) == []


def test_a_logged_out_session_is_gone_from_the_cache_too(cached_db_sessions, photo):
    user = get_user_model().objects.create_user("cleo", password="x-long-enough-password")
    client = browser(user=user)
    assert client.post_json("/api/swipes", {"photo": photo.pk, "liked": True}).status_code == 201
    old_cookie = client.cookies["sessionid"].value

    client.post_form("/accounts/logout/")
    client.cookies["sessionid"] = old_cookie  # replaying the logged-out session's cookie
    assert client.get("/api/results").json()["swipe_count"] == 0
    assert not Session.objects.filter(session_key=old_cookie).exists()

"""The database goes away: every request answers 503 (JSON for the API), never a 500 or a traceback.

The outage is real: the test process's connection is pointed at a loopback port nobody listens on,
so psycopg's connect fails exactly as it does while PostgreSQL restarts. (SQLite, the default test
database, is a file in this process: it cannot go away, so these tests need PostgreSQL.)
tests/test_postgres_restart.py restarts a real server under load.
"""

import socket
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path

from swipes.models import Swipe, UserSwipeData
from tests.clients import browser
from tests.factories import image_bytes, make_city, make_photo

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres(reason="needs a database server to take away"),
]


@pytest.fixture(autouse=True, params=["db", "cached_db"])
def session_engine(request, settings) -> str:
    """Both session engines: production (CACHE_URL set) reads sessions from the cache, so a request may get
    further before it needs the database; it must still answer 503 when it does."""
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{request.param}"
    return request.param


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # free once the socket closes: connecting is refused


@contextmanager
def database_unreachable():
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def assert_database_unavailable_json(response) -> None:
    assert response.status_code == 503, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "error": "database unavailable",
        "detail": {"retry_after": 5, "message": "try again in a few seconds"},
    }


def swiper_with_a_session(photo):
    client = browser()
    assert client.post_json("/api/swipes", {"photo": photo.pk, "liked": True}).status_code == 201
    return client


def identify(client):
    upload = SimpleUploadedFile("photo.jpg", image_bytes(), content_type="image/jpeg")
    return client.post("/api/identify", {"image": upload}, HTTP_X_CSRFTOKEN=client.csrf_token)


def test_it_answers_every_api_endpoint_with_503_json_while_the_database_is_down():
    photo = make_photo(make_city("Denver"))
    swiper = swiper_with_a_session(photo)
    newcomer = browser()  # no session yet: the first database access is in the view itself

    with database_unreachable():
        assert_database_unavailable_json(swiper.get("/api/photos/next"))
        assert_database_unavailable_json(swiper.get("/api/results"))
        assert_database_unavailable_json(swiper.post_json("/api/swipes", {"photo": photo.pk, "liked": False}))
        assert_database_unavailable_json(swiper.post_json("/api/swipes/undo"))
        assert_database_unavailable_json(swiper.post_json("/api/reset"))
        assert_database_unavailable_json(identify(swiper))

        assert_database_unavailable_json(newcomer.get("/api/photos/next"))
        assert_database_unavailable_json(newcomer.post_json("/api/swipes", {"photo": photo.pk, "liked": True}))
        assert_database_unavailable_json(identify(newcomer))
        # Even someone who never swiped: the results say how many cities and photos there are to see.
        assert_database_unavailable_json(newcomer.get("/api/results"))

    # Back: the next request reconnects, and nothing was written while the database was away.
    assert swiper.get("/api/results").json()["swipe_count"] == 1
    assert list(Swipe.objects.values_list("photo_id", "liked", "retracted_at")) == [(photo.pk, True, None)]
    assert UserSwipeData.objects.count() == 1


def test_it_answers_pages_with_a_plain_503_page(session_engine):
    swiper = swiper_with_a_session(make_photo(make_city("Denver")))
    with database_unreachable():
        pages = ["/", "/results/", "/identify/"]
        if session_engine == "db":
            pages.append("/admin/")  # reading the session is the table read
        else:
            # An anonymous swiper's session comes from the cache, so the admin can send them to its login
            # form without a table read; logging in needs the database.
            assert swiper.get("/admin/").url == "/admin/login/?next=/admin/"
            login = swiper.post_form("/admin/login/", {"username": "ann", "password": "x-long-enough-password"})
            assert login.status_code == 503
        for page in pages:
            response = swiper.get(page)
            assert response.status_code == 503, (page, response.content[:300])
            assert response["Content-Type"].startswith("text/html")
            assert response["Retry-After"] == "5"
            assert b"Back in a moment" in response.content
            assert b"Traceback" not in response.content
        assert swiper.post_form("/reset/").status_code == 503
    assert swiper.get("/").status_code == 200
    assert swiper.get("/api/results").json()["swipe_count"] == 1


def remember_visit(request):
    """Touches no table itself; SessionMiddleware saves the new session after the view returns."""
    request.session["visited"] = True
    return HttpResponse("remembered")


urlpatterns = [
    path("api/remember", remember_visit),
    path("remember", remember_visit),
    path("", include("cityvibes_site.urls")),  # the 503 page links to the site's pages
]


@pytest.mark.urls(__name__)
def test_it_answers_503_when_the_database_fails_after_the_view():
    # Django turns an error raised by SessionMiddleware into a 500 before any middleware sees it;
    # the outage middleware swaps that 500 for the 503. (raise_request_exception=False: the test
    # client would otherwise re-raise the error it saw, whatever the response.)
    client = Client(raise_request_exception=False)
    with database_unreachable():
        assert_database_unavailable_json(client.get("/api/remember"))
        page = client.get("/remember")
        assert page.status_code == 503
        assert b"Back in a moment" in page.content
    assert client.get("/remember").content == b"remembered"


@contextmanager
def database_goes_away_after_the_swipe_commits():
    """The outage starts the moment a swipe's transaction commits: the swipe is stored, the rest of the
    request (the answer's top cities, saving the session) finds the database gone."""
    saved = dict(connection.settings_dict)

    def go_away():
        connection.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))

    def watch(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.lstrip().upper().startswith("INSERT INTO") and Swipe._meta.db_table in sql:
            transaction.on_commit(go_away)
        return result

    try:
        with connection.execute_wrapper(watch):
            yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def test_a_first_swipe_stored_just_before_an_outage_stays_with_the_browser(session_engine):
    """A new visitor's first swipe commits, then the database goes away: the answer is 503, and it still
    carries the session cookie, so the retry finds the same swiper (no orphaned swiper, no double swipe)."""
    photo = make_photo(make_city("Denver"))
    client = browser()
    with database_goes_away_after_the_swipe_commits():
        response = client.post_json("/api/swipes", {"photo": photo.pk, "liked": True})
    assert_database_unavailable_json(response)
    assert settings.SESSION_COOKIE_NAME in response.cookies  # the browser learns which swiper it is
    assert Swipe.objects.count() == 1  # stored before the outage

    retry = client.post_json("/api/swipes", {"photo": photo.pk, "liked": True})
    assert retry.status_code == 200, retry.content  # the same swipe again: an idempotent repeat
    assert retry.json()["swipe_count"] == 1
    assert UserSwipeData.objects.count() == 1
    assert Swipe.objects.filter(user_data=UserSwipeData.objects.get()).count() == 1


def test_a_first_swipe_refused_by_an_outage_leaves_nothing_behind(session_engine):
    photo = make_photo(make_city("Denver"))
    client = browser()
    with database_unreachable():
        assert_database_unavailable_json(client.post_json("/api/swipes", {"photo": photo.pk, "liked": True}))
    assert UserSwipeData.objects.count() == 0 and Swipe.objects.count() == 0
    assert client.post_json("/api/swipes", {"photo": photo.pk, "liked": True}).status_code == 201
    assert UserSwipeData.objects.count() == 1 and Swipe.objects.count() == 1

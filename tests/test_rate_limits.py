"""Rate limits per swiper: over the limit is a 429 JSON error with Retry-After, and nothing happens."""

import runpy
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

from cityvibes_site import throttling
from swipes.models import Swipe, UserSwipeData
from tests.clients import Clock, browser
from tests.factories import make_city, make_photo

pytestmark = pytest.mark.django_db

DAY = 86400
SETTINGS = Path(__file__).resolve().parent.parent / "cityvibes_site" / "settings.py"


@pytest.fixture(autouse=True)
def clock(monkeypatch) -> Clock:
    """A request counts for one period ("N/min": 60 s) after it was made: a slow test must not see its
    first requests expire half-way. So time stands still until a test moves it."""
    clock = Clock(19676 * DAY)
    monkeypatch.setattr(throttling.SwiperRateThrottle, "timer", clock)
    return clock


@pytest.fixture
def photos():
    denver, miami = make_city("Denver"), make_city("Miami")
    return [make_photo(denver if i % 2 else miami) for i in range(8)]


def assert_throttled(response) -> int:
    """A 429 in the API's error format; returns the Retry-After seconds."""
    assert response.status_code == 429, response.content
    assert response["Content-Type"].startswith("application/json")
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60
    body = response.json()
    assert body["error"] == f"too many requests: try again in {retry_after} seconds"
    assert body["detail"] == {"retry_after": retry_after}
    return retry_after


def swiper_with_a_session(photo) -> Client:
    """A browser that has swiped once. Before that first swipe it had no session, so that swipe was
    counted by address; from now on the swiper's own allowance counts."""
    client = browser()
    assert client.post_json("/api/swipes", {"photo": photo.pk, "liked": True}).status_code == 201
    return client


def test_it_refuses_swipes_over_the_rate_with_429_json_and_retry_after(settings, photos):
    settings.CITYVIBES_RATE_SWIPES = "3/min"
    client = swiper_with_a_session(photos[0])
    for photo in photos[1:4]:
        assert client.post_json("/api/swipes", {"photo": photo.pk, "liked": True}).status_code == 201

    assert_throttled(client.post_json("/api/swipes", {"photo": photos[4].pk, "liked": True}))
    assert_throttled(client.post_json("/api/swipes/undo"))
    assert_throttled(client.post_json("/api/reset"))


def test_it_writes_nothing_for_a_throttled_swipe(settings, photos):
    settings.CITYVIBES_RATE_SWIPES = "2/min"
    client = swiper_with_a_session(photos[0])
    for photo in photos[1:3]:
        client.post_json("/api/swipes", {"photo": photo.pk, "liked": True})
    swiper = UserSwipeData.objects.get()
    scores_before = swiper.scores.as_dict()

    assert_throttled(client.post_json("/api/swipes", {"photo": photos[3].pk, "liked": False}))
    assert_throttled(client.post_json("/api/reset"))
    assert_throttled(client.post_json("/api/swipes/undo"))

    swiper.refresh_from_db()
    assert swiper.swipe_count == 3
    assert swiper.scores.as_dict() == scores_before
    assert list(Swipe.objects.values_list("photo_id", "liked", "retracted_at")) == [
        (photos[0].pk, True, None),
        (photos[1].pk, True, None),
        (photos[2].pk, True, None),
    ]


def test_it_does_not_slow_down_another_swiper(settings, photos):
    settings.CITYVIBES_RATE_SWIPES = "2/min"
    greedy = swiper_with_a_session(photos[0])
    for photo in photos[1:3]:
        greedy.post_json("/api/swipes", {"photo": photo.pk, "liked": True})
    assert_throttled(greedy.post_json("/api/swipes", {"photo": photos[3].pk, "liked": True}))

    other = swiper_with_a_session(photos[3])  # the address's second new swiper: still within 2/min
    user = get_user_model().objects.create_user("bea", password="x-long-enough-password")
    logged_in = browser(user=user)
    for photo in photos[4:6]:
        assert other.post_json("/api/swipes", {"photo": photo.pk, "liked": True}).status_code == 201
        assert logged_in.post_json("/api/swipes", {"photo": photo.pk, "liked": False}).status_code == 201
    assert Swipe.objects.filter(user_data__user=user).count() == 2
    assert_throttled(greedy.post_json("/api/swipes", {"photo": photos[3].pk, "liked": True}))


def test_it_limits_reads_on_their_own_allowance(settings, photos):
    settings.CITYVIBES_RATE_SWIPES = "2/min"
    client = browser()
    assert client.get("/api/photos/next").status_code == 200
    assert client.get("/api/results").status_code == 200
    assert_throttled(client.get("/api/photos/next"))
    assert_throttled(client.get("/api/results"))

    # Reading did not use up the swipes.
    assert client.post_json("/api/swipes", {"photo": photos[0].pk, "liked": True}).status_code == 201


def test_it_limits_visitors_without_a_session_by_address(settings, photos):
    # Before their first swipe a visitor has no session: new visitors from one address share an allowance,
    # so a script that drops its cookies cannot create swipers without limit.
    settings.CITYVIBES_RATE_SWIPES = "2/min"
    for photo in photos[:2]:
        assert browser().post_json("/api/swipes", {"photo": photo.pk, "liked": True}).status_code == 201

    assert_throttled(browser().post_json("/api/swipes", {"photo": photos[2].pk, "liked": True}))
    assert UserSwipeData.objects.count() == 2


def test_it_ignores_a_made_up_session_cookie_when_counting(settings, photos):
    settings.CITYVIBES_RATE_SWIPES = "1/min"
    swiper_with_a_session(photos[0])  # uses up the address's allowance for new visitors

    # A made-up session key is not a fresh allowance: without a real session it counts by address.
    forged = browser()
    forged.cookies["sessionid"] = "madeupsessionkey0000000000000001"
    assert_throttled(forged.post_json("/api/swipes", {"photo": photos[1].pk, "liked": True}))
    assert UserSwipeData.objects.count() == 1


def test_it_allows_the_swiper_again_once_the_period_has_passed(settings, photos, clock):
    settings.CITYVIBES_RATE_SWIPES = "1/s"
    client = swiper_with_a_session(photos[0])
    assert client.post_json("/api/swipes", {"photo": photos[1].pk, "liked": True}).status_code == 201
    assert assert_throttled(client.post_json("/api/swipes", {"photo": photos[2].pk, "liked": True})) == 1
    clock.now += 1
    assert client.post_json("/api/swipes", {"photo": photos[2].pk, "liked": True}).status_code == 201


def test_it_says_to_retry_when_the_oldest_counted_request_is_a_period_old(settings, photos, clock):
    settings.CITYVIBES_RATE_SWIPES = "2/min"
    client = swiper_with_a_session(photos[0])
    assert client.post_json("/api/swipes", {"photo": photos[1].pk, "liked": True}).status_code == 201
    clock.now += 20
    client.post_json("/api/swipes", {"photo": photos[2].pk, "liked": True})
    assert assert_throttled(client.post_json("/api/swipes", {"photo": photos[3].pk, "liked": True})) == 40

    clock.now += 39.5  # half a second before the first counted swipe is a minute old: retry in 1 (never 0)
    assert assert_throttled(client.post_json("/api/swipes", {"photo": photos[3].pk, "liked": True})) == 1
    clock.now += 0.5
    assert client.post_json("/api/swipes", {"photo": photos[3].pk, "liked": True}).status_code == 201


def test_it_has_no_limit_when_the_rate_is_off(settings, photos):
    settings.CITYVIBES_RATE_SWIPES = "off"
    client = browser()
    for _ in range(30):
        assert client.get("/api/photos/next?n=1").status_code == 200


def test_it_limits_identify_on_the_api_and_the_page_together(settings):
    settings.CITYVIBES_RATE_IDENTIFY = "2/min"
    client = browser()

    def upload():
        return SimpleUploadedFile("not-a-photo.jpg", b"not an image", content_type="image/jpeg")

    response = client.post("/api/identify", {"image": upload()}, HTTP_X_CSRFTOKEN=client.csrf_token)
    assert response.status_code == 400  # counted even though the upload was refused
    assert client.post_form("/identify/", {"image": upload()}).status_code == 400

    assert_throttled(client.post("/api/identify", {"image": upload()}, HTTP_X_CSRFTOKEN=client.csrf_token))
    page = client.post_form("/identify/", {"image": upload()})
    assert page.status_code == 429
    assert 1 <= int(page["Retry-After"]) <= 60
    assert b"Too many photos in a short time" in page.content
    # The page's GET (the form) is never limited.
    assert client.get("/identify/").status_code == 200


def test_it_documents_429_on_every_limited_operation(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    limited = {
        ("/api/photos/next", "get"),
        ("/api/swipes", "post"),
        ("/api/swipes/undo", "post"),
        ("/api/results", "get"),
        ("/api/reset", "post"),
        ("/api/filters", "get"),
        ("/api/filters", "put"),
        ("/api/identify", "post"),
    }
    documented = {(path, method) for path, operations in schema["paths"].items() for method, op in operations.items()}
    assert documented == limited
    for path, method in limited:
        assert "429" in schema["paths"][path][method]["responses"], (path, method)


def test_it_refuses_to_start_with_a_malformed_rate(settings):
    settings.CITYVIBES_RATE_IDENTIFY = "20 per minute"
    with pytest.raises(SystemCheckError, match="CITYVIBES_RATE_IDENTIFY"):
        call_command("check")


def test_it_limits_the_plain_form_posts_on_the_same_allowance(settings, photos):
    settings.CITYVIBES_RATE_SWIPES = "3/min"
    client = swiper_with_a_session(photos[0])  # counted by address: it had no session yet
    for photo in photos[1:4]:
        assert client.post_form("/swipe/", {"photo": photo.pk, "liked": "1"}).status_code == 302
    refused = client.post_form("/swipe/", {"photo": photos[4].pk, "liked": "1"}, follow=True)
    assert "Too many swipes in a short time" in refused.content.decode()
    assert client.post_form("/undo/", follow=True).content.decode().count("Too many swipes") == 1
    assert UserSwipeData.objects.get().swipe_count == 4  # the refused swipe and undo changed nothing


def test_a_made_up_forwarded_for_header_is_not_a_fresh_allowance(settings, photos):
    # Without proxies declared (DJANGO_NUM_PROXIES=0, the default) the connection's address counts:
    # a script that drops its cookies cannot start over by writing a new X-Forwarded-For each time.
    settings.CITYVIBES_RATE_SWIPES = "2/min"
    for i, photo in enumerate(photos[:2]):
        response = browser().post_json(
            "/api/swipes", {"photo": photo.pk, "liked": True}, HTTP_X_FORWARDED_FOR=f"10.0.0.{i}"
        )
        assert response.status_code == 201

    assert_throttled(
        browser().post_json("/api/swipes", {"photo": photos[2].pk, "liked": True}, HTTP_X_FORWARDED_FOR="10.0.0.9")
    )
    assert UserSwipeData.objects.count() == 2


def test_behind_a_proxy_it_counts_the_address_the_proxy_saw(settings, photos):
    # One proxy (DJANGO_NUM_PROXIES=1) appends the address it saw to whatever X-Forwarded-For the client sent.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    settings.CITYVIBES_RATE_SWIPES = "1/min"

    def swipe(photo, forwarded_for):
        client = browser(REMOTE_ADDR="10.1.1.1")  # the proxy
        return client.post_json("/api/swipes", {"photo": photo.pk, "liked": True}, HTTP_X_FORWARDED_FOR=forwarded_for)

    assert swipe(photos[0], "198.51.100.7").status_code == 201
    assert_throttled(swipe(photos[1], "203.0.113.1, 198.51.100.7"))  # a made-up first entry changes nothing
    assert swipe(photos[2], "198.51.100.8").status_code == 201  # another visitor behind the same proxy


@pytest.mark.parametrize(("environment", "num_proxies"), [({}, 0), ({"DJANGO_NUM_PROXIES": "2"}, 2)])
def test_settings_take_the_number_of_proxies_from_the_environment(monkeypatch, environment, num_proxies):
    monkeypatch.delenv("DJANGO_NUM_PROXIES", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert runpy.run_path(str(SETTINGS))["REST_FRAMEWORK"]["NUM_PROXIES"] == num_proxies

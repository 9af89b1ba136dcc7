"""One swiper can never read or change another's swipes or scores.

Who you are comes from your session only (the logged-in user, else the anonymous session's swiper
token, which never leaves the server). No URL, query parameter, body field or header names a
swiper: passing someone's token or id anywhere changes nothing. The admin is staff-only.
"""

import pytest
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver

from ml.api import IdentifyInSerializer
from ml.views import IdentifyForm
from swipes.api import FiltersInSerializer, SwipeInSerializer
from swipes.forms import SwipeForm
from swipes.models import Swipe, UserSwipeData
from tests.clients import browser
from tests.factories import make_city, make_photo

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-password-42"


@pytest.fixture
def city_photos():
    denver, miami, boston = make_city("Denver"), make_city("Miami"), make_city("Boston")
    return {city: [make_photo(city) for _ in range(3)] for city in (denver, miami, boston)}


@pytest.fixture
def anna_and_ben(city_photos):
    """Anna swipes anonymously and likes Denver; Ben is logged in and likes Miami."""
    denver, miami, _ = city_photos
    ben_user = get_user_model().objects.create_user("ben", password=PASSWORD)
    anna, ben = browser(), browser(user=ben_user)
    for photo in city_photos[denver]:
        assert anna.post_json("/api/swipes", {"photo": photo.pk, "liked": True}).status_code == 201
    for photo in city_photos[miami]:
        assert ben.post_json("/api/swipes", {"photo": photo.pk, "liked": True}).status_code == 201
    anna_data = UserSwipeData.objects.get(user__isnull=True)
    ben_data = UserSwipeData.objects.get(user=ben_user)
    return anna, ben, anna_data, ben_data


def snapshot(user_data: UserSwipeData) -> tuple:
    user_data.refresh_from_db()
    swipes = Swipe.objects.filter(user_data=user_data).order_by("id")
    return (
        user_data.scores.as_dict(),
        user_data.swipe_count,
        user_data.queue_position,
        list(swipes.values_list("id", "photo_id", "liked", "retracted_at")),
    )


def top_city(client) -> str | None:
    cities = client.get("/api/results").json()["cities"]
    return cities[0]["name"] if cities else None


def test_it_shows_each_swiper_only_their_own_results(anna_and_ben):
    anna, ben, _, _ = anna_and_ben
    assert top_city(anna) == "Denver"
    assert top_city(ben) == "Miami"
    assert anna.get("/api/results").json()["swipe_count"] == 3
    assert ben.get("/results/").context["summary"].swipes == 3
    assert browser().get("/api/results").json() == {**browser().get("/api/results").json(), "swipe_count": 0}
    assert top_city(browser()) is None


def test_it_undoes_only_the_callers_last_swipe(anna_and_ben, city_photos):
    anna, ben, anna_data, ben_data = anna_and_ben
    boston = list(city_photos)[2]
    ben.post_json("/api/swipes", {"photo": city_photos[boston][0].pk, "liked": False})  # the latest swipe overall
    ben_before = snapshot(ben_data)

    undone = anna.post_json("/api/swipes/undo")

    assert undone.status_code == 200
    assert undone.json()["undone"]["id"] == list(city_photos.values())[0][-1].pk  # Anna's own last swipe
    assert snapshot(ben_data) == ben_before
    assert Swipe.objects.filter(user_data=anna_data, retracted_at__isnull=False).count() == 1


def test_it_resets_only_the_callers_swipes(anna_and_ben):
    anna, ben, anna_data, ben_data = anna_and_ben
    ben_before = snapshot(ben_data)

    assert anna.post_json("/api/reset").json() == {"retracted": 3, "swipe_count": 0}
    assert snapshot(ben_data) == ben_before
    assert ben.post_form("/reset/").status_code == 302  # the page's form: Ben starts over, Anna is already at 0

    assert snapshot(anna_data)[1] == 0
    assert top_city(anna) is None and top_city(ben) is None
    assert Swipe.objects.filter(retracted_at__isnull=True).count() == 0
    assert Swipe.objects.count() == 6  # the log keeps every swipe, retracted


def test_it_ignores_a_made_up_or_borrowed_session_cookie(anna_and_ben, city_photos):
    _, _, anna_data, ben_data = anna_and_ben
    before = snapshot(anna_data), snapshot(ben_data)
    for fake in ("0" * 32, "madeupsessionkey1234567890abcdef", str(anna_data.anon_token), str(ben_data.user_id)):
        intruder = browser()
        intruder.cookies["sessionid"] = fake
        assert intruder.get("/api/results").json()["swipe_count"] == 0
        assert intruder.post_json("/api/swipes/undo").status_code == 409
        assert intruder.post_json("/api/reset").json()["retracted"] == 0
        assert intruder.get("/results/").context["summary"].swipes == 0
    assert (snapshot(anna_data), snapshot(ben_data)) == before


def test_it_ignores_swiper_tokens_and_ids_passed_anywhere_in_a_request(anna_and_ben, city_photos):
    _, _, anna_data, ben_data = anna_and_ben
    before = snapshot(anna_data), snapshot(ben_data)
    anna_token, ben_id = str(anna_data.anon_token), str(ben_data.user_id)
    claims = {
        "anon_token": anna_token,
        "swiper": anna_token,
        "cityvibes_swiper": anna_token,
        "user": ben_id,
        "user_id": ben_id,
        "user_data": str(ben_data.pk),
    }
    query = "&".join(f"{key}={value}" for key, value in claims.items())
    headers = {"HTTP_X_SWIPER": anna_token, "HTTP_X_USER_ID": ben_id, "HTTP_AUTHORIZATION": f"Token {anna_token}"}
    intruder = browser()
    intruder.cookies["cityvibes_swiper"] = anna_token
    intruder.cookies["anon_token"] = anna_token
    boston_photo = list(city_photos.values())[2][0]

    assert intruder.get(f"/api/results?{query}", **headers).json()["swipe_count"] == 0
    assert intruder.get(f"/results/?{query}", **headers).context["summary"].swipes == 0
    assert intruder.post_json(f"/api/swipes/undo?{query}", claims, **headers).status_code == 409
    assert intruder.post_json(f"/api/reset?{query}", claims, **headers).json()["retracted"] == 0
    assert intruder.post_form(f"/reset/?{query}", claims, **headers).status_code == 302
    assert intruder.post_form(f"/undo/?{query}", claims, **headers).status_code == 302
    swiped = intruder.post_json(
        f"/api/swipes?{query}", {"photo": boston_photo.pk, "liked": True, **claims}, **headers
    )  # extra fields are ignored: the swipe is the intruder's own
    assert swiped.status_code == 201
    assert swiped.json()["swipe_count"] == 1

    assert (snapshot(anna_data), snapshot(ben_data)) == before
    intruders_swipe = Swipe.objects.get(photo=boston_photo)
    assert intruders_swipe.user_data_id not in {anna_data.pk, ben_data.pk}
    assert intruders_swipe.user_data.user_id is None


def test_it_forgets_the_users_swipes_in_the_browser_after_logout(anna_and_ben):
    _, ben, _, ben_data = anna_and_ben
    ben.post_form("/accounts/logout/")
    assert ben.get("/api/results").json()["swipe_count"] == 0
    assert ben.post_json("/api/reset").json()["retracted"] == 0
    assert snapshot(ben_data)[1] == 3


def test_it_shows_the_admin_to_staff_only(anna_and_ben):
    _, ben, anna_data, _ = anna_and_ben
    pages = [
        "/admin/",
        "/admin/swipes/userswipedata/",
        f"/admin/swipes/userswipedata/{anna_data.pk}/change/",
        "/admin/swipes/swipe/",
        "/admin/auth/user/",
    ]
    for client in (browser(), ben):  # anonymous, and logged in without staff status
        for page in pages:
            response = client.get(page)
            assert response.status_code == 302, page
            assert response["Location"].startswith("/admin/login/"), page
    staff = get_user_model().objects.create_user("sam", password=PASSWORD, is_staff=True, is_superuser=True)
    admin_browser = browser(user=staff)
    for page in pages:
        assert admin_browser.get(page).status_code == 200, page


def url_captures(patterns, prefix: str = ""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from url_captures(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, set(pattern.pattern.regex.groupindex)


def test_it_has_no_url_that_names_a_swiper():
    captured = {
        name: route
        for route, names in url_captures(get_resolver().url_patterns)
        if not route.startswith("admin/")  # staff-only (checked above)
        for name in names
    }
    assert set(captured) == {
        "slug",  # /cities/<slug>/: a city
        "path",  # /media/<path>: a photo file
        "uidb64",  # /accounts/reset/<uidb64>/<token>/: Django's password reset, only with the e-mailed token
        "token",
    }, captured


def test_it_has_no_api_input_that_names_a_swiper(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    parameters, body_fields = set(), set()
    for operations in schema["paths"].values():
        for operation in operations.values():
            parameters |= {p["name"] for p in operation.get("parameters", [])}
            for media in operation.get("requestBody", {}).get("content", {}).values():
                ref = media["schema"]["$ref"].rsplit("/", 1)[-1]
                body_fields |= set(schema["components"]["schemas"][ref]["properties"])
    assert parameters == {"n", "limit", "showing"}
    # "next" (how many photos a swipe answers with) is a count, like "n" and "top_k"; "showing" names a photo.
    # "region", "state" and "size" (the quick filters) name a place and a city size.
    assert body_fields == {"photo", "liked", "next", "showing", "image", "top_k", "save", "region", "state", "size"}
    # The serializers and forms behind the API and the pages read nothing else.
    assert set(SwipeInSerializer().fields) == {"photo", "liked", "next", "showing"}
    assert set(IdentifyInSerializer().fields) == {"image", "top_k", "save"}
    assert set(FiltersInSerializer().fields) == {"region", "state", "size"}
    assert set(SwipeForm.base_fields) == {"photo", "liked"}
    assert set(IdentifyForm.base_fields) == {"image", "save"}

"""The JSON API: each endpoint's happy path and each kind of bad input."""

import json

import pytest

from swipes.models import Swipe, UserSwipeData
from tests.clients import browser
from tests.factories import make_city, make_photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def collection():
    denver, miami = make_city("Denver"), make_city("Miami")
    photos = [
        make_photo(
            c, author="Ann Author", licence="CC BY 4.0", licence_url="https://creativecommons.org/licenses/by/4.0/"
        )
        for c in (denver, denver, miami, miami)
    ]
    return denver, miami, photos


def assert_json_error(response, status: int, fragment: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert fragment in body["error"], body
    assert "detail" in body


def test_it_returns_the_next_photos_with_credit_and_display_urls(api_client, collection, settings):
    settings.CITYVIBES_PHOTO_ORDER = "queue"
    response = api_client.get("/api/photos/next?n=3")
    assert response.status_code == 200
    photos = response.json()["photos"]
    assert len(photos) == 3
    first = photos[0]
    assert first["image_url"].startswith("http://testserver/media/photos/display/")
    assert first["credit"] == {
        "author": "Ann Author",
        "licence": "CC BY 4.0",
        "licence_url": "https://creativecommons.org/licenses/by/4.0/",
        "page_url": "",
        "source": "",
    }
    positions = [p.queue_position for p in sorted(collection[2], key=lambda p: p.queue_position)]
    assert [p["id"] for p in photos] == [
        next(p.pk for p in collection[2] if p.queue_position == pos) for pos in positions[:3]
    ]


def test_it_records_a_swipe_and_returns_the_top_cities(api_client, collection):
    denver, _, photos = collection
    response = api_client.post_json("/api/swipes", {"photo": photos[0].pk, "liked": True})
    assert response.status_code == 201
    body = response.json()
    assert body["recorded"] is True
    assert body["swipe_count"] == 1
    assert body["top_cities"][0]["id"] == denver.pk
    assert Swipe.objects.count() == 1


def test_the_top_cities_leave_out_a_city_the_person_passed_on(api_client, collection):
    denver, miami, photos = collection
    for photo, liked in zip(photos, (True, True, False, False)):
        body = api_client.post_json("/api/swipes", {"photo": photo.pk, "liked": liked}).json()
    assert [c["id"] for c in body["top_cities"]] == [denver.pk]  # not "2. Miami" after two nopes
    results = api_client.get("/api/results").json()
    assert [c["id"] for c in results["cities"]] == [denver.pk, miami.pk]  # the results still rank both


def test_it_is_idempotent_for_a_repeated_swipe(api_client, collection):
    photo = collection[2][0]
    api_client.post_json("/api/swipes", {"photo": photo.pk, "liked": True})
    again = api_client.post_json("/api/swipes", {"photo": photo.pk, "liked": True})
    assert again.status_code == 200
    assert again.json()["recorded"] is False
    assert again.json()["swipe_count"] == 1
    assert_json_error(api_client.post_json("/api/swipes", {"photo": photo.pk, "liked": False}), 409, "undo first")


def test_it_skips_swiped_photos_in_the_next_batch(api_client, collection):
    first = api_client.get("/api/photos/next?n=1").json()["photos"][0]["id"]
    api_client.post_json("/api/swipes", {"photo": first, "liked": False})
    ids = [p["id"] for p in api_client.get("/api/photos/next?n=10").json()["photos"]]
    assert first not in ids and len(ids) == 3


def test_it_undoes_the_last_swipe(api_client, collection):
    photos = collection[2]
    api_client.post_json("/api/swipes", {"photo": photos[0].pk, "liked": True})
    api_client.post_json("/api/swipes", {"photo": photos[2].pk, "liked": True})
    response = api_client.post_json("/api/swipes/undo")
    assert response.status_code == 200
    assert response.json()["undone"]["id"] == photos[2].pk
    assert response.json()["swipe_count"] == 1
    assert response.json()["top_cities"][0]["id"] == collection[0].pk


def test_it_says_409_when_there_is_nothing_to_undo(api_client, collection):
    assert_json_error(api_client.post_json("/api/swipes/undo"), 409, "no swipe to undo")


def test_it_ranks_cities_in_results(api_client, collection):
    denver, miami, photos = collection
    api_client.post_json("/api/swipes", {"photo": photos[2].pk, "liked": True})
    api_client.post_json("/api/swipes", {"photo": photos[0].pk, "liked": False})
    body = api_client.get("/api/results?limit=10").json()
    assert body["swipe_count"] == 2
    assert body["rule"] == "taste"
    assert [c["id"] for c in body["cities"]] == [miami.pk, denver.pk]
    liked, noped = body["cities"]
    assert 0 <= noped["match"] < liked["match"] <= 1 and liked["score"] == pytest.approx(liked["match"], abs=1e-4)
    assert (liked["liked"], liked["seen"], noped["liked"], noped["seen"]) == (1, 1, 0, 1)
    assert body["state"] in ("exploring", "taste found") and body["photos_left"] is True
    assert len(api_client.get("/api/results?limit=1").json()["cities"]) == 1


def test_it_resets(api_client, collection):
    api_client.post_json("/api/swipes", {"photo": collection[2][0].pk, "liked": True})
    response = api_client.post_json("/api/reset")
    assert response.json() == {"retracted": 1, "swipe_count": 0}
    assert api_client.get("/api/results").json()["cities"] == []


def test_it_keeps_anonymous_sessions_apart(api_client, collection, client):
    api_client.post_json("/api/swipes", {"photo": collection[2][0].pk, "liked": True})
    assert client.get("/api/results").json()["swipe_count"] == 0
    assert UserSwipeData.objects.count() == 1


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"liked": True}, "invalid input"),
        ({"photo": 1}, "invalid input"),
        ({"photo": "1", "liked": True}, "invalid input"),
        ({"photo": 1, "liked": "yes"}, "invalid input"),
        ({"photo": 1.5, "liked": True}, "invalid input"),
        ({"photo": -3, "liked": True}, "invalid input"),
        ([1, 2], "invalid input"),
    ],
)
def test_it_rejects_missing_or_ill_typed_fields_with_400(api_client, collection, body, fragment):
    response = api_client.post_json("/api/swipes", body)
    assert_json_error(response, 400, fragment)
    assert Swipe.objects.count() == 0


def test_it_names_the_bad_field(api_client, collection):
    body = api_client.post_json("/api/swipes", {"photo": 1, "liked": "yes"}).json()
    assert "liked" in body["detail"]


def test_it_rejects_an_unknown_photo_with_400(api_client, collection):
    assert_json_error(api_client.post_json("/api/swipes", {"photo": 999999, "liked": True}), 400, "does not exist")
    assert UserSwipeData.objects.get().swipe_count == 0


def test_it_rejects_non_json_with_400(api_client, collection):
    assert_json_error(api_client.post_json("/api/swipes", raw="photo=1&liked=true"), 400, "JSON parse error")
    assert_json_error(
        api_client.post_json("/api/swipes", raw="photo=1", content_type="application/x-www-form-urlencoded"),
        400,
        "Unsupported media type",
    )


def test_it_rejects_an_oversized_body_with_400(api_client, collection):
    huge = '{"photo": 1, "liked": true, "pad": "' + "x" * 100_000 + '"}'
    assert_json_error(api_client.post_json("/api/swipes", raw=huge), 400, "too large")
    assert Swipe.objects.count() == 0


@pytest.mark.parametrize("path", ["/api/swipes", "/api/swipes/undo", "/api/reset"])
def test_it_rejects_deeply_nested_json_with_400_and_writes_nothing(api_client, collection, path):
    api_client.post_json("/api/swipes", {"photo": collection[2][0].pk, "liked": True})
    nested = "[" * 1000 + "]" * 1000  # 2 KB: under the size limit, over Python's recursion limit
    assert_json_error(api_client.post_json(path, raw=nested), 400, "nested too deeply")
    swiper = UserSwipeData.objects.get()
    assert swiper.swipe_count == 1
    assert Swipe.objects.filter(retracted_at=None).count() == Swipe.objects.count() == 1


@pytest.mark.parametrize("query", ["n=0", "n=51", "n=abc", "n=", "n=\u0663", "n=\uff13", "n=\u00b2", "n= 3"])
def test_it_rejects_bad_batch_sizes_with_400(api_client, collection, query):
    assert_json_error(api_client.get(f"/api/photos/next?{query}"), 400, "between 1 and 50")


def test_it_takes_only_ascii_digits_for_a_number_of_results(api_client, collection):
    assert_json_error(api_client.get("/api/results?limit=\u0663"), 400, "between 1 and 100")  # an Arabic-Indic 3
    assert api_client.get("/api/results?limit=3").status_code == 200


def test_it_rejects_a_swipe_without_the_csrf_token(api_client, collection):
    response = api_client.post_json("/api/swipes", {"photo": collection[2][0].pk, "liked": True}, csrf=False)
    assert_json_error(response, 403, "CSRF")
    assert Swipe.objects.count() == 0


def test_it_says_what_is_missing_when_an_https_request_names_no_origin(collection):
    tab = browser()
    body = json.dumps({"photo": collection[2][0].pk, "liked": True})

    def swipe(**headers):
        return tab.post("/api/swipes", body, content_type="application/json", secure=True, **headers)

    no_origin = swipe(HTTP_X_CSRFTOKEN=tab.csrf_token)  # a valid token, and neither Origin nor Referer
    assert_json_error(no_origin, 403, "over HTTPS, send an Origin or Referer header naming this site")
    assert "X-CSRFToken" not in no_origin.json()["error"]
    elsewhere = swipe(HTTP_X_CSRFTOKEN=tab.csrf_token, HTTP_ORIGIN="https://elsewhere.example")
    assert_json_error(elsewhere, 403, "the Origin or Referer header names another site")
    assert_json_error(swipe(HTTP_ORIGIN="https://testserver"), 403, "X-CSRFToken header")
    assert swipe(HTTP_X_CSRFTOKEN=tab.csrf_token, HTTP_ORIGIN="https://testserver").status_code == 201
    assert Swipe.objects.count() == 1


def test_it_publishes_an_openapi_schema_for_every_endpoint(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"] if response["Content-Type"].startswith("application/json") else None
    if paths is None:
        import yaml  # drf-spectacular depends on PyYAML

        paths = yaml.safe_load(response.content)["paths"]
    assert {"/api/photos/next", "/api/swipes", "/api/swipes/undo", "/api/results", "/api/reset", "/api/filters"} <= set(
        paths
    )


def test_the_schema_documents_a_database_outage_on_every_operation(client):
    """Any operation answers 503 with Retry-After while the database is down (tests/test_database_outage.py),
    so a client generated from the schema expects it everywhere, not only on /api/identify."""
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operations = [(path, op) for path, ops in schema["paths"].items() for op in ops.values()]
    assert len(operations) == 8
    for path, operation in operations:
        outage = operation["responses"]["503"]
        assert outage["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, path
        assert "database is unreachable" in outage["description"], path
        for status in ("503", "429"):
            assert "Retry-After" in operation["responses"][status]["headers"], (path, status)


def test_the_swipe_answer_names_cities_as_they_are_now(api_client, collection):
    """City names are cached per process; a rename or delete must show in the very next answer."""
    denver, miami, photos = collection
    first = api_client.post_json("/api/swipes", {"photo": photos[0].pk, "liked": True}).json()
    assert [c["name"] for c in first["top_cities"]][:1] == ["Denver"]
    denver.name = "Mile High City"
    denver.save()
    second = api_client.post_json("/api/swipes", {"photo": photos[1].pk, "liked": True}).json()
    assert second["top_cities"][0] == {**second["top_cities"][0], "id": denver.pk, "name": "Mile High City"}
    miami.delete()  # its photos stay, unlabelled: not servable any more
    third = api_client.post_json("/api/swipes", {"photo": photos[2].pk, "liked": False})
    assert third.status_code == 400, third.content
    undone = api_client.post_json("/api/swipes/undo")
    assert undone.status_code == 200, undone.content
    assert miami.pk not in [c["id"] for c in undone.json()["top_cities"]]


def test_a_swipe_of_a_photo_hidden_after_the_matrix_was_built_is_refused(api_client, collection):
    """The photo matrix may be up to CITYVIBES_PHOTO_MATRIX_MAX_AGE old; the write checks the row itself."""
    _, _, photos = collection
    api_client.post_json("/api/swipes", {"photo": photos[0].pk, "liked": True})  # builds the matrix
    Photo = type(photos[1])
    Photo.objects.filter(pk=photos[1].pk).update(hidden=True)  # no version bump: the matrix still has it
    response = api_client.post_json("/api/swipes", {"photo": photos[1].pk, "liked": True})
    assert_json_error(response, 400, "not available")
    assert Swipe.objects.filter(photo=photos[1]).count() == 0
    assert UserSwipeData.objects.get().swipe_count == 1


@pytest.mark.parametrize("order", ["smart", "queue"])
def test_a_swipe_can_answer_with_the_next_photos_chosen_after_it(api_client, settings, order):
    """`next` saves the page its second request per swipe: the photos are what GET /api/photos/next
    answers right after the swipe, in either order."""
    settings.CITYVIBES_PHOTO_ORDER = order
    cities = [make_city(name) for name in ("Denver", "Miami", "Boston")]
    photos = [make_photo(city) for city in cities for _ in range(4)]
    swiped = []
    for liked in (True, False, True):
        photo = api_client.get("/api/photos/next?n=1").json()["photos"][0]["id"]
        swiped.append(photo)
        body = api_client.post_json("/api/swipes", {"photo": photo, "liked": liked, "next": 4}).json()
        shown = [p["id"] for p in body["next_photos"]]
        assert shown == [p["id"] for p in api_client.get("/api/photos/next?n=4").json()["photos"]]
        assert len(shown) == 4 and not set(shown) & set(swiped)
        assert {"image_url", "credit", "alt"} <= set(body["next_photos"][0])
    assert Swipe.objects.count() == 3 and len(photos) == 12


def test_a_swipe_without_next_answers_without_photos(api_client, collection):
    body = api_client.post_json("/api/swipes", {"photo": collection[2][0].pk, "liked": True}).json()
    assert "next_photos" not in body


@pytest.mark.parametrize("value", [-1, 51, "3", 2.0, True, None])
def test_it_refuses_an_ill_typed_or_out_of_range_next(api_client, collection, value):
    response = api_client.post_json("/api/swipes", {"photo": collection[2][0].pk, "liked": True, "next": value})
    assert_json_error(response, 400, "invalid input")
    assert list(response.json()["detail"]) == ["next"]  # the field at fault is named
    assert Swipe.objects.count() == 0


def test_a_repeated_swipe_after_an_undo_still_brings_the_undone_photo_back_first(api_client, collection):
    _, _, photos = collection
    assert api_client.post_json("/api/swipes", {"photo": photos[0].pk, "liked": True}).status_code == 201
    assert api_client.post_json("/api/swipes", {"photo": photos[2].pk, "liked": False}).status_code == 201
    assert api_client.post_json("/api/swipes/undo").json()["undone"]["id"] == photos[2].pk
    repeat = api_client.post_json("/api/swipes", {"photo": photos[0].pk, "liked": True, "next": 2})
    assert repeat.status_code == 200  # the same swipe again: nothing new happened since the undo
    assert repeat.json()["next_photos"][0]["id"] == photos[2].pk

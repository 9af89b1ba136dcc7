"""The work of a swipe does not grow with the catalogue: it loads only what it shows and scores with.

bench/swipe_cost.py measures the times; these tests pin the causes it found.
"""

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from photos.models import City
from swipes.api import photo_payload
from swipes.models import UserSwipeData
from swipes.selectors import next_photos_for, rank_cities_for
from swipes.services import record_swipe
from tests.factories import make_city, make_model_version, make_photo, set_prediction

pytestmark = pytest.mark.django_db


def city_ids_asked_for(captured) -> list[int]:
    ids = []
    for query in captured.captured_queries:
        sql = query["sql"]
        if 'FROM "photos_city"' in sql:
            inside = sql[sql.index(" IN (") + 5 :].split(")", 1)[0]
            ids += [int(v) for v in inside.replace("'", "").split(",") if v.strip()]
    return ids


def swiper_scoring(cities: list[City]) -> UserSwipeData:
    """Every city has a score (as under the llr rule); the first city scores highest."""
    return UserSwipeData.objects.create(scores={str(c.pk): float(len(cities) - i) for i, c in enumerate(cities)})


def test_it_loads_only_the_shown_cities_when_every_city_has_a_score():
    cities = [make_city() for _ in range(200)]
    swiper = swiper_scoring(cities)

    with CaptureQueriesContext(connection) as captured:
        ranked = rank_cities_for(swiper, limit=5)

    assert [item.city.pk for item in ranked] == [c.pk for c in cities[:5]]
    assert len(city_ids_asked_for(captured)) <= 16


def test_it_skips_deleted_cities_even_beyond_the_first_batch():
    cities = [make_city() for _ in range(60)]
    swiper = swiper_scoring(cities)
    City.objects.filter(pk__in=[c.pk for c in cities[:40]]).delete()

    ranked = rank_cities_for(swiper, limit=5)

    assert [item.city.pk for item in ranked] == [c.pk for c in cities[40:45]]
    assert [item.score for item in ranked] == [20.0, 19.0, 18.0, 17.0, 16.0]


def test_it_scores_a_swipe_without_loading_the_model_versions_metrics():
    cities = [make_city() for _ in range(3)]
    version = make_model_version(cities)
    version.metrics = {"confusion": {"val": [[5, 0, 0], [0, 5, 0], [0, 0, 5]]}}  # K x K in real versions
    version.save(update_fields=["metrics"])
    photo = set_prediction(make_photo(cities[0]), version, [0.7, 0.2, 0.1])
    swiper = UserSwipeData.objects.create()

    with CaptureQueriesContext(connection) as captured:
        record_swipe(user_data=swiper, photo_id=photo.pk, liked=True)

    assert swiper.swipe_count == 1
    assert not [q["sql"] for q in captured.captured_queries if '"ml_modelversion"."metrics"' in q["sql"]]


@pytest.fixture(params=["smart", "queue"])
def swiper_before_predicted_photos(request, settings) -> UserSwipeData:
    """A swiper, four predicted photos (credited to "Author 0".."Author 3") and the photo order's
    per-process state ready (the smart order reads every vector once per process, into its matrix)."""
    settings.CITYVIBES_PHOTO_ORDER = request.param
    cities = [make_city() for _ in range(3)]
    version = make_model_version(cities)
    for i in range(4):
        set_prediction(make_photo(cities[i % 3], author=f"Author {i}"), version, [0.6, 0.3, 0.1])
    swiper = UserSwipeData.objects.create()
    next_photos_for(swiper, n=2)
    return swiper


def test_it_serves_the_next_photos_without_loading_their_vectors(swiper_before_predicted_photos):
    swiper = swiper_before_predicted_photos
    with CaptureQueriesContext(connection) as captured:
        photos = next_photos_for(swiper, n=2)

    assert len(photos) == 2
    selected = [q["sql"].split(" FROM ", 1)[0] for q in captured.captured_queries]  # the columns, not the filters
    assert not [columns for columns in selected if '"probabilities"' in columns]


def test_the_next_photos_cards_need_no_other_query_and_no_join(swiper_before_predicted_photos):
    swiper = swiper_before_predicted_photos
    request = RequestFactory().get("/api/photos/next")

    with CaptureQueriesContext(connection) as captured:
        cards = [photo_payload(request, photo) for photo in next_photos_for(swiper, n=2)]

    assert len(cards) == 2 and all(card["credit"]["author"].startswith("Author ") for card in cards)
    assert all(card["image_url"].startswith("http://testserver/") for card in cards)
    photo_reads = [q["sql"] for q in captured.captured_queries if 'FROM "photos_photo"' in q["sql"]]
    assert len(photo_reads) == 1, photo_reads  # the cards' fields came with it: no query per photo
    assert "JOIN" not in photo_reads[0]

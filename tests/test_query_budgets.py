"""Query budgets: the number of database queries of the swipe loop does not grow with the catalogue,
the collection or the swiper's history. (Counts only: bench/swipe_cost.py times them.)"""

import itertools

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from photos.models import City
from photos.serializers import photo_payload
from swipes import services
from swipes.models import UserSwipeData
from swipes.selectors import next_photos_for, rank_cities_for
from tests.factories import make_model_version, make_photo, set_prediction

pytestmark = pytest.mark.django_db


def queries(action) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured.captured_queries)


_batches = itertools.count()


def predicted_collection(cities: int, photos: int = 6) -> list:
    batch = next(_batches)
    city_rows = City.objects.bulk_create(
        [City(name=f"C{batch}-{i}", country="US", slug=f"c{batch}-{i}") for i in range(cities)]
    )
    version = make_model_version(city_rows, active=False)
    vector = [1.0 / cities] * cities
    return [set_prediction(make_photo(city_rows[i % cities]), version, vector) for i in range(photos)]


def swipe_queries(photos: list, *, earlier_swipes: int = 1) -> int:
    """Queries of one more swipe, after `earlier_swipes` (so the vectors a swipe adds are stored already)."""
    swiper, other = UserSwipeData.objects.create(), UserSwipeData.objects.create()
    for photo in photos[:earlier_swipes]:
        services.record_swipe(swiper=swiper, photo_id=photo.pk, liked=True)
    services.record_swipe(swiper=other, photo_id=photos[-1].pk, liked=False)  # someone else stored its vector
    return queries(lambda: services.record_swipe(swiper=swiper, photo_id=photos[-1].pk, liked=False))


def test_a_swipe_makes_as_many_queries_for_1000_cities_as_for_5():
    assert swipe_queries(predicted_collection(1000)) == swipe_queries(predicted_collection(5))


def test_a_swipe_makes_as_many_queries_after_40_swipes_as_after_1():
    photos = predicted_collection(5, photos=42)
    assert swipe_queries(photos, earlier_swipes=40) == swipe_queries(photos, earlier_swipes=1)


@pytest.mark.parametrize("order", ["smart", "queue"])
def test_the_next_photos_cards_take_the_same_queries_for_2_photos_as_for_10(order, settings):
    settings.CITYVIBES_PHOTO_ORDER = order
    predicted_collection(3, photos=12)
    swiper = UserSwipeData.objects.create()
    request = RequestFactory().get("/api/photos/next")
    next_photos_for(swiper, n=1)  # the smart order's per-process matrix, built once

    def cards(n: int):
        return lambda: [photo_payload(request, photo) for photo in next_photos_for(swiper, n=n)]

    assert queries(cards(2)) == queries(cards(10))


def test_the_results_with_their_photos_take_the_same_queries_for_3_cities_as_for_10():
    photos = predicted_collection(12, photos=24)
    swiper = UserSwipeData.objects.create()
    for photo in photos:
        services.record_swipe(swiper=swiper, photo_id=photo.pk, liked=photo.pk % 2 == 0)

    rank_cities_for(swiper, limit=1)  # the collection's model, built once per process

    def ranked(limit: int):
        return lambda: [
            (r.city.name, r.pushed_up, r.pushed_down) for r in rank_cities_for(swiper, limit=limit, photos_per_city=3)
        ]

    assert queries(ranked(3)) == queries(ranked(10))

"""Ranking a swiper's cities loads only the cities it shows, whatever the number of scored cities."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from photos.models import City
from swipes.models import UserSwipeData
from swipes.selectors import rank_cities_for
from tests.factories import make_city

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

"""Ranked cities and the photos that explain each one."""

import pytest

from photos.models import City
from swipes import services
from swipes.models import UserSwipeData
from swipes.selectors import rank_cities_for
from swipes.vectors import CityVector
from tests.factories import make_city, make_model_version, make_photo, set_prediction

pytestmark = pytest.mark.django_db


def swiper_scoring(cities: list[City]) -> UserSwipeData:
    """Every city has a score (as under the llr rule); the first city scores highest."""
    scores = CityVector.of([c.pk for c in cities], [float(len(cities) - i) for i in range(len(cities))])
    return UserSwipeData.objects.create(score_cities=scores.cities_bytes(), score_values=scores.values_bytes())


def test_it_ranks_best_first_and_skips_deleted_cities_even_beyond_the_first_batch():
    cities = [make_city() for _ in range(60)]
    swiper = swiper_scoring(cities)
    City.objects.filter(pk__in=[c.pk for c in cities[:40]]).delete()

    ranked = rank_cities_for(swiper, limit=5)

    assert [item.city.pk for item in ranked] == [c.pk for c in cities[40:45]]
    assert [item.score for item in ranked] == [20.0, 19.0, 18.0, 17.0, 16.0]


def test_it_shows_the_photos_that_moved_each_city_most():
    denver, miami = make_city("Denver"), make_city("Miami")
    version = make_model_version([denver, miami])
    strong = set_prediction(make_photo(denver), version, [0.95, 0.05])
    weak = set_prediction(make_photo(denver), version, [0.6, 0.4])
    other = set_prediction(make_photo(miami), version, [0.1, 0.9])
    swiper = UserSwipeData.objects.create()
    for photo in (weak, strong, other):
        services.record_swipe(swiper=swiper, photo_id=photo.pk, liked=True)
    ranked = {r.city: r for r in rank_cities_for(swiper, photos_per_city=3)}
    assert ranked[denver].pushed_up[:2] == [strong, weak]
    assert ranked[miami].pushed_up[0] == other
    assert ranked[denver].pushed_down == ranked[miami].pushed_down == []  # nothing disliked


def test_it_explains_a_city_up_with_liked_photos_and_down_with_disliked_ones():
    denver, miami = make_city("Denver"), make_city("Miami")
    liked, noped = make_photo(denver), make_photo(miami)
    swiper = UserSwipeData.objects.create()
    services.record_swipe(swiper=swiper, photo_id=liked.pk, liked=True)
    services.record_swipe(swiper=swiper, photo_id=noped.pk, liked=False)  # also raises Denver under llr
    ranked = {r.city: r for r in rank_cities_for(swiper, photos_per_city=3)}
    assert ranked[denver].pushed_up == [liked]  # the dislike raised Denver too, but is no "like" to show
    assert ranked[denver].pushed_down == []
    assert ranked[miami].pushed_up == []
    assert ranked[miami].pushed_down == [noped]


def test_it_lists_the_later_of_two_equally_strong_photos_first():
    denver, miami = make_city("Denver"), make_city("Miami")
    version = make_model_version([denver, miami])
    first, second = (set_prediction(make_photo(denver), version, [0.8, 0.2]) for _ in range(2))
    set_prediction(make_photo(miami), version, [0.1, 0.9])  # so the Denver photos stand out from the mean
    swiper = UserSwipeData.objects.create()
    for photo in (first, second):
        services.record_swipe(swiper=swiper, photo_id=photo.pk, liked=True)
    ranked = {r.city: r for r in rank_cities_for(swiper, photos_per_city=3)}
    assert ranked[denver].pushed_up == [second, first]

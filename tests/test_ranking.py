"""Ranked cities: what orders them, what each says in plain numbers, and the photos that explain each one."""

import pytest

from swipes import services
from swipes.models import UserSwipeData
from swipes.selectors import rank_cities_for
from tests.factories import make_city, make_model_version, make_photo, set_prediction

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_cities():
    """Denver and Boulder look alike (their photos' vectors share mass); Miami looks like neither."""
    denver, boulder, miami = make_city("Denver"), make_city("Boulder"), make_city("Miami")
    version = make_model_version([denver, boulder, miami])
    looks = {denver: [0.55, 0.4, 0.05], boulder: [0.4, 0.55, 0.05], miami: [0.03, 0.02, 0.95]}
    photos = {
        city: [set_prediction(make_photo(city), version, vector) for _ in range(6)] for city, vector in looks.items()
    }
    return denver, boulder, miami, photos


def swipe(swiper, photos, liked):
    for photo in photos:
        services.record_swipe(swiper=swiper, photo_id=photo.pk, liked=liked)


def test_it_ranks_the_liked_kind_of_place_first_in_plain_numbers(three_cities):
    denver, boulder, miami, photos = three_cities
    swiper = UserSwipeData.objects.create()
    swipe(swiper, photos[denver][:3], True)
    swipe(swiper, photos[miami][:3], False)

    ranked = rank_cities_for(swiper)

    assert [r.city for r in ranked] == [denver, boulder, miami]  # Boulder, never swiped, rides on Denver
    assert all(0 <= r.match <= 1 and r.score == r.match for r in ranked)
    assert ranked[0].match > ranked[-1].match + 0.3
    assert (ranked[0].liked, ranked[0].seen) == (3, 3)
    assert (ranked[-1].liked, ranked[-1].seen) == (0, 3)


def test_it_says_nothing_of_cities_whose_photos_were_not_seen(three_cities):
    denver, boulder, miami, photos = three_cities
    swiper = UserSwipeData.objects.create()
    swipe(swiper, photos[miami][:2], True)
    assert [r.city for r in rank_cities_for(swiper)] == [miami]  # neither Denver nor Boulder was shown


def test_it_leaves_out_a_deleted_city(three_cities):
    denver, boulder, miami, photos = three_cities
    swiper = UserSwipeData.objects.create()
    swipe(swiper, photos[denver][:2] + photos[miami][:2], True)
    denver.delete()
    assert denver not in [r.city for r in rank_cities_for(swiper)]


def test_it_ranks_by_the_summed_vectors_under_the_sum_rule(three_cities, settings):
    settings.CITYVIBES_SCORING_RULE = "sum"
    denver, boulder, miami, photos = three_cities
    swiper = UserSwipeData.objects.create()
    swipe(swiper, photos[denver][:1], True)
    swipe(swiper, photos[miami][:1], False)
    ranked = {r.city: r.score for r in rank_cities_for(swiper)}
    assert ranked[denver] == pytest.approx(0.55 - 0.03)
    assert ranked[miami] == pytest.approx(0.05 - 0.95)


def test_it_explains_a_city_with_the_liked_and_noped_photos_of_it_and_its_look_alikes(three_cities):
    denver, boulder, miami, photos = three_cities
    swiper = UserSwipeData.objects.create()
    swipe(swiper, photos[boulder][:2], True)
    swipe(swiper, photos[denver][:1], False)
    swipe(swiper, photos[miami][:2], False)

    ranked = {r.city: r for r in rank_cities_for(swiper, photos_per_city=3)}

    assert set(ranked[denver].pushed_up) == set(photos[boulder][:2])  # its look-alike's photos count for it
    assert ranked[denver].pushed_down == [photos[denver][0]]
    assert set(ranked[miami].pushed_down) == set(photos[miami][:2])
    assert ranked[miami].pushed_up == []  # a Boulder photo says nothing for Miami
    assert (ranked[denver].liked, ranked[denver].seen) == (2, 3)

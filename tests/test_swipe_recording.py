"""Recording a swipe (swipes.services.record_swipe): what it adds, repeats, refusals, shared contributions."""

import numpy as np
import pytest

from photos.models import City, Photo
from swipes import services
from swipes.models import Contribution, Swipe, UserSwipeData
from swipes.selectors import rank_cities_for
from tests.factories import make_city, make_model_version, make_photo, replayed_scores, set_prediction, stored_scores

pytestmark = pytest.mark.django_db


@pytest.fixture
def sum_rule(settings):
    settings.CITYVIBES_SCORING_RULE = "sum"


def test_it_counts_liked_photos_per_city_with_the_sum_rule_right_after_an_import(sum_rule):
    denver, miami = make_city("Denver"), make_city("Miami")
    d1, d2, m1 = make_photo(denver), make_photo(denver), make_photo(miami)
    swiper = UserSwipeData.objects.create()
    for photo, liked in [(d1, True), (d2, True), (m1, False)]:
        services.record_swipe(swiper=swiper, photo_id=photo.pk, liked=liked)
    assert stored_scores(swiper) == {str(denver.pk): 2.0, str(miami.pk): -1.0}
    assert swiper.swipe_count == 3
    assert [r.city for r in rank_cities_for(swiper)] == [denver, miami]


def test_it_ranks_the_liked_city_first_with_the_default_rule():
    denver, miami, boston = make_city("Denver"), make_city("Miami"), make_city("Boston")
    photos = [make_photo(c) for c in (denver, denver, miami, miami, boston, boston)]
    swiper = UserSwipeData.objects.create()
    services.record_swipe(swiper=swiper, photo_id=photos[0].pk, liked=True)
    services.record_swipe(swiper=swiper, photo_id=photos[2].pk, liked=False)
    ranked = rank_cities_for(swiper)
    assert ranked[0].city == denver
    assert ranked[-1].city == miami
    assert stored_scores(swiper) == replayed_scores(swiper)


def test_it_uses_predicted_probabilities_once_the_model_has_run(sum_rule):
    denver, miami = make_city("Denver"), make_city("Miami")
    version = make_model_version([denver, miami])
    photo = set_prediction(make_photo(denver), version, [0.25, 0.75])
    swiper = UserSwipeData.objects.create()
    services.record_swipe(swiper=swiper, photo_id=photo.pk, liked=True)
    assert stored_scores(swiper) == {str(denver.pk): 0.25, str(miami.pk): 0.75}


def test_it_ignores_a_repeated_identical_swipe_and_refuses_a_contradicting_one():
    photo = make_photo(make_city())
    swiper = UserSwipeData.objects.create()
    first = services.record_swipe(swiper=swiper, photo_id=photo.pk, liked=True)
    again = services.record_swipe(swiper=swiper, photo_id=photo.pk, liked=True)
    assert first.created and not again.created
    assert again.swipe.pk == first.swipe.pk
    with pytest.raises(services.AlreadySwiped):
        services.record_swipe(swiper=swiper, photo_id=photo.pk, liked=False)
    assert UserSwipeData.objects.get(pk=swiper.pk).swipe_count == 1
    assert Swipe.objects.filter(user_data=swiper).count() == 1


def test_it_refuses_a_photo_that_does_not_exist_without_writing_anything():
    swiper = UserSwipeData.objects.create()
    with pytest.raises(services.PhotoNotAvailable):
        services.record_swipe(swiper=swiper, photo_id=424242, liked=True)
    assert (stored_scores(swiper), Swipe.objects.count(), Contribution.objects.count()) == ({}, 0, 0)
    assert UserSwipeData.objects.get(pk=swiper.pk).swipe_count == 0


@pytest.mark.parametrize("why", ["hidden", "no label and no prediction"])
def test_it_refuses_a_photo_that_is_not_servable_without_writing_anything(why):
    photo = make_photo(make_city() if why == "hidden" else None)
    Photo.objects.filter(pk=photo.pk).update(hidden=why == "hidden")
    swiper = UserSwipeData.objects.create()
    with pytest.raises(services.PhotoNotAvailable):
        services.record_swipe(swiper=swiper, photo_id=photo.pk, liked=True)
    assert (Swipe.objects.count(), Contribution.objects.count()) == (0, 0)


def test_swipes_adding_the_same_vector_share_one_stored_contribution():
    cities = City.objects.bulk_create([City(name=f"C{i}", country="US", slug=f"c{i}-us") for i in range(1000)])
    version = make_model_version(cities)
    rng = np.random.default_rng(3)
    photo, other = (
        set_prediction(make_photo(cities[i]), version, rng.dirichlet(np.ones(1000)).tolist()) for i in (0, 1)
    )
    first, second = UserSwipeData.objects.create(), UserSwipeData.objects.create()
    services.record_swipe(swiper=first, photo_id=photo.pk, liked=True)
    assert Contribution.objects.count() == 1

    assert services.record_swipe(swiper=second, photo_id=photo.pk, liked=True).created
    assert Contribution.objects.count() == 1  # 1,000 values stored once, referred to by both swipes
    assert Swipe.objects.filter(photo=photo).values_list("contribution", flat=True).distinct().count() == 1
    assert stored_scores(second) == stored_scores(first)

    # Disliking it, or liking another photo, adds another vector: stored once more each.
    services.record_swipe(swiper=first, photo_id=other.pk, liked=True)
    services.record_swipe(swiper=UserSwipeData.objects.create(), photo_id=photo.pk, liked=False)
    assert Contribution.objects.count() == 3
    for swiper in UserSwipeData.objects.all():
        assert stored_scores(swiper) == replayed_scores(swiper)


def test_a_swipe_keeps_what_it_added_when_a_new_model_predicts_the_photo_again(sum_rule):
    denver, miami = make_city("Denver"), make_city("Miami")
    photo = set_prediction(make_photo(denver), make_model_version([denver, miami]), [0.9, 0.1])
    swiper = UserSwipeData.objects.create()
    services.record_swipe(swiper=swiper, photo_id=photo.pk, liked=True)
    set_prediction(photo, make_model_version([denver, miami], active=False), [0.4, 0.6])
    assert stored_scores(swiper) == replayed_scores(swiper) == {str(denver.pk): 0.9, str(miami.pk): 0.1}

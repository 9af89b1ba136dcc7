"""Undo the last swipe, and start over: exact scores, and the log keeps what was retracted."""

import pytest

from swipes import services
from swipes.models import Swipe, UserSwipeData
from swipes.selectors import next_photos_for
from tests.factories import make_city, make_photo, replayed_scores, stored_scores

pytestmark = pytest.mark.django_db


def test_it_undoes_the_last_swipe_exactly_and_serves_that_photo_again():
    city_a, city_b = make_city(), make_city()
    for city in (city_a, city_b, city_a, city_b):
        make_photo(city)
    swiper = UserSwipeData.objects.create()
    queue = next_photos_for(swiper, n=4)
    services.record_swipe(swiper=swiper, photo_id=queue[0].pk, liked=True)
    before = stored_scores(swiper)
    services.record_swipe(swiper=swiper, photo_id=queue[1].pk, liked=False)

    undone = services.undo_last_swipe(swiper=swiper)

    assert undone.photo == queue[1]
    assert stored_scores(swiper) == before == replayed_scores(swiper)  # exactly equal, not approximately
    assert swiper.swipe_count == 1
    assert next_photos_for(swiper, n=1)[0] == queue[1]
    assert Swipe.objects.get(pk=undone.pk).retraction == "undo"  # the log keeps it


def test_it_says_there_is_nothing_to_undo():
    with pytest.raises(services.NothingToUndo):
        services.undo_last_swipe(swiper=UserSwipeData.objects.create())


def test_it_starts_over_on_reset_but_keeps_the_log():
    photos = [make_photo(make_city()) for _ in range(3)]
    swiper = UserSwipeData.objects.create()
    for photo in photos:
        services.record_swipe(swiper=swiper, photo_id=photo.pk, liked=True)

    assert services.reset_swipes(swiper=swiper) == 3

    stored = UserSwipeData.objects.get(pk=swiper.pk)
    assert (stored_scores(stored), stored.swipe_count, stored.queue_position) == ({}, 0, -1)
    assert Swipe.objects.filter(user_data=swiper, retraction="reset").count() == 3
    assert len(next_photos_for(stored, n=10)) == 3

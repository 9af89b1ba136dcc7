"""Stored scores always equal the replay of the swipe log, whatever happened in between."""

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from photos.models import Photo
from swipes import services
from swipes.models import Swipe, UserSwipeData
from tests.factories import make_city, make_model_version, make_photo, replayed_scores, set_prediction, stored_scores

pytestmark = pytest.mark.django_db

actions = st.lists(
    st.one_of(
        st.tuples(st.just("swipe"), st.integers(0, 7), st.booleans()),
        st.tuples(st.just("undo"), st.just(0), st.just(False)),
        st.tuples(st.just("reset"), st.just(0), st.just(False)),
    ),
    max_size=25,
)


def run(swiper: UserSwipeData, photos: list[Photo], action: str, index: int, liked: bool) -> int:
    """Do one step; how it changed the number of live swipes."""
    try:
        if action == "swipe":
            return int(services.record_swipe(swiper=swiper, photo_id=photos[index].pk, liked=liked).created)
        if action == "undo":
            services.undo_last_swipe(swiper=swiper)
            return -1
        return -services.reset_swipes(swiper=swiper)
    except (services.AlreadySwiped, services.NothingToUndo):
        return 0


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=actions)
def test_it_keeps_scores_equal_to_a_replay_of_the_log_whatever_the_interleaving(steps):
    if Photo.objects.count() < 8:
        cities = [make_city() for _ in range(3)]
        version = make_model_version(cities, name="prop")
        for i in range(8 - Photo.objects.count()):
            photo = make_photo(cities[i % 3])
            if i % 2:
                set_prediction(photo, version, [0.2, 0.3, 0.5])
    photos = list(Photo.objects.order_by("pk")[:8])
    swiper = UserSwipeData.objects.create()

    live = sum(run(swiper, photos, *step) for step in steps)

    stored = UserSwipeData.objects.get(pk=swiper.pk)
    assert stored.swipe_count == live == Swipe.objects.filter(user_data=swiper, retracted_at__isnull=True).count()
    assert stored_scores(swiper) == replayed_scores(swiper)

"""Which photo comes next: the smart order (the most informative one) or the queue order; how settled
the results are."""

import time

import numpy as np
import pytest

from photos.models import Photo
from photos.services import bump_collection_version
from swipes import ordering, services
from swipes.models import UserSwipeData
from swipes.photo_matrix import forget_photo_matrix, photo_matrix
from swipes.selectors import confidence_for, next_photos_for
from tests.factories import make_city, make_model_version, make_photo, set_prediction


def small_matrix(vectors: list[list[float]]) -> ordering.PhotoMatrix:
    vectors = np.array(vectors)
    return ordering.PhotoMatrix.build(range(len(vectors)), range(vectors.shape[1]), vectors)


def test_it_prefers_a_photo_that_splits_the_leading_cities_over_one_of_a_ruled_out_city():
    # Cities 0 and 1 lead; city 2 is ruled out.
    matrix = small_matrix([[0.9, 0.05, 0.05], [0.05, 0.05, 0.9], [0.34, 0.33, 0.33]])
    gain = ordering.information_gain(matrix, ordering.belief(np.array([3.0, 3.0, -6.0]), exploration=0.0))
    assert gain[0] > gain[2] > 0
    assert gain[0] > 10 * gain[1]


def test_it_keeps_every_city_in_play_with_the_exploration_share():
    b = ordering.belief(np.array([50.0, 0.0, -50.0, -50.0]), exploration=0.1)
    assert b.sum() == pytest.approx(1.0)
    assert b.min() >= 0.1 / 4
    assert np.argmax(b) == 0


def test_it_orders_the_same_way_for_the_same_seed_and_differently_for_near_ties():
    rng = np.random.default_rng(3)
    # 200 near-identical photos (as a city's many similar shots are): which comes first is a near-tie.
    matrix = small_matrix((np.array([0.7, 0.2, 0.1]) + rng.normal(0, 1e-4, (200, 3))).tolist())
    scores = np.zeros(3)

    def ranked(seed: int) -> np.ndarray:
        return ordering.best_first(ordering.photo_priorities(matrix, scores, seed=seed))

    first = ranked(1)
    assert np.array_equal(first, ranked(1))
    assert sorted(first.tolist()) == list(range(200))
    assert any(not np.array_equal(first[:5], ranked(s)[:5]) for s in range(2, 12))


@pytest.mark.parametrize("limit", [1, 7, 32, 199, 200, 500])
def test_the_best_photos_come_out_in_the_full_rankings_order_when_only_they_are_sorted(limit):
    rng = np.random.default_rng(limit)
    # Many equal priorities (photos with the same vector, before the jitter): they keep index order.
    priorities = rng.choice([0.1, 0.25, 0.5, 0.75], size=200).astype(np.float32)
    full = ordering.best_first(priorities)

    assert full.tolist() == sorted(range(200), key=lambda i: (-priorities[i], i))
    assert ordering.best_first(priorities, limit).tolist() == full[:limit].tolist()
    assert ordering.best_first(priorities, 0).tolist() == []


def test_it_estimates_more_swipes_to_settle_a_closer_race():
    matrix = small_matrix([[0.8, 0.1, 0.1]] * 20 + [[0.1, 0.8, 0.1]] * 20 + [[0.1, 0.1, 0.8]] * 20)
    close = ordering.settle_estimate(matrix, np.array([1.0, 0.9, -2.0]))
    wider = ordering.settle_estimate(matrix, np.array([2.0, 0.9, -2.0]))
    settled = ordering.settle_estimate(matrix, np.array([4.0, 0.9, -2.0]))
    assert (close.leader, close.runner_up) == (0, 1)
    assert close.swipes_to_settle > wider.swipes_to_settle > 0
    assert settled.swipes_to_settle == 0
    assert 0.5 < settled.leader_share < 1


def test_it_says_when_no_photo_left_can_settle_the_race():
    matrix = small_matrix([[0.5, 0.5, 0.0]] * 5)  # every photo looks equally like both leaders
    estimate = ordering.settle_estimate(matrix, np.array([1.0, 0.9, 0.0]))
    assert estimate.swipes_to_settle is None


@pytest.mark.django_db
class TestSmartOrderInTheApp:
    @pytest.fixture
    def world(self):
        denver, salt_lake, miami = make_city("Denver"), make_city("Salt Lake City"), make_city("Miami")
        version = make_model_version([denver, salt_lake, miami])
        vectors = {
            denver: [0.85, 0.1, 0.05],
            salt_lake: [0.1, 0.85, 0.05],
            miami: [0.05, 0.05, 0.9],
        }
        photos = {c: [set_prediction(make_photo(c), version, v) for _ in range(4)] for c, v in vectors.items()}
        return denver, salt_lake, miami, photos

    def test_it_shows_photos_that_tell_the_leaders_apart_once_a_city_is_ruled_out(self, world):
        denver, salt_lake, miami, photos = world
        user = UserSwipeData.objects.create()
        for photo in photos[miami][:2]:
            services.record_swipe(swiper=user, photo_id=photo.pk, liked=False)
        for photo in (photos[denver][0], photos[salt_lake][0]):
            services.record_swipe(swiper=user, photo_id=photo.pk, liked=True)
        upcoming = next_photos_for(user, n=4)
        assert {p.city for p in upcoming} == {denver, salt_lake}  # no more Miami: it says little now

    def test_it_never_prefetches_two_photos_of_the_same_city_in_a_row(self, world):
        *_, photos = world
        user = UserSwipeData.objects.create()
        services.record_swipe(swiper=user, photo_id=photos[next(iter(photos))][0].pk, liked=True)
        for swiper in (None, user):
            cities = [p.city for p in next_photos_for(swiper, n=8)]
            assert len(cities) == 8
            assert all(a != b for a, b in zip(cities, cities[1:])), [c.name for c in cities]

    def test_it_never_serves_a_swiped_photo_and_runs_dry_when_all_are_swiped(self, world):
        *_, photos = world
        everything = [p for ps in photos.values() for p in ps]
        user = UserSwipeData.objects.create()
        for photo in everything[:-1]:
            services.record_swipe(swiper=user, photo_id=photo.pk, liked=True)
        assert next_photos_for(user, n=5) == [everything[-1]]
        services.record_swipe(swiper=user, photo_id=everything[-1].pk, liked=False)
        assert next_photos_for(user, n=5) == []

    def test_it_brings_an_undone_photo_back_first(self, world):
        *_, photos = world
        user = UserSwipeData.objects.create()
        first = next_photos_for(user, n=1)[0]
        services.record_swipe(swiper=user, photo_id=first.pk, liked=True)
        second = next_photos_for(user, n=1)[0]
        services.record_swipe(swiper=user, photo_id=second.pk, liked=False)
        services.undo_last_swipe(swiper=user)
        assert next_photos_for(user, n=3)[0] == second

    def test_it_serves_a_newly_imported_photo_without_a_restart(self, world):
        denver, *_ = world
        before = photo_matrix()
        new = make_photo(denver)
        after = photo_matrix()
        assert len(after) == len(before) + 1
        assert new.pk in after.photo_ids.tolist()

    def test_it_says_how_many_swipes_would_settle_the_two_leaders(self, world):
        denver, salt_lake, miami, photos = world
        user = UserSwipeData.objects.create()
        services.record_swipe(swiper=user, photo_id=photos[denver][0].pk, liked=True)
        services.record_swipe(swiper=user, photo_id=photos[miami][0].pk, liked=False)
        confidence = confidence_for(user)
        assert confidence.leader == denver
        assert confidence.runner_up == salt_lake
        assert confidence.swipes_to_settle >= 1
        for photo in photos[denver][1:] + photos[salt_lake][:3]:
            services.record_swipe(swiper=user, photo_id=photo.pk, liked=photo.city == denver)
        assert confidence_for(user).swipes_to_settle == 0


@pytest.mark.django_db
def test_it_reports_confidence_and_pushed_down_photos_in_the_api_and_on_the_results_page(api_client):
    denver, miami = make_city("Denver"), make_city("Miami")
    version = make_model_version([denver, miami])
    liked = set_prediction(make_photo(denver), version, [0.7, 0.3])
    noped = set_prediction(make_photo(miami), version, [0.3, 0.7])
    for _ in range(10):
        set_prediction(make_photo(denver), version, [0.9, 0.1])
        set_prediction(make_photo(miami), version, [0.1, 0.9])
    api_client.post_json("/api/swipes", {"photo": liked.pk, "liked": True})
    api_client.post_json("/api/swipes", {"photo": noped.pk, "liked": False})

    body = api_client.get("/api/results").json()
    assert body["confidence"]["leader"]["name"] == "Denver"
    assert body["confidence"]["runner_up"]["name"] == "Miami"
    assert 0.5 < body["confidence"]["leader_share"] <= 1
    assert isinstance(body["confidence"]["swipes_to_settle"], int)

    page = api_client.get("/results/").content.decode()
    sentence = " ".join(page.split('id="confidence"')[1].split("</p>")[0].split())
    n = body["confidence"]["swipes_to_settle"]
    assert n > 0  # one like and one nope settle nothing
    assert f"About <strong>{n} more swipe{'s' if n > 1 else ''}</strong> would settle Denver vs Miami" in sentence
    assert f"Denver leads: {round(100 * body['confidence']['leader_share'])}% likely your city" in sentence
    assert "Disliked photos that pulled Miami down" in page
    assert f'data-photo-id="{noped.pk}"' in page.split("Disliked photos that pulled Miami down")[1]


@pytest.mark.django_db
def test_it_has_no_confidence_before_the_first_swipe(api_client):
    make_photo(make_city())
    assert api_client.get("/api/results").json()["confidence"] is None
    assert 'id="confidence"' not in api_client.get("/results/").content.decode()


@pytest.mark.django_db
def test_it_serves_a_photo_the_moment_an_admin_unhides_it(admin_client):
    city = make_city()
    photos = [make_photo(city) for _ in range(3)]
    Photo.objects.filter(pk=photos[0].pk).update(hidden=True)
    bump_collection_version()
    assert photos[0] not in next_photos_for(None, n=5)  # the matrix is built and cached without it now
    changelist = admin_client.get("/admin/photos/photo/")
    assert changelist.status_code == 200
    form = {"form-TOTAL_FORMS": "3", "form-INITIAL_FORMS": "3", "_save": "Save"}
    for i, photo in enumerate(changelist.context["cl"].result_list):
        form[f"form-{i}-id"] = str(photo.pk)
        if photo.pk != photos[0].pk:
            form[f"form-{i}-hidden"] = "on"  # hide the other two, show the first
    assert admin_client.post("/admin/photos/photo/", form).status_code == 302
    assert next_photos_for(None, n=5) == [photos[0]]


@pytest.mark.django_db
def test_it_rebuilds_the_photo_matrix_at_most_every_max_age_while_photos_keep_changing(settings):
    settings.CITYVIBES_PHOTO_MATRIX_MAX_AGE = 0.5
    city = make_city()
    shown = make_photo(city)
    before = photo_matrix()
    added = make_photo(city)  # a harvest adding photos one by one
    Photo.objects.filter(pk=shown.pk).update(hidden=True)
    bump_collection_version()
    assert photo_matrix() is before  # not rebuilt on every change...
    assert next_photos_for(None, n=5) == []  # ...but a hidden photo is never served from it
    time.sleep(0.5)
    assert photo_matrix().photo_ids.tolist() == [added.pk]  # ...and it catches up after max age


@pytest.mark.django_db
def test_the_first_photos_of_an_empty_collection_show_at_once_whatever_the_max_age(settings):
    settings.CITYVIBES_PHOTO_MATRIX_MAX_AGE = 3600
    forget_photo_matrix()  # a new server process, started before any photo was imported
    assert next_photos_for(None, n=5) == []
    first = make_photo(make_city())  # imports bump the collection version

    assert next_photos_for(None, n=5) == [first]
    make_photo(first.city)
    assert next_photos_for(None, n=5) == [first]  # once it has photos, the max age applies again


@pytest.mark.parametrize(
    ("setting", "value", "code"),
    [("CITYVIBES_PHOTO_ORDER", "random", "cityvibes.E002"), ("CITYVIBES_SCORING_RULE", "avg", "cityvibes.E003")],
)
def test_it_refuses_to_start_with_an_unknown_order_or_rule(settings, setting, value, code):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    setattr(settings, setting, value)
    with pytest.raises(SystemCheckError, match=rf"\({code}\) {setting}='{value}' is not one of"):
        call_command("check")


@pytest.mark.django_db
def test_it_serves_photos_in_queue_order_skipping_swiped_ones_and_wrapping_around(settings):
    settings.CITYVIBES_PHOTO_ORDER = "queue"
    city = make_city()
    photos = sorted((make_photo(city) for _ in range(6)), key=lambda p: p.queue_position)
    swiper = UserSwipeData.objects.create()
    assert next_photos_for(swiper, n=3) == photos[:3]
    services.record_swipe(swiper=swiper, photo_id=photos[3].pk, liked=True)  # swiped out of order
    assert next_photos_for(swiper, n=3) == [photos[4], photos[5], photos[0]]
    assert photos[3] not in next_photos_for(swiper, n=10)

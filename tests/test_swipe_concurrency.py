"""Two tabs swiping at once: no swipe lost or counted twice, scores equal to the log. Needs PostgreSQL.

Judged by outcomes only: what the swipers' answers, the log and the stored scores say afterwards.
"""

import threading

import pytest
from django.db import connections

from swipes import services
from swipes.models import Contribution, Swipe, UserSwipeData
from tests.clients import browser, second_tab
from tests.factories import make_city, make_model_version, make_photo, replayed_scores, set_prediction, stored_scores

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres(reason="concurrency is proven against PostgreSQL"),
]


def run_in_threads(jobs) -> tuple[list, list[Exception]]:
    """Start every job at the same moment, each on its own database connection: (results, errors)."""
    barrier = threading.Barrier(len(jobs))
    results, errors = [], []

    def worker(job):
        try:
            barrier.wait()
            results.append(job())
        except Exception as error:  # surfaced in the main thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def fresh(swiper: UserSwipeData) -> UserSwipeData:
    return UserSwipeData.objects.get(pk=swiper.pk)  # what another tab's request would look up


def assert_log_and_scores_agree(swiper: UserSwipeData, live_swipes: int) -> None:
    stored = fresh(swiper)
    assert stored.swipe_count == live_swipes == Swipe.objects.filter(user_data=swiper, retracted_at=None).count()
    assert stored_scores(swiper) == replayed_scores(swiper)


def test_it_applies_every_parallel_swipe_from_one_swiper():
    cities = [make_city() for _ in range(4)]
    photos = [make_photo(cities[i % 4]) for i in range(16)]
    swiper = UserSwipeData.objects.create()
    jobs = [
        lambda p=p, i=i: services.record_swipe(swiper=fresh(swiper), photo_id=p.pk, liked=i % 3 != 0)
        for i, p in enumerate(photos)
    ]
    results, errors = run_in_threads(jobs)
    assert errors == [] and all(outcome.created for outcome in results)
    assert_log_and_scores_agree(swiper, 16)


def test_it_counts_the_same_swipe_fired_from_two_tabs_once():
    photo = make_photo(make_city())
    swiper = UserSwipeData.objects.create()
    jobs = [lambda: services.record_swipe(swiper=fresh(swiper), photo_id=photo.pk, liked=True) for _ in range(6)]
    results, errors = run_in_threads(jobs)
    assert errors == []
    assert sorted(outcome.created for outcome in results) == [False] * 5 + [True]
    assert_log_and_scores_agree(swiper, 1)


def test_two_tabs_swiping_one_photo_both_ways_at_once_keep_one_and_answer_409_to_the_other():
    photo = make_photo(make_city())
    first_tab = browser()
    assert first_tab.post_json("/api/swipes", {"photo": make_photo(make_city()).pk, "liked": True}).status_code == 201
    other_tab = second_tab(first_tab)  # the same browser: the same session, the same swiper

    def swipe(tab, liked):
        return lambda: tab.post_json("/api/swipes", {"photo": photo.pk, "liked": liked})

    answers, errors = run_in_threads([swipe(first_tab, True), swipe(other_tab, False)])

    assert errors == []
    assert sorted(response.status_code for response in answers) == [201, 409]
    refused = next(response for response in answers if response.status_code == 409)
    assert "undo first" in refused.json()["error"]
    swiper = UserSwipeData.objects.get()
    kept = Swipe.objects.get(user_data=swiper, photo=photo)
    assert kept.liked == (next(r for r in answers if r.status_code == 201).json()["liked"])
    assert_log_and_scores_agree(swiper, 2)


def test_it_keeps_scores_consistent_when_undos_race_with_swipes():
    photos = [make_photo(make_city()) for _ in range(8)]
    swiper = UserSwipeData.objects.create()
    for p in photos[:4]:
        services.record_swipe(swiper=swiper, photo_id=p.pk, liked=True)

    def undo():
        return services.undo_last_swipe(swiper=fresh(swiper))

    jobs = [undo, undo] + [
        (lambda p=p: services.record_swipe(swiper=fresh(swiper), photo_id=p.pk, liked=False)) for p in photos[4:]
    ]
    _, errors = run_in_threads(jobs)
    assert errors == []
    assert_log_and_scores_agree(swiper, 6)


@pytest.mark.parametrize("meanwhile", ["undo", "reset"])
def test_a_swipe_and_another_tabs_undo_or_reset_at_once_leave_the_scores_equal_to_the_log(meanwhile):
    photos = [make_photo(make_city()) for _ in range(12)]
    swiper = UserSwipeData.objects.create()
    for p in photos[:2]:
        services.record_swipe(swiper=swiper, photo_id=p.pk, liked=True)
    change = {
        "undo": lambda: services.undo_last_swipe(swiper=fresh(swiper)),
        "reset": lambda: services.reset_swipes(swiper=fresh(swiper)),
    }[meanwhile]
    for p in photos[2:]:
        _, errors = run_in_threads(
            [change, lambda p=p: services.record_swipe(swiper=fresh(swiper), photo_id=p.pk, liked=True)]
        )
        assert [e for e in errors if not isinstance(e, services.NothingToUndo)] == []
        stored = fresh(swiper)
        assert stored_scores(stored) == replayed_scores(stored)
    assert_log_and_scores_agree(swiper, fresh(swiper).swipe_count)


def test_swipers_making_the_first_swipes_of_the_same_photos_at_once_all_succeed():
    """The first swipe of a vector stores it, and another swiper's transaction may store it meanwhile:
    every swipe is recorded, and each vector is stored once."""
    cities = [make_city() for _ in range(3)]
    version = make_model_version(cities)
    photos = [
        set_prediction(make_photo(cities[i % 3]), version, [0.5, 0.3 - i / 200, 0.2 + i / 200]) for i in range(30)
    ]
    swipers = [UserSwipeData.objects.create() for _ in range(6)]
    failures = []
    for photo in photos:
        jobs = [lambda s=s, p=photo: services.record_swipe(swiper=fresh(s), photo_id=p.pk, liked=True) for s in swipers]
        failures += run_in_threads(jobs)[1]
    assert failures == []
    assert Swipe.objects.count() == len(photos) * len(swipers)
    assert Contribution.objects.count() == len(photos)  # each photo's like adds its own vector, stored once

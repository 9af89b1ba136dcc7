"""Two tabs swiping at once must not lose an update (row lock on the swiper). Needs PostgreSQL."""

import threading

import pytest
from django.db import connections

from swipes import scoring, services
from swipes.models import Contribution, Swipe, UserSwipeData
from tests.factories import make_city, make_model_version, make_photo, set_prediction

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres(reason="concurrency is proven against PostgreSQL"),
]


def run_in_threads(jobs):
    barrier = threading.Barrier(len(jobs))
    errors = []

    def worker(job):
        try:
            barrier.wait()
            job()
        except Exception as error:  # surfaced in the main thread below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_it_applies_every_parallel_swipe_from_one_user():
    cities = [make_city() for _ in range(4)]
    photos = [make_photo(cities[i % 4]) for i in range(16)]
    user = UserSwipeData.objects.create()
    jobs = [
        (
            lambda p=p, i=i: services.record_swipe(
                user_data=UserSwipeData.objects.get(pk=user.pk), photo_id=p.pk, liked=i % 3 != 0
            )
        )
        for i, p in enumerate(photos)
    ]
    assert run_in_threads(jobs) == []
    stored = UserSwipeData.objects.get(pk=user.pk)
    log = Swipe.objects.filter(user_data=user).order_by("id")
    assert stored.swipe_count == 16 == log.count()
    assert (
        scoring.scores_differ(stored.scores, scoring.replay(s.contribution.as_dict() for s in log), tolerance=0) == []
    )


def test_it_counts_the_same_swipe_fired_from_two_tabs_once():
    photo = make_photo(make_city())
    user = UserSwipeData.objects.create()
    jobs = [
        lambda: services.record_swipe(user_data=UserSwipeData.objects.get(pk=user.pk), photo_id=photo.pk, liked=True)
        for _ in range(6)
    ]
    assert run_in_threads(jobs) == []
    assert UserSwipeData.objects.get(pk=user.pk).swipe_count == 1
    assert Swipe.objects.filter(user_data=user).count() == 1


def test_it_keeps_scores_consistent_when_undos_race_with_swipes():
    photos = [make_photo(make_city()) for _ in range(8)]
    user = UserSwipeData.objects.create()
    for p in photos[:4]:
        services.record_swipe(user_data=user, photo_id=p.pk, liked=True)

    def undo():
        try:
            services.undo_last_swipe(user_data=UserSwipeData.objects.get(pk=user.pk))
        except services.NothingToUndo:
            pass

    jobs = [undo, undo] + [
        (lambda p=p: services.record_swipe(user_data=UserSwipeData.objects.get(pk=user.pk), photo_id=p.pk, liked=False))
        for p in photos[4:]
    ]
    assert run_in_threads(jobs) == []
    stored = UserSwipeData.objects.get(pk=user.pk)
    live = Swipe.objects.filter(user_data=user, retracted_at__isnull=True).order_by("id")
    assert stored.swipe_count == live.count() == 6
    assert (
        scoring.scores_differ(stored.scores, scoring.replay(s.contribution.as_dict() for s in live), tolerance=0) == []
    )


def test_swipers_making_the_first_swipes_of_the_same_photos_at_once_all_succeed():
    """The first swipe of a vector stores it; another swiper's transaction may store it meanwhile.

    Whoever stores it first, every swipe is recorded (a swipe that missed it retries once it is stored),
    and each vector is stored once.
    """
    cities = [make_city() for _ in range(3)]
    version = make_model_version(cities)
    photos = [
        set_prediction(make_photo(cities[i % 3]), version, [0.5, 0.3 - i / 200, 0.2 + i / 200]) for i in range(30)
    ]
    swipers = [UserSwipeData.objects.create() for _ in range(6)]
    failures = []
    for photo in photos:
        jobs = [
            lambda s=s, p=photo: services.record_swipe(
                user_data=UserSwipeData.objects.get(pk=s.pk), photo_id=p.pk, liked=True
            )
            for s in swipers
        ]
        failures += run_in_threads(jobs)
    assert failures == []
    assert Swipe.objects.count() == len(photos) * len(swipers)
    assert Contribution.objects.count() == len(photos)  # each photo's like adds its own vector, stored once

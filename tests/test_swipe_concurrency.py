"""Two tabs swiping at once must not lose an update (row lock on the swiper). Needs PostgreSQL."""

import threading

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

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


def _assert_scores_replay_the_log(user):
    stored = UserSwipeData.objects.get(pk=user.pk)
    live = Swipe.objects.filter(user_data=user, retracted_at__isnull=True).order_by("id")
    assert stored.swipe_count == live.count()
    assert (
        scoring.scores_differ(stored.scores, scoring.replay(s.contribution.as_dict() for s in live), tolerance=0) == []
    )
    return stored, list(live)


@pytest.mark.parametrize("meanwhile", ["undo", "reset", "another swipe"])
def test_a_swipe_whose_swiper_changed_after_it_read_them_is_written_from_what_they_are_now(monkeypatch, meanwhile):
    """Another tab's write lands between the optimistic swipe's read and its write: the write must not
    apply scores computed from the stale read; the swipe is then made under the row lock instead."""
    photos = [make_photo(make_city()) for _ in range(4)]
    services.prepare_contributions([p.pk for p in photos])  # as once others swiped them: no first-vector path
    user = UserSwipeData.objects.create()
    for p in photos[:2]:
        services.record_swipe(user_data=user, photo_id=p.pk, liked=True)
    change = {
        "undo": lambda: services.undo_last_swipe(user_data=UserSwipeData.objects.get(pk=user.pk)),
        "reset": lambda: services.reset_swipes(user_data=UserSwipeData.objects.get(pk=user.pk)),
        "another swipe": lambda: services.record_swipe(
            user_data=UserSwipeData.objects.get(pk=user.pk), photo_id=photos[3].pk, liked=False
        ),
    }[meanwhile]
    read_swiper = services._read_swiper
    reads = []

    def read_then_let_another_tab_write(cursor, sql, value):
        row = read_swiper(cursor, sql, value)
        if not reads:  # only around the swipe under test, not the other tab's own read
            reads.append(row)
            assert run_in_threads([change]) == []  # committed on its own connection before we go on
        return row

    monkeypatch.setattr(services, "_read_swiper", read_then_let_another_tab_write)
    outcome = services.record_swipe(user_data=user, photo_id=photos[2].pk, liked=True)
    assert outcome.created and reads
    stored, live = _assert_scores_replay_the_log(user)
    assert photos[2].pk in [s.photo_id for s in live]
    assert stored.revision == reads[0][-1] + 2  # the other tab's write, then this swipe
    assert (outcome.swipe_count, outcome.scores.as_dict()) == (stored.swipe_count, stored.scores)


def test_a_usual_swipe_is_two_statements_without_a_transaction_of_its_own():
    """Read the swiper, then lock + insert + write the scores in one statement: no BEGIN or COMMIT round trips."""
    photos = [make_photo(make_city()) for _ in range(2)]
    user = UserSwipeData.objects.create()
    services.record_swipe(user_data=user, photo_id=photos[0].pk, liked=True)  # stores its vector
    with CaptureQueriesContext(connection) as captured:
        services.record_swipe(user_data=user, photo_id=photos[1].pk, liked=False)
    statements = [q["sql"] for q in captured.captured_queries]
    assert len(statements) == 2, statements
    assert statements[0].startswith("SELECT") and "FOR UPDATE" not in statements[0]
    assert statements[1].startswith("WITH") and "FOR UPDATE" in statements[1] and "UPDATE" in statements[1]
    _assert_scores_replay_the_log(user)

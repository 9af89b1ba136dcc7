"""swipes/services.py and selectors: recording, undo, reset, next photos, vectors."""

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from photos.models import SERVABLE_SQL, City, Photo
from swipes import scoring, services
from swipes.models import Contribution, Swipe, UserSwipeData
from swipes.score_vectors import digest_of
from swipes.selectors import collection_mean, next_photos_for, photo_vector, rank_cities_for
from tests.factories import make_city, make_model_version, make_photo, set_prediction

pytestmark = pytest.mark.django_db


@pytest.fixture
def sum_rule(settings):
    settings.CITYVIBES_SCORING_RULE = "sum"


def test_it_uses_a_one_hot_label_vector_until_a_model_predicts_the_photo():
    denver, miami = make_city("Denver"), make_city("Miami")
    photo = make_photo(denver)
    assert photo_vector(photo) == {str(denver.pk): 1.0}
    version = make_model_version([denver, miami])
    set_prediction(photo, version, [0.3, 0.7])
    assert photo_vector(Photo.objects.get(pk=photo.pk)) == {str(denver.pk): 0.3, str(miami.pk): 0.7}


def test_it_never_serves_unlabelled_unpredicted_or_hidden_photos():
    city = make_city()
    served = make_photo(city)
    make_photo(None)  # no label, no prediction
    hidden = make_photo(city)
    hidden.hidden = True
    hidden.save()
    assert [p.pk for p in next_photos_for(None, n=10)] == [served.pk]


def test_the_plain_sql_servable_condition_agrees_with_the_queryset():
    city = make_city()
    version = make_model_version([city])
    labelled, predicted, neither = make_photo(city), set_prediction(make_photo(None), version, [1.0]), make_photo(None)
    hidden_labelled, hidden_predicted = make_photo(city), set_prediction(make_photo(None), version, [1.0])
    Photo.objects.filter(pk__in=[hidden_labelled.pk, hidden_predicted.pk]).update(hidden=True)
    table = connection.ops.quote_name(Photo._meta.db_table)

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT p.id FROM {table} p WHERE {SERVABLE_SQL}")
        by_sql = {row[0] for row in cursor.fetchall()}

    assert by_sql == set(Photo.objects.servable().values_list("pk", flat=True)) == {labelled.pk, predicted.pk}
    assert neither.pk not in by_sql


def test_it_counts_liked_photos_per_city_with_the_sum_rule_right_after_an_import(sum_rule):
    denver, miami = make_city("Denver"), make_city("Miami")
    d1, d2, m1 = make_photo(denver), make_photo(denver), make_photo(miami)
    user = UserSwipeData.objects.create()
    for photo, liked in [(d1, True), (d2, True), (m1, False)]:
        services.record_swipe(user_data=user, photo_id=photo.pk, liked=liked)
    assert user.scores == {str(denver.pk): 2.0, str(miami.pk): -1.0}
    assert user.swipe_count == 3
    assert [r.city for r in rank_cities_for(user)] == [denver, miami]


def test_it_ranks_the_liked_city_first_with_the_default_rule():
    denver, miami, boston = make_city("Denver"), make_city("Miami"), make_city("Boston")
    photos = [make_photo(c) for c in (denver, denver, miami, miami, boston, boston)]
    user = UserSwipeData.objects.create()
    services.record_swipe(user_data=user, photo_id=photos[0].pk, liked=True)
    services.record_swipe(user_data=user, photo_id=photos[2].pk, liked=False)
    ranked = rank_cities_for(user)
    assert ranked[0].city == denver
    assert ranked[-1].city == miami
    assert UserSwipeData.objects.get(pk=user.pk).scores == scoring.replay(
        [s.contribution.as_dict() for s in Swipe.objects.filter(user_data=user).order_by("id")]
    )


def test_it_uses_predicted_probabilities_once_the_model_has_run(sum_rule):
    denver, miami = make_city("Denver"), make_city("Miami")
    version = make_model_version([denver, miami])
    photo = set_prediction(make_photo(denver), version, [0.25, 0.75])
    user = UserSwipeData.objects.create()
    services.record_swipe(user_data=user, photo_id=photo.pk, liked=True)
    assert user.scores == {str(denver.pk): 0.25, str(miami.pk): 0.75}


def test_it_ignores_a_repeated_identical_swipe_and_refuses_a_contradicting_one():
    photo = make_photo(make_city())
    user = UserSwipeData.objects.create()
    first = services.record_swipe(user_data=user, photo_id=photo.pk, liked=True)
    again = services.record_swipe(user_data=user, photo_id=photo.pk, liked=True)
    assert first.created and not again.created
    assert again.swipe.pk == first.swipe.pk
    with pytest.raises(services.AlreadySwiped):
        services.record_swipe(user_data=user, photo_id=photo.pk, liked=False)
    user.refresh_from_db()
    assert user.swipe_count == 1
    assert Swipe.objects.filter(user_data=user).count() == 1


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the path for SQLite before 3.35 (no INSERT ... RETURNING)")
def test_it_swipes_repeats_refuses_and_undoes_where_an_insert_cannot_return_columns(monkeypatch):
    monkeypatch.setattr(connection.features, "can_return_columns_from_insert", False)
    denver, miami = make_city("Denver"), make_city("Miami")
    version = make_model_version([denver, miami])
    first, second = make_photo(denver), make_photo(miami)
    set_prediction(first, version, [0.9, 0.1])
    set_prediction(second, version, [0.3, 0.7])
    user = UserSwipeData.objects.create()
    liked = services.record_swipe(user_data=user, photo_id=first.pk, liked=True)
    noped = services.record_swipe(user_data=user, photo_id=second.pk, liked=False)
    again = services.record_swipe(user_data=user, photo_id=first.pk, liked=True)
    with pytest.raises(services.AlreadySwiped):
        services.record_swipe(user_data=user, photo_id=second.pk, liked=True)
    assert liked.created and noped.created and not again.created
    log = list(Swipe.objects.filter(user_data=user).order_by("id"))
    assert [s.pk for s in log] == [liked.swipe.pk, noped.swipe.pk]  # the ids the service reported
    assert [s.contribution_id for s in log] == [liked.swipe.contribution.pk, noped.swipe.contribution.pk]
    stored = UserSwipeData.objects.get(pk=user.pk)
    assert stored.swipe_count == 2
    replayed = scoring.replay(s.contribution.as_dict() for s in log)
    assert scoring.scores_differ(stored.scores, replayed, tolerance=0) == []
    assert services.undo_last_swipe(user_data=stored).photo_id == second.pk
    stored.refresh_from_db()
    assert stored.swipe_count == 1
    assert scoring.scores_differ(stored.scores, log[0].contribution.as_dict(), tolerance=0) == []


def test_it_refuses_a_photo_that_does_not_exist_without_writing_anything():
    user = UserSwipeData.objects.create()
    with pytest.raises(services.PhotoNotAvailable):
        services.record_swipe(user_data=user, photo_id=424242, liked=True)
    user.refresh_from_db()
    assert (user.scores, user.swipe_count, Swipe.objects.count(), Contribution.objects.count()) == ({}, 0, 0, 0)


def test_a_refused_first_swipe_of_a_hidden_photo_stores_nothing_either():
    photo = make_photo(make_city())
    Photo.objects.filter(pk=photo.pk).update(hidden=True)
    user = UserSwipeData.objects.create()
    with pytest.raises(services.PhotoNotAvailable):
        services.record_swipe(user_data=user, photo_id=photo.pk, liked=True)
    assert (Swipe.objects.count(), Contribution.objects.count()) == (0, 0)


def test_swipes_adding_the_same_vector_share_one_stored_contribution_and_send_only_its_digest():
    cities = City.objects.bulk_create([City(name=f"C{i}", country="US", slug=f"c{i}-us") for i in range(1000)])
    version = make_model_version(cities)
    rng = np.random.default_rng(3)
    photo, other = (
        set_prediction(make_photo(cities[i]), version, rng.dirichlet(np.ones(1000)).tolist()) for i in (0, 1)
    )
    first, second = UserSwipeData.objects.create(), UserSwipeData.objects.create()
    services.record_swipe(user_data=first, photo_id=photo.pk, liked=True)  # stores what liking it adds
    assert Contribution.objects.count() == 1

    with CaptureQueriesContext(connection) as captured:
        outcome = services.record_swipe(user_data=second, photo_id=photo.pk, liked=True)
    assert outcome.created
    assert Contribution.objects.count() == 1
    assert Swipe.objects.filter(photo=photo).values_list("contribution", flat=True).distinct().count() == 1
    assert UserSwipeData.objects.get(pk=second.pk).scores == UserSwipeData.objects.get(pk=first.pk).scores
    swipe_statements = [q["sql"] for q in captured.captured_queries if '"swipes_swipe"' in q["sql"]]
    assert len(swipe_statements) == 1  # the INSERT (on PostgreSQL within the statement that also writes the scores)
    insert = swipe_statements[0][swipe_statements[0].index('INSERT INTO "swipes_swipe"') :]
    insert = insert[: insert.index("RETURNING")] if "RETURNING" in insert else insert
    # What liking the photo adds is 1,000 ids and 1,000 values (16 KB, 32 KB as SQL text); the insert
    # refers to it by its 32-byte digest.
    assert len(insert) < 1000, insert[:300]
    assert not any(q["sql"].startswith('INSERT INTO "swipes_contribution"') for q in captured.captured_queries)

    # Disliking it, or liking another photo, adds another vector: stored once more each.
    services.record_swipe(user_data=first, photo_id=other.pk, liked=True)
    services.record_swipe(user_data=UserSwipeData.objects.create(), photo_id=photo.pk, liked=False)
    assert Contribution.objects.count() == 3
    for swipe in Swipe.objects.select_related("contribution"):
        stored = swipe.contribution
        assert stored.digest == digest_of(bytes(stored.vector_cities), bytes(stored.vector_values))


def test_it_undoes_the_last_swipe_exactly_and_serves_that_photo_again():
    city_a, city_b = make_city(), make_city()
    photos = [make_photo(c) for c in (city_a, city_b, city_a, city_b)]
    user = UserSwipeData.objects.create()
    queue = next_photos_for(user, n=4)
    services.record_swipe(user_data=user, photo_id=queue[0].pk, liked=True)
    before = dict(user.scores)
    services.record_swipe(user_data=user, photo_id=queue[1].pk, liked=False)
    undone = services.undo_last_swipe(user_data=user)
    assert undone.photo == queue[1]
    assert user.scores == before  # exactly equal, not approximately
    assert user.swipe_count == 1
    assert next_photos_for(user, n=1)[0] == queue[1]
    assert Swipe.objects.get(pk=undone.pk).retraction == "undo"  # the log keeps it
    assert len(photos) == 4


def test_it_says_there_is_nothing_to_undo():
    user = UserSwipeData.objects.create()
    with pytest.raises(services.NothingToUndo):
        services.undo_last_swipe(user_data=user)


def test_it_starts_over_on_reset_but_keeps_the_log():
    photos = [make_photo(make_city()) for _ in range(3)]
    user = UserSwipeData.objects.create()
    for photo in photos:
        services.record_swipe(user_data=user, photo_id=photo.pk, liked=True)
    assert services.reset_swipes(user_data=user) == 3
    user.refresh_from_db()
    assert (user.scores, user.swipe_count, user.queue_position) == ({}, 0, -1)
    assert Swipe.objects.filter(user_data=user, retraction="reset").count() == 3
    assert len(next_photos_for(user, n=10)) == 3


def test_it_serves_photos_in_queue_order_skipping_swiped_ones_and_wrapping_around(settings):
    settings.CITYVIBES_PHOTO_ORDER = "queue"
    city = make_city()
    photos = sorted((make_photo(city) for _ in range(6)), key=lambda p: p.queue_position)
    user = UserSwipeData.objects.create()
    assert next_photos_for(user, n=3) == photos[:3]
    services.record_swipe(user_data=user, photo_id=photos[3].pk, liked=True)  # swiped out of order
    assert next_photos_for(user, n=3) == [photos[4], photos[5], photos[0]]
    assert photos[3] not in next_photos_for(user, n=10)


def test_it_averages_vectors_over_the_collection_for_the_mean():
    denver, miami = make_city("Denver"), make_city("Miami")
    make_photo(denver), make_photo(denver), make_photo(denver), make_photo(miami)
    assert collection_mean() == {str(denver.pk): 0.75, str(miami.pk): 0.25}
    make_photo(miami)  # importing invalidates the cached mean
    assert collection_mean() == {str(denver.pk): 0.6, str(miami.pk): 0.4}


def test_it_shows_the_photos_that_moved_each_city_most():
    denver, miami = make_city("Denver"), make_city("Miami")
    version = make_model_version([denver, miami])
    strong = set_prediction(make_photo(denver), version, [0.95, 0.05])
    weak = set_prediction(make_photo(denver), version, [0.6, 0.4])
    other = set_prediction(make_photo(miami), version, [0.1, 0.9])
    user = UserSwipeData.objects.create()
    for photo in (weak, strong, other):
        services.record_swipe(user_data=user, photo_id=photo.pk, liked=True)
    ranked = {r.city: r for r in rank_cities_for(user, photos_per_city=3)}
    assert ranked[denver].pushed_up[:2] == [strong, weak]
    assert ranked[miami].pushed_up[0] == other
    assert ranked[denver].pushed_down == ranked[miami].pushed_down == []  # nothing disliked


actions = st.lists(
    st.one_of(
        st.tuples(st.just("swipe"), st.integers(0, 7), st.booleans()),
        st.tuples(st.just("undo"), st.just(0), st.just(False)),
        st.tuples(st.just("reset"), st.just(0), st.just(False)),
    ),
    max_size=25,
)


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=actions, rule=st.sampled_from(scoring.RULES))
def test_it_keeps_scores_equal_to_a_replay_of_the_log_whatever_the_interleaving(steps, rule, settings):
    settings.CITYVIBES_SCORING_RULE = rule
    if Photo.objects.count() < 8:
        cities = [make_city() for _ in range(3)]
        version = make_model_version(cities, name=f"prop-{rule}")
        for i in range(8 - Photo.objects.count()):
            photo = make_photo(cities[i % 3])
            if i % 2:
                set_prediction(photo, version, [0.2, 0.3, 0.5])
    photos = list(Photo.objects.order_by("pk")[:8])
    user = UserSwipeData.objects.create()
    expected_count = 0
    for action, index, liked in steps:
        if action == "swipe":
            try:
                outcome = services.record_swipe(user_data=user, photo_id=photos[index].pk, liked=liked)
                expected_count += outcome.created
            except services.AlreadySwiped:
                pass
        elif action == "undo":
            try:
                services.undo_last_swipe(user_data=user)
                expected_count -= 1
            except services.NothingToUndo:
                pass
        else:
            services.reset_swipes(user_data=user)
            expected_count = 0
    stored = UserSwipeData.objects.get(pk=user.pk)
    log = Swipe.objects.filter(user_data=user, retracted_at__isnull=True).order_by("id")
    assert stored.swipe_count == expected_count == log.count()
    assert (
        scoring.scores_differ(stored.scores, scoring.replay(s.contribution.as_dict() for s in log), tolerance=0) == []
    )


def test_it_explains_a_city_up_with_liked_photos_and_down_with_disliked_ones():
    denver, miami = make_city("Denver"), make_city("Miami")
    liked, noped = make_photo(denver), make_photo(miami)
    user = UserSwipeData.objects.create()
    services.record_swipe(user_data=user, photo_id=liked.pk, liked=True)
    services.record_swipe(user_data=user, photo_id=noped.pk, liked=False)  # also raises Denver under llr
    ranked = {r.city: r for r in rank_cities_for(user, photos_per_city=3)}
    assert ranked[denver].pushed_up == [liked]  # the dislike raised Denver too, but is no "like" to show
    assert ranked[denver].pushed_down == []
    assert ranked[miami].pushed_up == []
    assert ranked[miami].pushed_down == [noped]


def test_it_lists_the_earlier_of_two_equally_strong_photos_first():
    denver, miami = make_city("Denver"), make_city("Miami")
    version = make_model_version([denver, miami])
    first, second = (set_prediction(make_photo(denver), version, [0.8, 0.2]) for _ in range(2))
    set_prediction(make_photo(miami), version, [0.1, 0.9])  # so the Denver photos stand out from the mean
    user = UserSwipeData.objects.create()
    for photo in (first, second):
        services.record_swipe(user_data=user, photo_id=photo.pk, liked=True)
    ranked = {r.city: r for r in rank_cities_for(user, photos_per_city=3)}
    assert ranked[denver].pushed_up == [first, second]

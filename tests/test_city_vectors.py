"""Binary per-city vectors (swipes/vectors.py) and the migrations that moved them off JSON and shared them."""

import numpy as np
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from swipes.vectors import CityVector, replay


def vec(mapping: dict[int, float]) -> CityVector:
    return CityVector.of(list(mapping), list(mapping.values()))


def added_in_order(contributions: list[dict[str, float]]) -> dict[str, float]:
    """The plain-Python reference: each city's values added one after another, in log order."""
    total: dict[str, float] = {}
    for contribution in contributions:
        for city, value in contribution.items():
            total[city] = total.get(city, 0.0) + value
    return total


def test_bytes_round_trip_keeps_every_bit():
    original = vec({3: 0.1, 12: -2.5e-17, 7: 1 / 3})
    back = CityVector.from_bytes(original.cities_bytes(), original.values_bytes())
    assert back.as_dict() == original.as_dict() == {"3": 0.1, "12": -2.5e-17, "7": 1 / 3}


def test_from_bytes_refuses_mismatched_lengths():
    with pytest.raises(ValueError, match="2 cities but 1 values"):
        CityVector.from_bytes(np.array([1, 2], dtype="<i8").tobytes(), np.array([1.0]).tobytes())


def test_plus_aligns_cities_and_adds_missing_ones():
    total = vec({1: 1.0, 2: 2.0}).plus(vec({2: 0.5, 9: -1.0}))
    assert total.as_dict() == {"1": 1.0, "2": 2.5, "9": -1.0}
    assert total.cities.tolist() == [1, 2, 9]
    # Same cities in another order: still added city by city.
    shuffled = CityVector(np.array([9, 2, 1]), np.array([1.0, 1.0, 1.0]))
    assert total.plus(shuffled).as_dict() == {"1": 2.0, "2": 3.5, "9": 0.0}


def test_replay_adds_exactly_what_adding_city_by_city_in_log_order_adds():
    rng = np.random.default_rng(3)
    contributions = []
    for _ in range(200):
        cities = rng.choice(40, size=rng.integers(1, 40), replace=False) + 1
        contributions.append({str(c): float(v) for c, v in zip(cities, rng.normal(size=cities.size))})
    got = replay(CityVector.of([int(c) for c in d], list(d.values())) for d in contributions).as_dict()
    assert got == added_in_order(contributions)  # bit for bit


def test_top_ranks_best_first_and_breaks_ties_by_city_id():
    vector = vec({5: 1.0, 40: 3.0, 7: 3.0, 12: -1.0, 3: 1.0})
    assert vector.top(6) == [(7, 3.0), (40, 3.0), (3, 1.0), (5, 1.0), (12, -1.0)]
    assert vector.top(2) == [(7, 3.0), (40, 3.0)]
    assert CityVector.empty().top(3) == []


def test_values_for_reads_missing_cities_as_zero():
    vector = vec({4: 1.5, 8: -2.0})
    assert vector.values_for(np.array([8, 5, 4, 100])).tolist() == [-2.0, 0.0, 1.5, 0.0]
    assert CityVector.empty().values_for(np.array([1, 2])).tolist() == [0.0, 0.0]


def state_with_swipes_at(executor: MigrationExecutor, node: tuple[str, str]):
    """The models as the database holds them: swipes migrated back to `node`, the other apps at their latest."""
    others = [leaf for leaf in executor.loader.graph.leaf_nodes() if leaf[0] != "swipes"]
    return executor.loader.project_state([node, *others])


@pytest.mark.django_db(transaction=True)
def test_migration_moves_json_scores_to_binary_and_replays_them():
    executor = MigrationExecutor(connection)
    executor.migrate([("swipes", "0001_initial")])
    apps = state_with_swipes_at(executor, ("swipes", "0001_initial")).apps
    City = apps.get_model("photos", "City")
    Photo = apps.get_model("photos", "Photo")
    UserSwipeData = apps.get_model("swipes", "UserSwipeData")
    Swipe = apps.get_model("swipes", "Swipe")
    a = City.objects.create(name="A", country="US", slug="a-us")
    b = City.objects.create(name="B", country="US", slug="b-us")
    photos = [Photo.objects.create(content_hash=f"h{i}", queue_position=i, city=a if i % 2 else b) for i in range(3)]
    swiper = UserSwipeData.objects.create(scores={str(a.pk): 99.0})  # stale on purpose: the log decides
    logged = [{str(a.pk): 0.25, str(b.pk): -0.5}, {str(b.pk): 1.0 / 3.0}, {str(a.pk): 7.0}]
    for photo, contribution in zip(photos, logged):
        Swipe.objects.create(user_data=swiper, photo=photo, liked=True, contribution=contribution, rule="llr")
    Swipe.objects.filter(photo=photos[2]).update(retraction="undo", retracted_at="2026-01-01T00:00:00Z")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    from swipes.models import Swipe as CurrentSwipe
    from swipes.models import UserSwipeData as CurrentUserSwipeData

    stored = CurrentUserSwipeData.objects.get(pk=swiper.pk)
    assert stored.scores.as_dict() == added_in_order(logged[:2])  # the retracted swipe does not count
    assert [
        s.contribution.vector.as_dict() for s in CurrentSwipe.objects.filter(user_data_id=swiper.pk).order_by("id")
    ] == logged


@pytest.mark.django_db
def test_postgresql_stores_vectors_uncompressed():
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL storage setting; set DATABASE_URL=postgres://... (CI does)")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attrelid::regclass::text, attname, attstorage FROM pg_attribute"
            " WHERE attrelid IN ('swipes_userswipedata'::regclass, 'swipes_swipe'::regclass)"
            " AND attname LIKE 'score_%%'"
        )
        storage = {(table, column): kind for table, column, kind in cursor.fetchall()}
    assert storage == {
        ("swipes_userswipedata", "score_cities"): "e",
        ("swipes_userswipedata", "score_values"): "e",
    }


@pytest.mark.django_db(transaction=True)
def test_migration_to_shared_contributions_keeps_every_swipe_s_bytes_both_ways():
    before, after = [("swipes", "0003_score_vectors_stored_uncompressed")], [("swipes", "0004_shared_contributions")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    apps = state_with_swipes_at(executor, before[0]).apps
    City, Photo = apps.get_model("photos", "City"), apps.get_model("photos", "Photo")
    UserSwipeData, Swipe = apps.get_model("swipes", "UserSwipeData"), apps.get_model("swipes", "Swipe")
    a = City.objects.create(name="A", country="US", slug="a-us")
    photos = [Photo.objects.create(content_hash=f"h{i}", queue_position=i, city=a) for i in range(2)]
    vectors = [vec({a.pk: 0.25, 99: -0.5}), vec({a.pk: 1 / 3})]
    logged = [(0, 0, 0), (1, 0, 0), (1, 1, 1)]  # (swiper, photo, vector): the first vector twice
    swipers = [UserSwipeData.objects.create() for _ in range(2)]
    for swiper, photo, vector in logged:
        Swipe.objects.create(
            user_data=swipers[swiper],
            photo=photos[photo],
            liked=True,
            contribution_cities=vectors[vector].cities_bytes(),
            contribution_values=vectors[vector].values_bytes(),
            rule="llr",
        )

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    apps = state_with_swipes_at(executor, after[0]).apps
    Contribution, Swipe = apps.get_model("swipes", "Contribution"), apps.get_model("swipes", "Swipe")
    assert Contribution.objects.count() == 2  # one per distinct vector, not one per swipe
    migrated = list(Swipe.objects.order_by("id").select_related("contribution"))
    assert [(bytes(s.contribution.vector_cities), bytes(s.contribution.vector_values)) for s in migrated] == [
        (vectors[v].cities_bytes(), vectors[v].values_bytes()) for _, _, v in logged
    ]
    assert [bytes(s.contribution.digest) for s in migrated] == [vectors[v].digest() for _, _, v in logged]

    executor = MigrationExecutor(connection)
    executor.migrate(before)
    Swipe = state_with_swipes_at(executor, before[0]).apps.get_model("swipes", "Swipe")
    assert [(bytes(s.contribution_cities), bytes(s.contribution_values)) for s in Swipe.objects.order_by("id")] == [
        (vectors[v].cities_bytes(), vectors[v].values_bytes()) for _, _, v in logged
    ]

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

"""Reads for the swipe loop: photo vectors, the next photos for a swiper, ranked results."""

import threading
import time
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core import checks
from django.db import connection
from django.db.models import Exists, OuterRef

from ml.models import ModelVersion
from photos.models import SERVABLE_SQL, City, Photo
from photos.services import collection_version
from swipes import ordering, scoring
from swipes.models import Swipe, UserSwipeData
from swipes.score_vectors import CityVector


def photo_vector(photo: Photo, *, city_order: dict[int, list[int]] | None = None) -> dict[str, float] | None:
    """The photo's vector keyed by city id (as a string, like the score JSON).

    Predicted photos use their model's probabilities; labelled, unpredicted photos count as a
    one-hot vector of their label; anything else has no vector and is not served.
    """
    if photo.probabilities is not None and photo.model_version_id is not None:
        cities = (city_order or {}).get(photo.model_version_id)
        if cities is None:
            cities = photo.model_version.cities
        if len(cities) == len(photo.probabilities):
            return {str(city_id): float(p) for city_id, p in zip(cities, photo.probabilities)}
    if photo.city_id is not None:
        return {str(photo.city_id): 1.0}
    return None


def collection_mean() -> dict[str, float]:
    """Mean vector over every servable photo, from the photo matrix (per process, rebuilt when photos change)."""
    return photo_matrix().mean_by_key


def swipe_contribution_for(photo: Photo, liked: bool, *, rule: str) -> dict[str, float]:
    """What swiping this photo adds to each city's score under `rule`."""
    vector = photo_vector(photo)
    if vector is None:
        raise ValueError(f"photo {photo.pk} has no vector yet")
    if rule == "sum":
        keys = sorted(vector)
        delta = scoring.swipe_contribution(np.array([vector[k] for k in keys]), liked, rule="sum")
        return {k: float(v) for k, v in zip(keys, delta) if v != 0.0}
    mean = collection_mean()
    keys = sorted(set(mean) | set(vector))
    p = np.array([vector.get(k, 0.0) for k in keys])
    m = np.array([mean.get(k, 0.0) for k in keys])
    delta = scoring.swipe_contribution(p, liked, rule=rule, mean=m)
    return {k: float(v) for k, v in zip(keys, delta)}


def contribution_vector_for(photo_id: int, liked: bool, *, rule: str) -> tuple[CityVector, int] | None:
    """What swiping the photo adds (over every city of the collection) and its queue position.

    From the per-process photo matrix, so nothing is read from the database; None when the photo
    is not in the matrix (added since it was built, or not servable). The matrix holds the vectors
    as float32, which is what the CNN outputs.
    """
    matrix = photo_matrix()
    row = matrix.row_of.get(int(photo_id))
    if row is None or matrix.queue_positions is None:
        return None
    vector = matrix.vectors[row].astype(np.float64)
    delta = scoring.swipe_contribution(vector, liked, rule=rule, mean=None if rule == "sum" else matrix.mean)
    return CityVector(matrix.city_ids, delta), int(matrix.queue_positions[row])


def live_swipes(user_data: UserSwipeData | int):
    """The swiper's swipes that count (not undone or reset); the swiper or its id."""
    return Swipe.objects.filter(user_data=user_data, retracted_at__isnull=True)


PHOTO_ORDERS = ("smart", "queue")


def current_photo_order() -> str:
    order = settings.CITYVIBES_PHOTO_ORDER
    if order not in PHOTO_ORDERS:
        raise ValueError(f"CITYVIBES_PHOTO_ORDER={order!r} is not one of {', '.join(PHOTO_ORDERS)}")
    return order


@checks.register()
def check_photo_order(app_configs=None, **kwargs) -> list[checks.Error]:
    """`manage.py check` (and migrate, runserver) refuse an unknown order instead of a 500 per request."""
    try:
        current_photo_order()
    except ValueError as error:
        return [checks.Error(str(error), id="cityvibes.E002")]
    return []


# What a photo card shows (swipes.api.photo_payload): the next photos are read with these columns
# only, not the vector (K floats) or the city (a join the card does not use).
CARD_FIELDS = (
    *("id", "display_image", "thumbnail", "width", "height", "title"),
    *("author", "licence", "licence_url", "page_url", "source"),
)


def next_photos_for(user_data: UserSwipeData | None, *, n: int, after_swipe: bool = False) -> list[Photo]:
    """The next n photos for this swiper, in the configured order (CITYVIBES_PHOTO_ORDER).

    after_swipe: the swiper's last action was a swipe (not an undo), so there is no undone photo to
    bring back first and no need to ask the database for one.
    """
    if current_photo_order() == "smart":
        return _most_informative_photos(user_data, n=n, after_swipe=after_swipe)
    return _queued_photos(user_data, n=n)


def _queued_photos(user_data: UserSwipeData | None, *, n: int) -> list[Photo]:
    """The next n servable photos in queue order after the swiper's position, skipping swiped ones.

    Wraps around to the start of the queue, so photos added later are still shown.
    """
    queryset = Photo.objects.servable().only(*CARD_FIELDS)
    if user_data is None or user_data.pk is None:
        return list(queryset.order_by("queue_position")[:n])
    unswiped = queryset.exclude(Exists(live_swipes(user_data).filter(photo=OuterRef("pk")))).order_by("queue_position")
    ahead = list(unswiped.filter(queue_position__gt=user_data.queue_position)[:n])
    if len(ahead) < n:
        ahead += list(unswiped.filter(queue_position__lte=user_data.queue_position)[: n - len(ahead)])
    return ahead


def _most_informative_photos(user_data: UserSwipeData | None, *, n: int, after_swipe: bool = False) -> list[Photo]:
    """The n unswiped photos whose like/dislike would tell most about this swiper's city (swipes/ordering.py).

    Walks the ranking in growing chunks (sorting only as far as the chunk reaches) and asks the
    database only which photos of each chunk were swiped, so the cost does not grow with how many
    swipes the swiper has made.
    """
    matrix = photo_matrix()
    if len(matrix) == 0:
        return []
    known = user_data is not None and user_data.pk is not None
    scores = user_data.score_vector.values_for(matrix.city_ids) if known else np.zeros(len(matrix.keys))
    seed = (user_data.pk * 1_000_003 + user_data.swipe_count) if known else 0
    priorities = ordering.photo_priorities(matrix, scores, seed=seed)
    chosen: list[int] = []
    if known and not after_swipe:
        # Right after an undo, the undone photo comes back first, as the swipe page shows it.
        last = Swipe.objects.filter(user_data=user_data).order_by("-id").values("photo_id", "retraction").first()
        if (
            last
            and last["retraction"] == Swipe.Retraction.UNDO
            and not live_swipes(user_data).filter(photo_id=last["photo_id"]).exists()
        ):
            chosen.append(last["photo_id"])
    start, size = 0, max(4 * n, 32)
    previous_city = None
    while len(chosen) < n and start < len(priorities):
        rows = ordering.best_first(priorities, start + size)[start:]
        ids = [int(i) for i in matrix.photo_ids[rows]]
        swiped = set()
        if known:
            swiped = _swiped_among(user_data.pk, ids)
        fresh = [(i, int(c)) for i, c in zip(ids, matrix.top_city[rows]) if i not in swiped and i not in chosen]
        # The photos after the first are shown before the swiper's answer to the one before is known
        # (the page prefetches them), so two in a row never show the same city: the best photo, then
        # the best of another city, and so on.
        while fresh and len(chosen) < n:
            pick = next((f for f in fresh if f[1] != previous_city), fresh[0])
            chosen.append(pick[0])
            previous_city = pick[1]
            fresh.remove(pick)
        start, size = start + size, size * 4
    photos = _servable_cards(chosen)
    return [photos[i] for i in chosen if i in photos]


def _servable_cards(photo_ids: list[int]) -> dict[int, Photo]:
    """The servable photos among these, by id, with the card's columns only (re-read, so a photo
    hidden or deleted since the matrix was built is not shown).

    On PostgreSQL one plain statement: the same query through the ORM (servable, only, in_bulk) cost
    0.4 ms more CPU, 9% of a swipe that asks for its next 6 photos (256 cities x 5,000 photos).
    """
    if connection.vendor != "postgresql" or not photo_ids:
        return Photo.objects.servable().only(*CARD_FIELDS).in_bulk(photo_ids)
    table = connection.ops.quote_name(Photo._meta.db_table)
    columns = ", ".join(f"p.{connection.ops.quote_name(Photo._meta.get_field(f).column)}" for f in CARD_FIELDS)
    query = f"SELECT {columns} FROM {table} p WHERE p.id = ANY(%s) AND {SERVABLE_SQL}"
    return {photo.pk: photo for photo in Photo.objects.raw(query, [photo_ids])}


def _swiped_among(user_data_id: int, photo_ids: list[int]) -> set[int]:
    """Which of these photos the swiper has a live swipe of.

    On PostgreSQL one array parameter (`= ANY(%s)`), not an IN list of one parameter per photo:
    with 160 ids the IN list took 4 ms to plan and run, the array 0.2 ms, so a swiper who had
    already swiped most of the top-ranked photos made every fetch slower.
    """
    if connection.vendor != "postgresql":
        return set(live_swipes(user_data_id).filter(photo_id__in=photo_ids).values_list("photo_id", flat=True))
    table = connection.ops.quote_name(Swipe._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT photo_id FROM {table} WHERE user_data_id = %s AND retracted_at IS NULL AND photo_id = ANY(%s)",
            [user_data_id, photo_ids],
        )
        return {row[0] for row in cursor.fetchall()}


_matrix_lock = threading.Lock()
_matrix_cached: dict[str, object] = {}


def photo_matrix() -> ordering.PhotoMatrix:
    """Every servable photo's vector as one matrix, kept per process and rebuilt when photos change.

    Everything that changes photos bumps the collection version (imports, predictions, identify
    uploads, admin edits and deletes). A rebuild reads every vector (about a second for 10,000
    photos x 256 cities), so while photos keep changing (a harvest adds one every few seconds) the
    matrix is rebuilt at most every CITYVIBES_PHOTO_MATRIX_MAX_AGE seconds; in between the previous
    one is used. That is safe: photos are re-read as servable before they are shown, so a hidden or
    deleted photo is never served; a new photo just joins a little later. An empty matrix is
    rebuilt at once: the first photos of a server started before its collection (scripts/serve, then
    import_photos) show on the next request, not half a minute later; a rebuild then reads only them.
    """
    version = collection_version()
    with _matrix_lock:
        built = _matrix_cached.get("built", float("-inf"))
        stale = _matrix_cached.get("version") != version
        empty = "matrix" in _matrix_cached and len(_matrix_cached["matrix"]) == 0
        if stale and (empty or time.monotonic() - built >= settings.CITYVIBES_PHOTO_MATRIX_MAX_AGE):
            _matrix_cached.update(version=version, built=time.monotonic(), matrix=_build_photo_matrix())
        return _matrix_cached["matrix"]


def warm_up() -> str:
    """Build this process's photo matrix now (gunicorn's post_worker_init), so that no visitor's
    request waits for it after a deploy or a worker recycle; a one-line summary for the log."""
    started = time.monotonic()
    matrix = photo_matrix()
    return (
        f"photo matrix ready: {len(matrix.photo_ids)} photos x {len(matrix.keys)} cities "
        f"in {time.monotonic() - started:.2f} s"
    )


def forget_photo_matrix() -> None:
    """Drop this process's matrix: the next request rebuilds it (for a process that switches databases)."""
    with _matrix_lock:
        _matrix_cached.clear()


def _build_photo_matrix() -> ordering.PhotoMatrix:
    # The columns each photo's vector fills: a model version's city order, or its own label.
    layouts: dict[object, list[str]] = {
        pk: [str(c) for c in cities] for pk, cities in ModelVersion.objects.values_list("id", "cities")
    }
    rows: list[tuple[int, object, list[float]]] = []
    positions: list[int] = []
    queryset = Photo.objects.servable().order_by("pk")
    fields = ("pk", "city_id", "probabilities", "model_version_id", "queue_position")
    for pk, city_id, probabilities, model_version_id, position in queryset.values_list(*fields).iterator(
        chunk_size=2000
    ):
        layout = layouts.get(model_version_id)
        if probabilities is not None and layout is not None and len(layout) == len(probabilities):
            rows.append((pk, model_version_id, probabilities))
        elif city_id is not None:
            layouts.setdefault(("label", city_id), [str(city_id)])
            rows.append((pk, ("label", city_id), [1.0]))
        else:
            continue
        positions.append(position)
    used = {layout for _, layout, _ in rows}
    ordered = sorted({key for layout in used for key in layouts[layout]})
    column_of = {k: i for i, k in enumerate(ordered)}
    columns = {layout: np.array([column_of[k] for k in layouts[layout]], dtype=np.intp) for layout in used}
    vectors = np.zeros((len(rows), len(ordered)))  # float64: the mean is computed from these exact values
    for i, (_, layout, probabilities) in enumerate(rows):
        vectors[i, columns[layout]] = probabilities
    return ordering.PhotoMatrix.build([pk for pk, _, _ in rows], ordered, vectors, queue_positions=positions)


_cities_lock = threading.Lock()
_cities_cached: dict[str, object] = {"version": None, "cities": {}}


def cities_by_id(ids: list[int]) -> dict[int, City]:
    """These cities (those that exist), cached per process until the collection version changes.

    City saves and deletes bump the version (photos/signals.py), so a rename shows at once.
    """
    version = collection_version()
    with _cities_lock:
        if _cities_cached["version"] != version:
            _cities_cached.update(version=version, cities={})
        known: dict[int, City | None] = _cities_cached["cities"]  # None: no such city
        cities = {i: known[i] for i in ids if i in known}
    missing = [i for i in ids if i not in cities]
    if missing:
        found = City.objects.order_by().in_bulk(missing)
        cities.update({i: found.get(i) for i in missing})
        with _cities_lock:
            if _cities_cached["version"] == version:  # not if the version moved on meanwhile
                known.update({i: found.get(i) for i in missing})
    return {i: city for i, city in cities.items() if city is not None}


def top_cities_of(scores: CityVector, *, limit: int) -> list[tuple[City, float]]:
    """The best `limit` cities of a score vector that still exist, best first (no database read when cached)."""
    wanted = limit
    while True:
        ranked = scores.top(wanted)
        cities = cities_by_id([city_id for city_id, _ in ranked])
        shown = [(cities[city_id], value) for city_id, value in ranked if city_id in cities]
        if len(shown) >= limit or len(ranked) < wanted:
            return shown[:limit]
        wanted *= 4


@dataclass
class RankedCity:
    city: City
    score: float
    share: float  # 0..1, the bar length relative to the best absolute score
    pushed_up: list[Photo]  # liked photos that raised this city's score most
    pushed_down: list[Photo]  # disliked photos that lowered it most


def rank_cities_for(user_data: UserSwipeData | None, *, limit: int = 10, photos_per_city: int = 0) -> list[RankedCity]:
    """The swiper's cities, best first, optionally with the photos that moved each city most."""
    if user_data is None or not user_data.scores:
        return []
    ranked = scoring.rank_cities(user_data.scores)
    # Load only the cities shown, in rank order (spares cover deleted cities), not every scored city:
    # under the llr rule every city has a score, and each swipe answers with its top 5.
    cities: dict[int, City] = {}
    shown: list[tuple[str, float]] = []
    batch = max(2 * limit, 16)
    for start in range(0, len(ranked), batch):
        chunk = ranked[start : start + batch]
        cities.update(City.objects.order_by().in_bulk([int(k) for k, _ in chunk]))
        shown += [(k, v) for k, v in chunk if int(k) in cities]
        if len(shown) >= limit:
            break
    ranked = shown[:limit]
    biggest = max((abs(v) for _, v in ranked), default=0.0) or 1.0
    up: dict[str, list[Photo]] = {}
    down: dict[str, list[Photo]] = {}
    if photos_per_city and ranked:
        wanted = [k for k, _ in ranked]
        wanted_ids = np.array([int(k) for k in wanted], dtype=np.int64)
        raised: dict[str, list[tuple[float, int, Photo]]] = {k: [] for k in wanted}
        lowered: dict[str, list[tuple[float, int, Photo]]] = {k: [] for k in wanted}
        # What a person recognises as "why": the likes that added most to a city, and the
        # dislikes that took most away from it.
        for swipe in live_swipes(user_data).select_related("photo", "contribution"):
            for key, value in zip(wanted, swipe.contribution_vector.values_for(wanted_ids).tolist()):
                if swipe.liked and value > 0:
                    raised[key].append((value, -swipe.pk, swipe.photo))
                elif not swipe.liked and value < 0:
                    lowered[key].append((-value, -swipe.pk, swipe.photo))
        for found, target in ((raised, up), (lowered, down)):
            for key, items in found.items():
                items.sort(key=lambda item: (item[0], item[1]), reverse=True)
                target[key] = [photo for _, _, photo in items[:photos_per_city]]
    return [
        RankedCity(
            city=cities[int(k)],
            score=v,
            share=abs(v) / biggest,
            pushed_up=up.get(k, []),
            pushed_down=down.get(k, []),
        )
        for k, v in ranked
    ]


@dataclass
class Confidence:
    leader: City
    runner_up: City
    leader_share: float  # how likely the leader is the swiper's city, given the swipes (0..1)
    swipes_to_settle: int | None  # 0: settled; None: not within the next 50 well-chosen swipes

    @property
    def leader_percent(self) -> int:
        """For people: 1..99, never a claim of certainty from a handful of swipes."""
        return int(min(99, max(1, round(100 * self.leader_share))))


def confidence_for(user_data: UserSwipeData | None) -> Confidence | None:
    """How settled the race between the swiper's two leading cities is (swipes/ordering.py)."""
    if user_data is None or not user_data.scores:
        return None
    matrix = photo_matrix()
    row_of = matrix.row_of
    swiped = [row_of[pk] for pk in live_swipes(user_data).values_list("photo_id", flat=True) if pk in row_of]
    settled = ordering.settle_estimate(matrix, user_data.scores, swiped_rows=np.array(swiped, dtype=np.int64))
    if settled is None:
        return None
    cities = City.objects.in_bulk([int(settled.leader), int(settled.runner_up)])
    if len(cities) < 2:
        return None
    return Confidence(
        leader=cities[int(settled.leader)],
        runner_up=cities[int(settled.runner_up)],
        leader_share=settled.leader_share,
        swipes_to_settle=settled.swipes_to_settle,
    )

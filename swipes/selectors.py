"""Reads for the swipe loop: photo vectors, what a swipe adds, the next photos, ranked results."""

from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core import checks
from django.db.models import Exists, OuterRef, QuerySet

from photos.models import City, Photo
from photos.serializers import CARD_FIELDS
from swipes import ordering, scoring
from swipes.models import Swipe, UserSwipeData
from swipes.photo_matrix import photo_matrix
from swipes.vectors import CityVector


def live_swipes(swiper: UserSwipeData | int) -> QuerySet[Swipe]:
    """The swiper's swipes that count (not undone or reset); the swiper or its id."""
    return Swipe.objects.filter(user_data=swiper, retracted_at__isnull=True)


def swipe_photo(photo_id: int, *, servable: bool = False) -> Photo | None:
    """The photo with what photo_vector needs (its model version's city order, not its metrics)."""
    photos = Photo.objects.servable() if servable else Photo.objects.all()
    return photos.select_related("model_version").defer("model_version__metrics").filter(pk=photo_id).first()


def photo_vector(photo: Photo) -> CityVector | None:
    """How much the photo looks like each city.

    Predicted photos use their model's probabilities; labelled, unpredicted photos count as a
    one-hot vector of their label; anything else has no vector and is not served.
    """
    version = photo.model_version
    if photo.probabilities is not None and version is not None and len(version.cities) == len(photo.probabilities):
        return CityVector.of([int(c) for c in version.cities], photo.probabilities)
    if photo.city_id is not None:
        return CityVector.of([photo.city_id], [1.0])
    return None


def contribution_for(photo: Photo, liked: bool, *, rule: str) -> CityVector | None:
    """What swiping this photo adds to each city's score under `rule` (None: the photo has no vector).

    Under llr over every city of the collection, against its mean vector (the photo matrix's).
    """
    vector = photo_vector(photo)
    if vector is None:
        return None
    if rule == "sum":
        return CityVector(vector.cities, scoring.swipe_contribution(vector.values, liked, rule=rule))
    matrix = photo_matrix()
    cities = np.union1d(matrix.city_ids, vector.cities)
    mean = CityVector(matrix.city_ids, matrix.mean).values_for(cities)
    return CityVector(cities, scoring.swipe_contribution(vector.values_for(cities), liked, rule=rule, mean=mean))


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


def next_photos_for(swiper: UserSwipeData | None, *, n: int) -> list[Photo]:
    """The next n photos for this swiper (None: a visitor who has not swiped), never one already
    swiped, in the configured order (CITYVIBES_PHOTO_ORDER). Right after an undo, the undone photo
    comes first. Only the columns a card shows are read."""
    if current_photo_order() == "smart":
        return _most_informative_photos(swiper, n=n)
    return _queued_photos(swiper, n=n)


def _queued_photos(swiper: UserSwipeData | None, *, n: int) -> list[Photo]:
    """The next n servable photos in queue order after the swiper's position, skipping swiped ones.

    Wraps around to the start of the queue, so photos added later are still shown.
    """
    queryset = Photo.objects.servable().select_related("city").only(*CARD_FIELDS).order_by("queue_position")
    if swiper is None:
        return list(queryset[:n])
    unswiped = queryset.exclude(Exists(live_swipes(swiper).filter(photo=OuterRef("pk"))))
    ahead = list(unswiped.filter(queue_position__gt=swiper.queue_position)[:n])
    if len(ahead) < n:
        ahead += list(unswiped.filter(queue_position__lte=swiper.queue_position)[: n - len(ahead)])
    return ahead


def _most_informative_photos(swiper: UserSwipeData | None, *, n: int) -> list[Photo]:
    """The n unswiped photos whose like or nope would tell most about this swiper's city (swipes/ordering.py)."""
    matrix = photo_matrix()
    if len(matrix) == 0:
        return []
    scores = swiper.scores.values_for(matrix.city_ids) if swiper else np.zeros(len(matrix.city_ids))
    seed = swiper.pk * 1_000_003 + swiper.swipe_count if swiper else 0
    priorities = ordering.photo_priorities(matrix, scores, seed=seed)
    chosen = []
    if swiper is not None:
        priorities[_swiped_rows(swiper, matrix)] = -np.inf
        undone = _photo_just_undone(swiper)
        if undone is not None:
            chosen.append(undone)
            if undone in matrix.row_of:
                priorities[matrix.row_of[undone]] = -np.inf
    # The photos after the first are shown before the swiper's answer to the one before is known (the
    # page prefetches them), so two in a row never show the same city while another city is left.
    previous_city = None
    candidates = [int(i) for i in ordering.best_first(priorities, 8 * n + 32) if priorities[i] > -np.inf]
    while candidates and len(chosen) < n:
        pick = next((i for i in candidates if matrix.top_city[i] != previous_city), candidates[0])
        candidates.remove(pick)
        chosen.append(int(matrix.photo_ids[pick]))
        previous_city = matrix.top_city[pick]
    cards = Photo.objects.servable().select_related("city").only(*CARD_FIELDS).in_bulk(chosen)
    return [cards[pk] for pk in chosen if pk in cards]


def _swiped_rows(swiper: UserSwipeData, matrix: ordering.PhotoMatrix) -> np.ndarray:
    """The matrix rows of the photos the swiper has a live swipe of."""
    rows = [matrix.row_of.get(pk) for pk in live_swipes(swiper).values_list("photo_id", flat=True)]
    return np.array([row for row in rows if row is not None], dtype=np.int64)


def _photo_just_undone(swiper: UserSwipeData) -> int | None:
    """The photo of the swiper's last action, if that action was an undo (the swipe page shows it again)."""
    last = Swipe.objects.filter(user_data=swiper).order_by("-id").values("photo_id", "retraction").first()
    if last is None or last["retraction"] != Swipe.Retraction.UNDO:
        return None
    if live_swipes(swiper).filter(photo_id=last["photo_id"]).exists():
        return None  # swiped again since
    return last["photo_id"]


def top_cities(scores: CityVector, *, limit: int) -> list[tuple[City, float]]:
    """The best `limit` cities of a score vector that still exist, best first."""
    ranked = scores.top(len(scores))
    shown: list[tuple[City, float]] = []
    for start in range(0, len(ranked), max(2 * limit, 16)):  # in batches: skip deleted cities
        chunk = ranked[start : start + max(2 * limit, 16)]
        cities = City.objects.in_bulk([city_id for city_id, _ in chunk])
        shown += [(cities[city_id], value) for city_id, value in chunk if city_id in cities]
        if len(shown) >= limit:
            break
    return shown[:limit]


@dataclass
class RankedCity:
    city: City
    score: float
    share: float  # 0..1, the bar length relative to the best absolute score
    pushed_up: list[Photo]  # liked photos that raised this city's score most
    pushed_down: list[Photo]  # disliked photos that lowered it most


def rank_cities_for(swiper: UserSwipeData | None, *, limit: int = 10, photos_per_city: int = 0) -> list[RankedCity]:
    """The swiper's cities, best first, optionally with the photos that moved each city most."""
    if swiper is None or not len(swiper.scores):
        return []
    ranked = top_cities(swiper.scores, limit=limit)
    biggest = max((abs(score) for _, score in ranked), default=0.0) or 1.0
    movers = _movers(swiper, [city.pk for city, _ in ranked], photos_per_city) if photos_per_city else {}
    return [RankedCity(city, score, abs(score) / biggest, *movers.get(city.pk, ([], []))) for city, score in ranked]


def _movers(swiper: UserSwipeData, city_ids: list[int], n: int) -> dict[int, tuple[list[Photo], list[Photo]]]:
    """Per city: the n liked photos that added most to its score, and the n noped ones that took most away.

    Equally strong photos: the later swipe first."""
    wanted = np.array(city_ids, dtype=np.int64)
    up: dict[int, list] = {c: [] for c in city_ids}
    down: dict[int, list] = {c: [] for c in city_ids}
    for swipe in live_swipes(swiper).select_related("photo", "contribution"):
        for city, value in zip(city_ids, swipe.contribution.vector.values_for(wanted).tolist()):
            if swipe.liked and value > 0:
                up[city].append((value, swipe.pk, swipe.photo))
            elif not swipe.liked and value < 0:
                down[city].append((-value, swipe.pk, swipe.photo))
    return {c: (_strongest(up[c], n), _strongest(down[c], n)) for c in city_ids}


def _strongest(moves: list[tuple[float, int, Photo]], n: int) -> list[Photo]:
    return [photo for _, _, photo in sorted(moves, key=lambda move: move[:2], reverse=True)[:n]]


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


def confidence_for(swiper: UserSwipeData | None) -> Confidence | None:
    """How settled the race between the swiper's two leading cities is (swipes/ordering.py)."""
    if swiper is None or not len(swiper.scores):
        return None
    matrix = photo_matrix()
    scores = swiper.scores.values_for(matrix.city_ids)
    settled = ordering.settle_estimate(matrix, scores, swiped_rows=_swiped_rows(swiper, matrix))
    if settled is None:
        return None
    leader, runner_up = int(matrix.city_ids[settled.leader]), int(matrix.city_ids[settled.runner_up])
    cities = City.objects.in_bulk([leader, runner_up])
    if len(cities) < 2:
        return None
    return Confidence(cities[leader], cities[runner_up], settled.leader_share, settled.swipes_to_settle)

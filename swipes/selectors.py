"""Reads for the swipe loop: photo vectors, the next photos for a swiper, ranked results."""

from dataclasses import dataclass

import numpy as np
from django.core.cache import cache
from django.db.models import Exists, OuterRef

from ml.models import ModelVersion
from photos.models import City, Photo
from photos.services import COLLECTION_CACHE_KEY
from swipes import scoring
from swipes.models import Swipe, UserSwipeData

MEAN_CACHE_SECONDS = 300


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
    """Mean vector over every servable photo (cached; invalidated when photos change)."""
    version = cache.get_or_set(COLLECTION_CACHE_KEY, 1, timeout=None)
    key = f"swipes:collection-mean:{version}"
    mean = cache.get(key)
    if mean is None:
        mean = _compute_collection_mean()
        cache.set(key, mean, timeout=MEAN_CACHE_SECONDS)
    return mean


def _compute_collection_mean() -> dict[str, float]:
    orders = dict(ModelVersion.objects.values_list("id", "cities"))
    totals: dict[str, float] = {}
    count = 0
    rows = Photo.objects.servable().values_list("city_id", "probabilities", "model_version_id")
    for city_id, probabilities, model_version_id in rows.iterator(chunk_size=2000):
        cities = orders.get(model_version_id)
        if probabilities is not None and cities is not None and len(cities) == len(probabilities):
            for cid, p in zip(cities, probabilities):
                totals[str(cid)] = totals.get(str(cid), 0.0) + float(p)
        elif city_id is not None:
            totals[str(city_id)] = totals.get(str(city_id), 0.0) + 1.0
        else:
            continue
        count += 1
    return {k: v / count for k, v in totals.items()} if count else {}


def swipe_contribution_for(photo: Photo, liked: bool, *, rule: str) -> dict[str, float]:
    """What swiping this photo adds to each city's score under `rule`."""
    vector = photo_vector(photo)
    if vector is None:
        raise ValueError(f"photo {photo.pk} has no vector yet")
    if rule == "sum":
        keys = sorted(vector)
        delta = scoring.swipe_contribution(np.array([vector[k] for k in keys]), liked, rule="sum")
        return {k: float(v) for k, v in zip(keys, delta) if v != 0.0}
    mean = dict(collection_mean())
    keys = sorted(set(mean) | set(vector))
    p = np.array([vector.get(k, 0.0) for k in keys])
    m = np.array([mean.get(k, 0.0) for k in keys])
    delta = scoring.swipe_contribution(p, liked, rule=rule, mean=m)
    return {k: float(v) for k, v in zip(keys, delta)}


def live_swipes(user_data: UserSwipeData):
    return Swipe.objects.filter(user_data=user_data, retracted_at__isnull=True)


def next_photos_for(user_data: UserSwipeData | None, *, n: int) -> list[Photo]:
    """The next n servable photos in queue order after the swiper's position, skipping swiped ones.

    Wraps around to the start of the queue, so photos added later are still shown.
    """
    queryset = Photo.objects.servable().select_related("city")
    if user_data is None or user_data.pk is None:
        return list(queryset.order_by("queue_position")[:n])
    unswiped = queryset.exclude(Exists(live_swipes(user_data).filter(photo=OuterRef("pk")))).order_by("queue_position")
    ahead = list(unswiped.filter(queue_position__gt=user_data.queue_position)[:n])
    if len(ahead) < n:
        ahead += list(unswiped.filter(queue_position__lte=user_data.queue_position)[: n - len(ahead)])
    return ahead


@dataclass
class RankedCity:
    city: City
    score: float
    share: float  # 0..1, the bar length relative to the best absolute score
    top_photos: list[Photo]


def rank_cities_for(user_data: UserSwipeData | None, *, limit: int = 10, photos_per_city: int = 0) -> list[RankedCity]:
    """The swiper's cities, best first, optionally with the photos that moved each city most."""
    if user_data is None or not user_data.scores:
        return []
    ranked = scoring.rank_cities(user_data.scores)
    city_ids = [int(k) for k, _ in ranked]
    cities = City.objects.in_bulk(city_ids)
    ranked = [(k, v) for k, v in ranked if int(k) in cities][:limit]
    biggest = max((abs(v) for _, v in ranked), default=0.0) or 1.0
    movers: dict[str, list[Photo]] = {}
    if photos_per_city and ranked:
        wanted = {k for k, _ in ranked}
        by_city: dict[str, list[tuple[float, int, Photo]]] = {k: [] for k in wanted}
        # The liked photos that added most to each city: what a person recognises as "why".
        for swipe in live_swipes(user_data).filter(liked=True).select_related("photo"):
            for key in wanted:
                value = swipe.contribution.get(key, 0.0)
                if value > 0:
                    by_city[key].append((value, -swipe.pk, swipe.photo))
        for key, items in by_city.items():
            items.sort(key=lambda item: (item[0], item[1]), reverse=True)
            movers[key] = [photo for _, _, photo in items[:photos_per_city]]
    return [
        RankedCity(city=cities[int(k)], score=v, share=abs(v) / biggest, top_photos=movers.get(k, []))
        for k, v in ranked
    ]

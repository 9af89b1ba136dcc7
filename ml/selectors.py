"""Reads for the ml app: the active model, city similarity, and photos that look like a given one."""

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from django.core.cache import cache

from ml.models import ModelVersion, PhotoEmbedding
from ml.similarity import (
    class_means,
    confusion_rates,
    far_distance,
    most_counted,
    nearest,
    nearest_other_distances,
    ranked_neighbours,
    symmetric_similarity,
    unit_rows,
)
from photos.models import City, Photo
from photos.services import collection_version

SIMILARITY_CACHE_SECONDS = 300
# A photo "explains" a similarity when the model gives the other city at least this probability.
SHARED_MIN_PROBABILITY = 0.05


def active_model_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(is_active=True).first()


def labelled_photos():
    """The photos training learns from: visible, with a city label."""
    return Photo.objects.filter(hidden=False, city__isnull=False)


def training_fingerprint(pairs: Iterable[tuple[int, int]] | None = None) -> str:
    """What a training run reads, as a digest of its (photo id, city id) pairs (default: the labelled
    photos now). A model whose metrics["trained_on"] equals it would learn nothing new from a re-run."""
    if pairs is None:
        pairs = labelled_photos().order_by("pk").values_list("pk", "city_id")
    digest = hashlib.sha256()
    for photo_id, city_id in pairs:
        digest.update(f"{photo_id}:{city_id};".encode())
    return digest.hexdigest()[:32]


def model_is_current(version: ModelVersion | None) -> bool:
    """Whether `version` was trained on exactly the photos that are labelled now."""
    return version is not None and (version.metrics or {}).get("trained_on") == training_fingerprint()


def _collection_token() -> str:
    """In-process caches key on the collection version: it starts from the clock after the shared
    cache is cleared (a Redis flush, every test), so nothing stale is served."""
    return str(collection_version())


# --- City similarity ------------------------------------------------------------------------


@dataclass(frozen=True)
class CitySimilarity:
    """City-to-city similarity for one model version, in the order of `model_version.cities`."""

    city_ids: list[int]
    means: np.ndarray  # K x K: means[a, b] = mean probability of city b over photos labelled a (NaN: no data)
    matrix: np.ndarray  # K x K symmetric similarity (see ml.similarity.symmetric_similarity)
    photo_counts: np.ndarray  # (K,) labelled photos behind each row
    basis: str  # "predictions" (photo vectors), "confusion" (metrics fallback) or "none"

    def index_of(self, city_id: int) -> int | None:
        try:
            return self.city_ids.index(city_id)
        except ValueError:
            return None


def city_similarity_for(model_version: ModelVersion) -> CitySimilarity:
    """City similarity from the visible, labelled photos this version predicted (cached).

    Falls back to the version's validation + test confusion matrix when none of its photos has
    been predicted yet (`manage.py predict_photos` not run). Training photos are included: the
    model is surer of them, which damps the numbers but keeps the ranking meaningful.
    """
    key = f"ml:city-similarity:{model_version.pk}:{collection_version()}"
    found = cache.get(key)
    if found is None:
        found = _compute_city_similarity(model_version)
        cache.set(key, found, timeout=SIMILARITY_CACHE_SECONDS)
    return found


def _compute_city_similarity(model_version: ModelVersion) -> CitySimilarity:
    city_ids = [int(c) for c in model_version.cities or []]
    k = len(city_ids)
    index = {city_id: i for i, city_id in enumerate(city_ids)}
    vectors, labels = [], []
    rows = Photo.objects.filter(
        model_version=model_version, hidden=False, city_id__in=city_ids, probabilities__isnull=False
    ).values_list("city_id", "probabilities")
    for city_id, probabilities in rows.iterator(chunk_size=2000):
        if isinstance(probabilities, list) and len(probabilities) == k:
            vectors.append(probabilities)
            labels.append(index[city_id])
    if vectors:
        means, counts = class_means(np.array(vectors, dtype=np.float64), np.array(labels), k)
        return CitySimilarity(city_ids, means, symmetric_similarity(means), counts, "predictions")

    confusion = (model_version.metrics or {}).get("confusion") or {}
    order = [int(c) for c in confusion.get("order", [])]
    total = np.zeros((k, k))
    for part in ("val", "test"):
        matrix = np.asarray(confusion.get(part) or [], dtype=np.float64)
        if matrix.shape != (len(order), len(order)):
            continue
        for i, a in enumerate(order):
            for j, b in enumerate(order):
                if a in index and b in index:
                    total[index[a], index[b]] += matrix[i, j]
    if total.sum() > 0:
        means = confusion_rates(total)
        return CitySimilarity(city_ids, means, symmetric_similarity(means), total.sum(axis=1), "confusion")
    empty = np.full((k, k), np.nan)
    return CitySimilarity(city_ids, empty, empty, np.zeros(k), "none")


@dataclass
class SimilarCity:
    city: City
    score: float  # symmetric similarity, 0..1
    city_looks_like_other: float | None  # mean probability of the other city over the page city's photos
    other_looks_like_city: float | None  # mean probability of the page city over the other city's photos
    # Photos of the page's city that the model rates high for this other city, best first ...
    city_photos: list[Photo] = field(default_factory=list)
    # ... and photos of this other city that the model rates high for the page's city.
    other_photos: list[Photo] = field(default_factory=list)

    @property
    def shared_photos(self) -> list[Photo]:
        return self.city_photos + self.other_photos

    @property
    def score_percent(self) -> float:
        return self.score * 100

    @property
    def city_looks_like_other_percent(self) -> float | None:
        return None if self.city_looks_like_other is None else self.city_looks_like_other * 100

    @property
    def other_looks_like_city_percent(self) -> float | None:
        return None if self.other_looks_like_city is None else self.other_looks_like_city * 100


def similar_cities(
    city: City, *, limit: int = 5, photos_per_side: int = 3, model_version: ModelVersion | None = None
) -> list[SimilarCity]:
    """The cities most like `city` by the (active) model, best first, with the photos that show why.

    `city_looks_like_other` is how much, on average, the model sees the other city in this
    city's photos; `other_looks_like_city` the reverse. Empty when there is no model, or the
    model does not know the city.
    """
    version = model_version or active_model_version()
    if version is None:
        return []
    similarity = city_similarity_for(version)
    i = similarity.index_of(city.pk)
    if i is None:
        return []
    neighbours = ranked_neighbours(similarity.matrix, i, len(similarity.city_ids))
    cities = City.objects.in_bulk([similarity.city_ids[j] for j, _ in neighbours])
    neighbours = [(j, score) for j, score in neighbours if similarity.city_ids[j] in cities][:limit]
    if not neighbours:
        return []

    def direction(a: int, b: int) -> float | None:
        value = similarity.means[a, b]
        return None if np.isnan(value) else float(value)

    result = [
        SimilarCity(
            city=cities[similarity.city_ids[j]],
            score=score,
            city_looks_like_other=direction(i, j),
            other_looks_like_city=direction(j, i),
        )
        for j, score in neighbours
    ]
    if photos_per_side > 0:
        _attach_shared_photos(version, similarity, i, [j for j, _ in neighbours], result, photos_per_side)
    return result


def _attach_shared_photos(
    version: ModelVersion, similarity: CitySimilarity, i: int, js: list[int], result: list[SimilarCity], n: int
) -> None:
    k = len(similarity.city_ids)
    wanted = [similarity.city_ids[i]] + [similarity.city_ids[j] for j in js]
    rows: dict[int, list[tuple[int, list[float]]]] = {city_id: [] for city_id in wanted}
    queryset = Photo.objects.filter(
        model_version=version, hidden=False, city_id__in=wanted, probabilities__isnull=False
    ).values_list("id", "city_id", "probabilities")
    for photo_id, city_id, probabilities in queryset.iterator(chunk_size=2000):
        if isinstance(probabilities, list) and len(probabilities) == k:
            rows[city_id].append((photo_id, probabilities))

    def best(city_id: int, column: int) -> list[int]:
        scored = [(p[column], photo_id) for photo_id, p in rows[city_id] if p[column] >= SHARED_MIN_PROBABILITY]
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [photo_id for _, photo_id in scored[:n]]

    picks = [(best(similarity.city_ids[i], j), best(similarity.city_ids[j], i)) for j in js]
    photos = Photo.objects.select_related("city").in_bulk([pk for pair in picks for ids in pair for pk in ids])
    for item, (ours, theirs) in zip(result, picks):
        item.city_photos = [photos[pk] for pk in ours if pk in photos]
        item.other_photos = [photos[pk] for pk in theirs if pk in photos]


@dataclass(frozen=True)
class HeatmapData:
    matrix: np.ndarray
    names: list[str]
    basis: str


def similarity_heatmap_data(model_version: ModelVersion, *, max_cities: int = 60) -> HeatmapData | None:
    """The similarity matrix and city names to plot, limited to the most photographed cities."""
    similarity = city_similarity_for(model_version)
    if similarity.basis == "none" or not similarity.city_ids:
        return None
    keep = most_counted(similarity.photo_counts, max_cities)
    ids = [similarity.city_ids[i] for i in keep]
    cities = City.objects.in_bulk(ids)
    names = [cities[city_id].display_name if city_id in cities else f"city {city_id}" for city_id in ids]
    return HeatmapData(similarity.matrix[np.ix_(keep, keep)], names, similarity.basis)


def confusion_heatmap_data(model_version: ModelVersion, *, max_cities: int = 60) -> HeatmapData | None:
    """The validation + test confusion as rates (row: the photos' city; column: the city named), for
    the cities with the most validation + test photos. None when the version has none."""
    confusion = (model_version.metrics or {}).get("confusion") or {}
    order = [int(c) for c in confusion.get("order", [])]
    total = np.zeros((len(order), len(order)))
    for part in ("val", "test"):
        matrix = np.asarray(confusion.get(part) or [], dtype=np.float64)
        if matrix.shape == total.shape:
            total += matrix
    if not order or total.sum() == 0:
        return None
    keep = most_counted(total.sum(axis=1), max_cities)
    cities = City.objects.in_bulk([order[i] for i in keep])
    names = [cities[order[i]].display_name if order[i] in cities else f"city {order[i]}" for i in keep]
    return HeatmapData(confusion_rates(total)[np.ix_(keep, keep)], names, "confusion")


# --- Photos that look like a given one ----------------------------------------------------


@dataclass(frozen=True)
class SimilarPhoto:
    photo: Photo
    similarity: float  # cosine similarity, -1..1 (0..1 for probability vectors)


@dataclass(frozen=True)
class _PhotoIndex:
    photo_ids: np.ndarray  # (N,)
    unit_vectors: np.ndarray  # (N, D) float32, rows of unit length


_indexes: "OrderedDict[tuple, _PhotoIndex]" = OrderedDict()
_indexes_lock = threading.Lock()
_MAX_INDEXES = 4


def _cached_index(key: tuple, build) -> _PhotoIndex:
    key = (*key, _collection_token())
    with _indexes_lock:
        if key in _indexes:
            _indexes.move_to_end(key)
            return _indexes[key]
    index = build()
    with _indexes_lock:
        _indexes[key] = index
        while len(_indexes) > _MAX_INDEXES:
            _indexes.popitem(last=False)
    return index


def _candidate_photos():
    """Photos offered as look-alikes: visible and labelled (so each one names a city)."""
    return Photo.objects.filter(hidden=False, city__isnull=False)


def _embedding_index(backbone: str, image_size: int) -> _PhotoIndex:
    hashes = dict(_candidate_photos().values_list("content_hash", "id").iterator(chunk_size=5000))
    ids, vectors = [], []
    rows = PhotoEmbedding.objects.filter(backbone=backbone, image_size=image_size, view=0).values_list(
        "content_hash", "vector"
    )
    for content_hash, vector in rows.iterator(chunk_size=2000):
        if content_hash in hashes:
            ids.append(hashes[content_hash])
            vectors.append(np.frombuffer(bytes(vector), dtype="<f4"))
    if not vectors or len({len(v) for v in vectors}) != 1:
        return _PhotoIndex(np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32))
    return _PhotoIndex(np.array(ids, dtype=np.int64), unit_rows(np.stack(vectors)))


def _probability_index(model_version: ModelVersion) -> _PhotoIndex:
    k = len(model_version.cities or [])
    ids, vectors = [], []
    rows = (
        _candidate_photos()
        .filter(model_version=model_version, probabilities__isnull=False)
        .values_list("id", "probabilities")
    )
    for photo_id, probabilities in rows.iterator(chunk_size=2000):
        if isinstance(probabilities, list) and len(probabilities) == k:
            ids.append(photo_id)
            vectors.append(probabilities)
    if not vectors:
        return _PhotoIndex(np.zeros(0, dtype=np.int64), np.zeros((0, k), dtype=np.float32))
    return _PhotoIndex(np.array(ids, dtype=np.int64), unit_rows(np.array(vectors, dtype=np.float32)))


def similar_photos(
    *,
    model_version: ModelVersion,
    features: np.ndarray | None = None,
    probabilities: np.ndarray | None = None,
    limit: int = 6,
) -> tuple[list[SimilarPhoto], str]:
    """The visible, labelled photos nearest to a query, best first, and the space searched.

    With `features` (the query's stock backbone features for `model_version`'s backbone and
    image size), the search runs over the photos' cached view-0 PhotoEmbedding vectors: visual
    look-alikes ("appearance"). Without features, or when no photo has a cached embedding, it
    runs over the probability vectors this version predicted ("vibe").

    Scale: exact cosine search over a matrix held in each process's memory, rebuilt when the
    collection version changes: N x D float32, i.e. 5 KB per photo for 1280-d features (50 MB
    and a few milliseconds per query at 10,000 photos). Past ~100,000 photos, use an
    approximate index (pgvector, FAISS) instead.
    """
    space, index = "appearance", None
    if features is not None:
        key = ("embedding", model_version.backbone, model_version.image_size)
        index = _cached_index(key, lambda: _embedding_index(model_version.backbone, model_version.image_size))
        query = features
        if not len(index.photo_ids) or index.unit_vectors.shape[1] != np.asarray(features).size:
            index = None
    if index is None:
        if probabilities is None:
            return [], "none"
        space, query = "vibe", probabilities
        key = ("probabilities", model_version.pk, model_version.name)
        index = _cached_index(key, lambda: _probability_index(model_version))
        if not len(index.photo_ids) or index.unit_vectors.shape[1] != np.asarray(probabilities).size:
            return [], "none"
    # Ask for a few more than needed: a photo may have been deleted or hidden since the index was built.
    found = nearest(query, index.unit_vectors, limit + 5, normalised=True)
    ranked = [(int(index.photo_ids[i]), score) for i, score in found]
    photos = _candidate_photos().select_related("city").in_bulk([photo_id for photo_id, _ in ranked])
    result = [SimilarPhoto(photos[photo_id], score) for photo_id, score in ranked if photo_id in photos]
    return result[:limit], space


# --- How close an upload is to the collection ---------------------------------------------

# An upload is far from the collection when its nearest photo is farther than 95 % of the collection's
# photos are from their own nearest neighbour. Cosine distances of Lite0 features, measured here: the
# same place cropped or re-toned 0.02-0.33, unrelated photos 0.53-0.93. Hence the floor (a tight
# collection of near-copies must not call every new photo of its places strange) and the cap (a sparse
# collection must still call a flower strange).
FAR_PERCENTILE = 95
FAR_FLOOR = 0.35
FAR_CAP = 0.6


@dataclass(frozen=True)
class Closeness:
    distance: float  # cosine distance (1 - cosine similarity) from the upload to the nearest collection photo
    far: float  # the collection's own yardstick: a nearest distance above it is unusual
    photos: int  # how many collection photos it was compared with

    @property
    def is_far(self) -> bool:
        return self.distance > self.far


_far_distances: "OrderedDict[tuple, float]" = OrderedDict()


def _cached_far_distance(key: tuple, index: _PhotoIndex) -> float:
    key = (*key, _collection_token())
    with _indexes_lock:
        if key in _far_distances:
            return _far_distances[key]
    distances = nearest_other_distances(index.unit_vectors)
    found = far_distance(distances, percentile=FAR_PERCENTILE, floor=FAR_FLOOR, cap=FAR_CAP)
    with _indexes_lock:
        _far_distances[key] = found
        while len(_far_distances) > _MAX_INDEXES:
            _far_distances.popitem(last=False)
    return found


def appearance_closeness(*, model_version: ModelVersion, features: np.ndarray) -> Closeness | None:
    """How far `features` (stock backbone features of an upload) are from the visible, labelled
    photos' cached view-0 embeddings, with the collection's own yardstick; None when no photo has
    an embedding for this backbone and size (nothing to compare with)."""
    key = ("embedding", model_version.backbone, model_version.image_size)
    index = _cached_index(key, lambda: _embedding_index(model_version.backbone, model_version.image_size))
    query = np.asarray(features, dtype=np.float32).reshape(1, -1)
    if not len(index.photo_ids) or index.unit_vectors.shape[1] != query.shape[1]:
        return None
    distance = 1.0 - float((index.unit_vectors @ unit_rows(query)[0]).max())
    return Closeness(max(0.0, distance), _cached_far_distance(key, index), len(index.photo_ids))

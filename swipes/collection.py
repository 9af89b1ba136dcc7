"""The collection as the swipe loop sees it, kept per process: every servable photo, the cities, and
the taste model built from their vectors (swipes/taste.py).

Rebuilt when photos change: everything that changes photos bumps the collection version (imports,
predictions, identify uploads, admin edits and deletes). A rebuild reads every vector (a second or
so for 10,000 photos x 256 cities), so while photos keep changing (a harvest adds one every few
seconds) it is rebuilt at most every CITYVIBES_PHOTO_MATRIX_MAX_AGE seconds and the previous one is
used in between. That is safe: photos are re-read as servable before they are shown or swiped, so a
hidden or deleted photo is never served; a new photo just joins a little later. An empty collection
is rebuilt at once, so the first photos of a server started before its first import show at once.

Memory per process: the taste model only (no photos x cities matrix is kept), about 7 MB at 10,000
photos x 256 cities and about 80 MB at 100,000 x 1,000 (docs/design.md, "Scale").
"""

import threading
import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from django.conf import settings

from ml.models import ModelVersion
from photos.models import Photo
from photos.services import collection_version
from swipes import taste

_lock = threading.Lock()
_cached: dict[str, object] = {}


@dataclass(frozen=True)
class Collection:
    photo_ids: np.ndarray  # (N,) int64: the model's rows
    city_ids: np.ndarray  # (K,) int64: the model's city columns
    model: taste.TasteModel | None  # None for an empty collection

    def __len__(self) -> int:
        return len(self.photo_ids)

    @cached_property
    def row_of(self) -> dict[int, int]:
        return {int(pk): row for row, pk in enumerate(self.photo_ids)}

    @cached_property
    def column_of(self) -> dict[int, int]:
        return {int(city): column for column, city in enumerate(self.city_ids)}

    def history(self, swipes: list[tuple[int, bool]]) -> list[tuple[int, bool]]:
        """(photo id, liked) pairs as (row, liked), leaving out photos the model does not hold."""
        return [(self.row_of[pk], liked) for pk, liked in swipes if pk in self.row_of]


def current_collection() -> Collection:
    """This process's collection, rebuilt first if it changed (see the module docstring)."""
    version = collection_version()
    with _lock:
        built = _cached.get("built", float("-inf"))
        stale = _cached.get("version") != version
        empty = "collection" in _cached and len(_cached["collection"]) == 0
        if stale and (empty or time.monotonic() - built >= settings.CITYVIBES_PHOTO_MATRIX_MAX_AGE):
            _cached.update(version=version, built=time.monotonic(), collection=_build())
        return _cached["collection"]


def forget_collection() -> None:
    """Drop this process's collection: the next request rebuilds it (for a process that switches databases)."""
    with _lock:
        _cached.clear()


def warm_up() -> str:
    """Build the collection now (gunicorn's post_worker_init), so that no visitor's request waits for
    it after a deploy or a worker recycle; a one-line summary for the log."""
    started = time.monotonic()
    collection = current_collection()
    return (
        f"collection ready: {len(collection)} photos x {len(collection.city_ids)} cities "
        f"in {time.monotonic() - started:.2f} s"
    )


def _build() -> Collection:
    """Predicted photos fill their model version's columns; labelled, unpredicted ones their city's (1.0)."""
    layouts = {pk: [int(c) for c in cities] for pk, cities in ModelVersion.objects.values_list("id", "cities")}
    rows: list[tuple[int, int | None, list[int], list[float]]] = []
    fields = ("pk", "city_id", "probabilities", "model_version_id")
    for pk, city_id, probabilities, version_id in (
        Photo.objects.servable().order_by("pk").values_list(*fields).iterator(chunk_size=2000)
    ):
        layout = layouts.get(version_id)
        if probabilities is not None and layout is not None and len(layout) == len(probabilities):
            rows.append((pk, city_id, layout, probabilities))
        elif city_id is not None:
            rows.append((pk, city_id, [city_id], [1.0]))
    city_ids = sorted({city for _, label, layout, _ in rows for city in (*layout, label) if city is not None})
    column = {city: i for i, city in enumerate(city_ids)}
    vectors = np.zeros((len(rows), len(city_ids)), dtype=np.float32)
    for i, (_, _, layout, values) in enumerate(rows):
        vectors[i, [column[city] for city in layout]] = values
    labels = np.array([column.get(label, -1) if label is not None else -1 for _, label, _, _ in rows], dtype=np.int64)
    model = taste.build_model(vectors, labels) if rows else None
    return Collection(np.array([pk for pk, *_ in rows], dtype=np.int64), np.array(city_ids, dtype=np.int64), model)

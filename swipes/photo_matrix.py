"""Every servable photo's vector as one matrix, kept per process (swipes/ordering.py picks from it).

Rebuilt when photos change: everything that changes photos bumps the collection version (imports,
predictions, identify uploads, admin edits and deletes). A rebuild reads every vector (about a second
for 10,000 photos x 256 cities), so while photos keep changing (a harvest adds one every few
seconds) it is rebuilt at most every CITYVIBES_PHOTO_MATRIX_MAX_AGE seconds and the previous one is
used in between. That is safe: photos are re-read as servable before they are shown or swiped, so a
hidden or deleted photo is never served; a new photo just joins a little later. An empty matrix is
rebuilt at once, so the first photos of a server started before its first import show at once.
"""

import threading
import time

import numpy as np
from django.conf import settings

from ml.models import ModelVersion
from photos.models import Photo
from photos.services import collection_version
from swipes.ordering import PhotoMatrix

_lock = threading.Lock()
_cached: dict[str, object] = {}


def photo_matrix() -> PhotoMatrix:
    """This process's matrix, rebuilt first if the collection changed (see the module docstring)."""
    version = collection_version()
    with _lock:
        built = _cached.get("built", float("-inf"))
        stale = _cached.get("version") != version
        empty = "matrix" in _cached and len(_cached["matrix"]) == 0
        if stale and (empty or time.monotonic() - built >= settings.CITYVIBES_PHOTO_MATRIX_MAX_AGE):
            _cached.update(version=version, built=time.monotonic(), matrix=_build())
        return _cached["matrix"]


def forget_photo_matrix() -> None:
    """Drop this process's matrix: the next request rebuilds it (for a process that switches databases)."""
    with _lock:
        _cached.clear()


def warm_up() -> str:
    """Build the matrix now (gunicorn's post_worker_init), so that no visitor's request waits for it
    after a deploy or a worker recycle; a one-line summary for the log."""
    started = time.monotonic()
    matrix = photo_matrix()
    return (
        f"photo matrix ready: {len(matrix)} photos x {len(matrix.city_ids)} cities "
        f"in {time.monotonic() - started:.2f} s"
    )


def _build() -> PhotoMatrix:
    """Predicted photos fill their model version's columns; labelled, unpredicted ones their city's (1.0)."""
    layouts = {pk: [int(c) for c in cities] for pk, cities in ModelVersion.objects.values_list("id", "cities")}
    rows: list[tuple[int, list[int], list[float]]] = []
    fields = ("pk", "city_id", "probabilities", "model_version_id")
    for pk, city_id, probabilities, version_id in (
        Photo.objects.servable().order_by("pk").values_list(*fields).iterator(chunk_size=2000)
    ):
        layout = layouts.get(version_id)
        if probabilities is not None and layout is not None and len(layout) == len(probabilities):
            rows.append((pk, layout, probabilities))
        elif city_id is not None:
            rows.append((pk, [city_id], [1.0]))
    city_ids = sorted({city for _, layout, _ in rows for city in layout})
    column = {city: i for i, city in enumerate(city_ids)}
    vectors = np.zeros((len(rows), len(city_ids)))  # float64: the mean is computed from these exact values
    for i, (_, layout, values) in enumerate(rows):
        vectors[i, [column[city] for city in layout]] = values
    return PhotoMatrix.build([pk for pk, _, _ in rows], city_ids, vectors)

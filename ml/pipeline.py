"""Feed a model without making it wait: decode and preprocess the next batch while this one runs.

Pillow releases the GIL while decoding and resizing, so a background thread overlaps
with TensorFlow's own threads.
"""

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
from PIL import Image

from photos.models import Photo

T = TypeVar("T")


@dataclass
class Batch(Generic[T]):
    items: list[T]  # the items whose arrays loaded
    arrays: np.ndarray | None  # (len(items), size, size, 3) float32, or None if nothing loaded
    failed: list[tuple[T, str]]  # items that could not be loaded, with the reason


def open_for_model(photo: Photo, *, short_side: int) -> Image.Image:
    """The photo's display rendition, decoded at reduced scale when JPEG allows (much faster)."""
    field = photo.display_image if photo.display_image else photo.image
    with field.open("rb") as f:
        img = Image.open(f)
        img.draft("RGB", (short_side, short_side))
        img.load()
    return img.convert("RGB")


def _load_batch(items: Sequence[T], load: Callable[[T], np.ndarray]) -> Batch[T]:
    ok, arrays, failed = [], [], []
    for item in items:
        try:
            arrays.append(load(item))
            ok.append(item)
        except (OSError, ValueError, SyntaxError) as error:  # missing file, broken image
            failed.append((item, f"{type(error).__name__}: {error}"))
    return Batch(ok, np.stack(arrays) if arrays else None, failed)


def prefetched_batches(
    items: Sequence[T],
    load: Callable[[T], np.ndarray],
    *,
    batch_size: int,
    workers: int = 2,
    first_batch_size: int | None = None,
) -> Iterator[Batch[T]]:
    """Yield batches in order; the next batches are loaded in background threads meanwhile.

    A small first batch gets the model going sooner while the following ones load.
    """
    first = min(first_batch_size or batch_size, batch_size)
    chunks = [items[:first]] + [items[i : i + batch_size] for i in range(first, len(items), batch_size)]
    chunks = [chunk for chunk in chunks if chunk]
    if not chunks:
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: list[Future] = [pool.submit(_load_batch, chunk, load) for chunk in chunks[:workers]]
        next_chunk = workers
        while pending:
            batch = pending.pop(0).result()
            if next_chunk < len(chunks):
                pending.append(pool.submit(_load_batch, chunks[next_chunk], load))
                next_chunk += 1
            yield batch

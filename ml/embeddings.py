"""Backbone features per photo, computed once and cached in the database.

Keyed by (content hash, backbone, image size, view): retraining a head over hundreds of
cities reads these instead of running the backbone again.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ml.augment import augmented_view
from ml.backbones import feature_extractor, get_backbone
from ml.models import PhotoEmbedding
from ml.pipeline import open_for_model, prefetched_batches
from photos.models import Photo


@dataclass
class EmbeddingReport:
    computed: int = 0
    cached: int = 0
    unreadable: list[tuple[int, str]] = field(default_factory=list)  # (photo id, reason)


def view_seed(content_hash: str, view: int) -> int:
    return int(content_hash[:12], 16) * 31 + view


def photo_array(photo: Photo, *, backbone_name: str, image_size: int, view: int = 0) -> np.ndarray:
    """Decode, optionally augment, and preprocess one photo for the backbone."""
    backbone = get_backbone(backbone_name)
    img = open_for_model(photo, short_side=round(image_size * 256 / 224))
    if view:
        img = augmented_view(img, seed=view_seed(photo.content_hash, view))
    return backbone.preprocess(img, image_size)


def ensure_embeddings(
    photos: Sequence[Photo],
    *,
    backbone_name: str,
    image_size: int,
    views: int = 1,
    batch_size: int = 32,
    on_progress: Callable[[int], None] | None = None,
) -> EmbeddingReport:
    """Compute and store whatever (photo, view) features are missing. Safe to interrupt and re-run."""
    report = EmbeddingReport()
    hashes = {p.content_hash for p in photos}
    have = set(
        PhotoEmbedding.objects.filter(
            backbone=backbone_name, image_size=image_size, content_hash__in=hashes, view__lt=views
        ).values_list("content_hash", "view")
    )
    todo = [(p, v) for p in photos for v in range(views) if (p.content_hash, v) not in have]
    report.cached = len(photos) * views - len(todo)
    if on_progress and report.cached:
        on_progress(report.cached)
    if not todo:
        return report
    model = feature_extractor(backbone_name, input_size=image_size)

    def load(item: tuple[Photo, int]) -> np.ndarray:
        photo, view = item
        return photo_array(photo, backbone_name=backbone_name, image_size=image_size, view=view)

    failed_photos: set[int] = set()
    for batch in prefetched_batches(todo, load, batch_size=batch_size):
        for (photo, _view), reason in batch.failed:
            if photo.pk not in failed_photos:
                failed_photos.add(photo.pk)
                report.unreadable.append((photo.pk, reason))
        if batch.arrays is not None:
            features = model.predict_on_batch(batch.arrays)
            photos_, views_ = zip(*batch.items)
            store_embeddings(photos_, features, backbone_name=backbone_name, image_size=image_size, views=views_)
            report.computed += len(batch.items)
        if on_progress:
            on_progress(len(batch.items) + len(batch.failed))
    return report


def store_embeddings(
    photos: Sequence[Photo],
    features: np.ndarray,
    *,
    backbone_name: str,
    image_size: int,
    views: Sequence[int] | None = None,
) -> None:
    features = np.asarray(features, dtype="<f4")
    PhotoEmbedding.objects.bulk_create(
        [
            PhotoEmbedding(
                content_hash=photo.content_hash,
                backbone=backbone_name,
                image_size=image_size,
                view=views[i] if views is not None else 0,
                vector=features[i].tobytes(),
            )
            for i, photo in enumerate(photos)
        ],
        ignore_conflicts=True,
    )


def load_embeddings(
    hashes: Sequence[str], *, backbone_name: str, image_size: int, view: int = 0
) -> dict[str, np.ndarray]:
    rows = PhotoEmbedding.objects.filter(
        backbone=backbone_name, image_size=image_size, view=view, content_hash__in=set(hashes)
    ).values_list("content_hash", "vector")
    return {h: np.frombuffer(bytes(v), dtype="<f4") for h, v in rows}

"""The quality gate every incoming photo passes (import, harvest, identify's "add my photo").

Two parts, run by photos.services.ingest_photo after the image is decoded:

1. Near-duplicates: a photo whose perceptual hash (photos.quality.perceptual_hash) differs from
   a stored photo's in at most settings.CITYVIBES_NEAR_DUPLICATE_BITS of 64 bits is the same
   picture resized, recompressed, watermarked or re-toned, and is refused.
2. The checks listed in settings.CITYVIBES_PHOTO_CHECKS (dotted paths, like
   AUTH_PASSWORD_VALIDATORS), in order: each takes the decoded picture and returns None or a
   one-line reason. photos.quality.looks_drawn measures image statistics; ml.checks adds the
   offline backbone's ImageNet head. photos does not import ml: the setting names it.
"""

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from django.conf import settings
from django.utils.module_loading import import_string
from PIL import Image

from photos.models import Photo
from photos.quality import hamming_distances

PhotoCheck = Callable[[Image.Image], str | None]


@lru_cache(maxsize=4)
def _load_checks(paths: tuple[str, ...]) -> tuple[PhotoCheck, ...]:
    return tuple(import_string(path) for path in paths)


def photo_checks() -> tuple[PhotoCheck, ...]:
    return _load_checks(tuple(getattr(settings, "CITYVIBES_PHOTO_CHECKS", ())))


def near_duplicate_of(perceptual_hash: int) -> tuple[int, int] | None:
    """(photo id, differing bits) of the stored photo nearest to this hash, if within the threshold.

    Scale: one query reads every stored hash (8 bytes a photo) and NumPy compares them all at once
    (XOR and a bit count): about 1 MB and a few tens of milliseconds at 100,000 photos, small
    next to a download. Past a million photos, index the hash in bands instead (split the 64 bits
    into threshold + 1 bands; two hashes within the threshold agree exactly on at least one band).
    """
    limit = getattr(settings, "CITYVIBES_NEAR_DUPLICATE_BITS", 6)
    if limit < 0:
        return None
    same = Photo.objects.filter(perceptual_hash=perceptual_hash).values_list("id", flat=True).first()
    if same is not None:
        return same, 0
    rows = list(Photo.objects.exclude(perceptual_hash=None).values_list("id", "perceptual_hash"))
    if not rows:
        return None
    ids, hashes = np.array(rows, dtype=np.int64).T
    distances = hamming_distances(perceptual_hash, hashes)
    nearest = int(np.argmin(distances))
    return (int(ids[nearest]), int(distances[nearest])) if distances[nearest] <= limit else None


def gate_reason(image: Image.Image, *, perceptual_hash: int) -> str | None:
    """Why the gate refuses this picture (one line), or None when it may enter the collection."""
    duplicate = near_duplicate_of(perceptual_hash)
    if duplicate is not None:
        photo_id, bits = duplicate
        return f"near-duplicate: photo {photo_id} differs in {bits} of 64 hash bits"
    for check in photo_checks():
        reason = check(image)
        if reason:
            return reason
    return None

"""'Which city is this photo?': classify an uploaded image with the active model.

The upload is validated like every other image (size, pixel count, decompression bombs, HTML),
classified, compared with the collection, and stored only when the uploader asks for it.
"""

import logging
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction

from ml.inference import classifier_for
from ml.models import ModelVersion
from ml.selectors import SimilarPhoto, active_model_version, similar_photos
from photos.images import ImageRejected, jpeg_bytes, open_checked
from photos.models import City, Photo
from photos.services import PhotoCredit, bump_collection_version, ingest_photo

logger = logging.getLogger(__name__)

NO_MODEL_MESSAGE = (
    "no city model is active yet: staff can train one with `manage.py train_model --activate` "
    "(then `manage.py predict_photos`)"
)


class IdentifyError(Exception):
    """The photo cannot be identified; str(error) is a one-line reason, `status` the HTTP status."""

    status = 400


class UploadRejected(IdentifyError):
    status = 400


class NoActiveModel(IdentifyError):
    status = 503


@dataclass(frozen=True)
class CityGuess:
    city: City
    probability: float

    @property
    def percent(self) -> float:
        return self.probability * 100


@dataclass
class IdentifyResult:
    model_version: ModelVersion
    cities: list[CityGuess]  # best first
    similar_photos: list[SimilarPhoto]
    similarity_basis: str  # "appearance" (backbone features), "vibe" (probability vectors) or "none"
    saved_photo: Photo | None
    preview_jpeg: bytes  # a thumbnail of the upload, to show it back (it has no URL unless saved)


def identify_image(*, data: bytes, top_k: int = 5, save: bool = False, similar_limit: int = 6) -> IdentifyResult:
    """The top_k most likely cities for an image and the collection's most similar photos.

    Raises UploadRejected for anything that is not a sane image and NoActiveModel when no
    classifier is available. Nothing is written unless `save` is true; then the image enters
    the collection through photos.services.ingest_photo, unlabelled, with source "upload".
    """
    try:
        checked = open_checked(
            data,
            max_bytes=settings.CITYVIBES_MAX_UPLOAD_BYTES,
            max_pixels=settings.CITYVIBES_MAX_IMAGE_PIXELS,
            # Decoded at reduced size (a saved upload is kept at that size too): a 190 KB PNG of
            # 7000x7000 pixels would otherwise take 600 MB. README, "Security", gives the bound.
            max_side=settings.CITYVIBES_DISPLAY_MAX_SIDE,
            max_full_decode_pixels=settings.CITYVIBES_IDENTIFY_MAX_PIXELS,
        )
    except ImageRejected as error:
        raise UploadRejected(str(error)) from None

    version = active_model_version()
    if version is None or not version.artifact:
        raise NoActiveModel(NO_MODEL_MESSAGE)
    try:
        classifier = classifier_for(version)
    except (OSError, ValueError):
        logger.exception("cannot load the active model version %s", version.name)
        raise NoActiveModel(f"the active model {version.name} cannot be loaded: staff must retrain it") from None

    # The collection's vectors were computed from the display rendition: look at the upload the same way.
    image = checked.image.copy()
    image.thumbnail((settings.CITYVIBES_DISPLAY_MAX_SIDE, settings.CITYVIBES_DISPLAY_MAX_SIDE))
    features = classifier.features(classifier.preprocess(image)[None])
    probabilities = classifier.predict_features(features)[0]

    cities = City.objects.in_bulk([int(c) for c in version.cities])
    guesses = [
        CityGuess(cities[int(version.cities[i])], float(probabilities[i]))
        for i in np.argsort(-probabilities, kind="stable")
        if int(version.cities[i]) in cities
    ][: max(1, top_k)]

    # Cached embeddings are stock-backbone features: a fine-tuned backbone's features are not comparable.
    found, basis = similar_photos(
        model_version=version,
        features=None if classifier.fine_tuned else features[0],
        probabilities=probabilities,
        limit=similar_limit,
    )
    saved = _save_upload(checked.image, version, probabilities) if save else None
    preview = jpeg_bytes(image, max_side=settings.CITYVIBES_THUMB_MAX_SIDE, quality=80)
    return IdentifyResult(version, guesses, found, basis, saved, preview)


def hold_uploads_for_review() -> bool:
    """Saved uploads stay hidden from swipers until staff un-hide them (default on)."""
    return bool(getattr(settings, "CITYVIBES_HOLD_UPLOADS_FOR_REVIEW", True))


@transaction.atomic
def _save_upload(image, version: ModelVersion, probabilities: np.ndarray) -> Photo:
    """Store the upload, re-encoded so no camera metadata (GPS position, owner) is kept."""
    result = ingest_photo(data=jpeg_bytes(image, quality=92), city=None, credit=PhotoCredit(source="upload"))
    if result.status == "rejected":
        raise UploadRejected(result.reason)
    photo = result.photo
    if result.status == "imported":
        photo.probabilities = [round(float(p), 6) for p in probabilities]
        photo.model_version = version
        photo.hidden = hold_uploads_for_review()
        photo.save(update_fields=["probabilities", "model_version", "hidden"])
        bump_collection_version()
    return photo

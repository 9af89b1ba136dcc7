"""'Which city is this photo?': classify an uploaded image with the active model.

The upload is validated like every other image (size, pixel count, decompression bombs, HTML),
classified, compared with the collection, and stored only when the uploader asks for it. When it
is unlike everything in the collection, the answer says so (judge_confidence).
"""

import hashlib
import logging
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import transaction

from ml.backbones import extract_features
from ml.imagenet import class_names, imagenet_head
from ml.inference import classifier_for
from ml.models import ModelVersion
from ml.scene import clearly_not_a_place, scene_words
from ml.selectors import Closeness, SimilarPhoto, active_model_version, appearance_closeness, similar_photos
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
    """str(error) is the technical reason (kept for the API's detail); `plain` says it to a person."""

    status = 400

    def __init__(self, reason: str):
        super().__init__(reason)
        self.plain = plain_words(reason)


def plain_words(reason: str) -> str:
    """A refusal reason (photos.images.ImageRejected, or the quality gate's) in words a person understands."""
    if reason.startswith("file too large"):
        return f"That picture is too large: the limit is {settings.CITYVIBES_MAX_UPLOAD_BYTES // (1024 * 1024)} MB."
    if reason.startswith("too many pixels for"):  # identify's own, lower limit for images it must decode in full
        megapixels = settings.CITYVIBES_IDENTIFY_MAX_PIXELS / 1_000_000
        return (
            f"That picture is too large to look at here: save it as a JPEG photo, or make it smaller than "
            f"{megapixels:g} megapixels."
        )
    if reason.startswith(("too many pixels", "decompression bomb")):
        megapixels = settings.CITYVIBES_MAX_IMAGE_PIXELS / 1_000_000
        return f"That picture is too large: at most {megapixels:g} megapixels. Try a smaller copy."
    if reason.startswith("broken image"):
        return "That picture seems damaged or cut off. Try saving it again as a JPEG or PNG photo."
    if reason.startswith("near-duplicate"):
        return "That photo, or one very like it, is already in the collection."
    if reason.startswith("not a photo"):
        return "That looks like a drawing, map, logo or text rather than a photo of a place, so it was not added."
    return "That file isn't a picture we can open — try a JPEG or PNG photo."


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
    confident: bool = True  # False: the upload is unlike everything in the collection (judge_confidence)
    doubt: str = ""  # why not confident, in plain words
    scene: list = field(default_factory=list)  # what it shows: [[word, probability], ...] (ml.scene)


# A top ImageNet class that is an animal, a plant, food or a graphic, at least this probable,
# counts against an upload (with it, it must be twice as close to the collection).
NOT_A_PLACE_MIN_PROBABILITY = 0.3


@dataclass(frozen=True)
class Confidence:
    confident: bool
    doubt: str = ""


def judge_confidence(closeness: Closeness | None, imagenet: np.ndarray | None) -> Confidence:
    """Does the upload look like something in the collection, so that naming a city means anything?

    The softmax over cities always sums to 1, so a flower still gets a "most likely city". Instead:

    1. Distance in the backbone's feature space (cosine distance of stock features) from the upload
       to its nearest collection photo, against the collection's own yardstick: the distance within
       which 95 % of the collection's photos find their own nearest neighbour (kept between 0.35 and
       0.6, ml.selectors.FAR_*). Farther than that, the upload is less like the collection than
       almost any of its own photos are: not confident.
    2. The backbone's ImageNet head: when its top class is clearly not a place (an animal, a plant,
       food or a graphic, with at least 30 %), the upload must be twice as close (a daisy far from
       every street is not a city; a collection photo of a cat in a street, uploaded again, still is).

    Without embeddings to compare with, only the ImageNet test applies.
    """
    odd_class = None
    if imagenet is not None:
        odd_class = clearly_not_a_place(imagenet, min_probability=NOT_A_PLACE_MIN_PROBABILITY)
    looks_like = f"It looks more like a {class_names()[odd_class]} than a place." if odd_class is not None else ""
    if closeness is None:
        return Confidence(odd_class is None, looks_like)
    limit = closeness.far / 2 if odd_class is not None else closeness.far
    if closeness.distance <= limit:
        return Confidence(True)
    unlike = "It is less like any photo in the collection than the collection's own photos are like each other."
    return Confidence(False, " ".join(part for part in (looks_like, unlike) if part))


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
    pixels = classifier.preprocess(image)[None]
    features = classifier.features(pixels)
    probabilities = classifier.predict_features(features)[0]
    # Cached embeddings, and the ImageNet head, go with the stock backbone: a fine-tuned one's features differ.
    stock = features
    if classifier.fine_tuned:
        stock = extract_features(version.backbone, pixels, input_size=version.image_size)
    confidence, scene = _how_sure(version, stock[0])

    cities = City.objects.in_bulk([int(c) for c in version.cities])
    guesses = [
        CityGuess(cities[int(version.cities[i])], float(probabilities[i]))
        for i in np.argsort(-probabilities, kind="stable")
        if int(version.cities[i]) in cities
    ][: max(1, top_k)]

    found, basis = similar_photos(
        model_version=version, features=stock[0], probabilities=probabilities, limit=similar_limit
    )
    saved = _save_upload(checked.image, version, probabilities, scene) if save else None
    preview = jpeg_bytes(image, max_side=settings.CITYVIBES_THUMB_MAX_SIDE, quality=80)
    return IdentifyResult(version, guesses, found, basis, saved, preview, confidence.confident, confidence.doubt, scene)


def _how_sure(version: ModelVersion, stock_features: np.ndarray) -> tuple[Confidence, list]:
    """How sure the answer is (judge_confidence), and what the upload shows (ml.scene)."""
    head = imagenet_head(version.backbone)
    imagenet = head.probabilities(stock_features) if head is not None else None
    closeness = appearance_closeness(model_version=version, features=stock_features)
    scene = scene_words(imagenet) if imagenet is not None else []
    return judge_confidence(closeness, imagenet), scene


def hold_uploads_for_review() -> bool:
    """Saved uploads stay hidden from swipers until staff un-hide them (default on)."""
    return bool(getattr(settings, "CITYVIBES_HOLD_UPLOADS_FOR_REVIEW", True))


def _save_upload(image, version: ModelVersion, probabilities: np.ndarray, scene: list) -> Photo:
    """Store the upload, re-encoded so no camera metadata (GPS position, owner) is kept.

    It passes the quality gate like every photo; a refusal is kept among the ingest rejects under
    "upload sha256:<hash>" and raised as UploadRejected.
    """
    data = jpeg_bytes(image, quality=92)
    reference = f"upload sha256:{hashlib.sha256(data).hexdigest()}"
    with transaction.atomic():
        result = ingest_photo(data=data, city=None, credit=PhotoCredit(source="upload"), reference=reference)
        if result.status == "imported":
            photo = result.photo
            photo.probabilities = [round(float(p), 6) for p in probabilities]
            photo.model_version = version
            photo.scene = scene
            photo.hidden = hold_uploads_for_review()
            photo.save(update_fields=["probabilities", "model_version", "scene", "hidden"])
            bump_collection_version()
    if result.status == "rejected":
        raise UploadRejected(result.reason)
    return result.photo

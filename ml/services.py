"""Writes for the ml app: activating, training and batch-predicting model versions."""

import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ml.backbones import UnknownBackbone, get_backbone
from ml.embeddings import EmbeddingReport, ensure_embeddings, load_embeddings, photo_array, store_embeddings
from ml.imagenet import imagenet_head
from ml.inference import classifier_for
from ml.models import ModelVersion
from ml.pipeline import prefetched_batches
from ml.scene import scene_words
from ml.selectors import labelled_photos, training_fingerprint
from ml.training import build_head, classification_metrics, stratified_split, train_head
from photos.models import Photo
from photos.services import bump_collection_version

# progress("stage name", total) -> advance(n)
ProgressFactory = Callable[[str, int], Callable[[int], None]]


def no_progress(stage: str, total: int) -> Callable[[int], None]:
    return lambda n: None


class TrainingError(Exception):
    """Training cannot start or finish; str(error) is a one-line reason."""


@transaction.atomic
def activate_model_version(*, model_version: ModelVersion) -> ModelVersion:
    """Make this the one active version (the others are deactivated in the same transaction)."""
    ModelVersion.objects.select_for_update().filter(is_active=True).exclude(pk=model_version.pk).update(is_active=False)
    model_version.is_active = True
    model_version.save(update_fields=["is_active"])
    bump_collection_version()
    return model_version


@dataclass(frozen=True)
class TrainingOptions:
    backbone: str = "efficientnet_lite0"
    image_size: int | None = None  # None: the backbone's own input size
    epochs: int = 30
    batch_size: int = 32
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    seed: int = 0
    min_photos_per_city: int = 5
    augment_views: int = 2  # augmented copies per training photo, on top of the photo itself
    dropout: float = 0.2
    fine_tune: bool = False
    fine_tune_layers: int = 20
    fine_tune_epochs: int = 2
    activate: bool = False
    name: str = ""


@dataclass
class TrainingOutcome:
    version: ModelVersion
    activated: bool
    activation_reason: str
    unreadable: list[tuple[int, str]] = field(default_factory=list)
    skipped_cities: dict[str, int] = field(default_factory=dict)


def train_model_version(*, options: TrainingOptions, progress: ProgressFactory = no_progress) -> TrainingOutcome:
    """Train a classifier head (optionally fine-tune the backbone) and record it as a ModelVersion."""
    started = time.monotonic()
    try:
        backbone = get_backbone(options.backbone)
    except UnknownBackbone as error:
        raise TrainingError(str(error)) from None
    image_size = options.image_size or backbone.input_size
    if not 0 <= options.val_fraction < 1 or not 0 <= options.test_fraction < 1:
        raise TrainingError("validation and test fractions must be between 0 and 1")
    if options.val_fraction + options.test_fraction >= 0.9:
        raise TrainingError("validation + test fractions leave too little to train on")

    labelled = list(labelled_photos().select_related("city").only(*TRAINING_FIELDS).order_by("pk"))
    photos, skipped, report = _embedded_training_photos(labelled, options, backbone.name, image_size, progress)
    cities = sorted({p.city for p in photos}, key=lambda c: (c.name, c.region, c.country, c.pk))
    index = {city.pk: i for i, city in enumerate(cities)}
    labels = np.array([index[p.city_id] for p in photos])
    split = stratified_split(
        labels, val_fraction=options.val_fraction, test_fraction=options.test_fraction, seed=options.seed
    )
    features = _feature_matrix(photos, backbone.name, image_size, view=0)
    head, history = _trained_head(photos, labels, split, features, len(cities), backbone, image_size, options, progress)

    extractor = None
    if options.fine_tune:
        extractor = _fine_tune(
            photos, labels, split, head, backbone.name, image_size, options, progress("fine-tune epochs", 1)
        )
        probabilities = _probabilities_from_images(photos, extractor, head, backbone.name, image_size, options)
    else:
        probabilities = np.asarray(head.predict(features, batch_size=256, verbose=0), dtype=np.float64)

    metrics = _metrics(photos, cities, labels, split, probabilities, skipped)
    metrics.update(
        backbone=backbone.name,
        image_size=image_size,
        fine_tuned=options.fine_tune,
        epochs_run=len(history),
        history=history,
        training_seconds=round(time.monotonic() - started, 2),
        embeddings={"computed": report.computed, "cached": report.cached, "unreadable": len(report.unreadable)},
        options={k: v for k, v in asdict(options).items() if k not in ("activate", "name")},
        trained_on=training_fingerprint((p.pk, p.city_id) for p in labelled),  # ml.selectors.model_is_current
    )
    version = _save_version(options, backbone.name, image_size, cities, metrics, head, extractor)
    activated, reason = _maybe_activate(version, options.activate, photos, split.val)
    return TrainingOutcome(version, activated, reason, report.unreadable, skipped)


def _trained_head(photos, labels, split, features, n_cities, backbone, image_size, options, progress):
    """A classifier head trained on the training photos' features (and their augmented views): (head, history)."""
    x_train = np.concatenate(
        [features[split.train]]
        + [
            _feature_matrix([photos[i] for i in split.train], backbone.name, image_size, view=v)
            for v in range(1, 1 + options.augment_views)
        ]
    )
    y_train = np.tile(labels[split.train], 1 + options.augment_views)
    head = build_head(backbone.feature_dim, n_cities, dropout=options.dropout, seed=options.seed)
    epoch_bar = progress("epochs", options.epochs)
    history = train_head(
        head,
        x_train,
        y_train,
        features[split.val],
        labels[split.val],
        epochs=options.epochs,
        batch_size=options.batch_size,
        on_epoch=lambda epoch, logs: epoch_bar(1),
    )
    return head, history


TRAINING_FIELDS = ("id", "content_hash", "image", "display_image", "city")


def _embedded_training_photos(
    labelled: list[Photo], options: TrainingOptions, backbone: str, image_size: int, progress: ProgressFactory
) -> tuple[list[Photo], dict[str, int], EmbeddingReport]:
    """The labelled photos of cities with enough of them, their backbone features cached (computed
    where missing); the cities left out, and what the embedding step did."""
    photos, skipped = _cities_with_enough(labelled, options.min_photos_per_city)
    report = ensure_embeddings(
        photos,
        backbone_name=backbone,
        image_size=image_size,
        views=1 + options.augment_views,
        batch_size=options.batch_size,
        on_progress=progress("embedding", len(photos) * (1 + options.augment_views)),
    )
    unreadable_ids = {pk for pk, _ in report.unreadable}
    photos, more_skipped = _cities_with_enough(
        [p for p in photos if p.pk not in unreadable_ids], options.min_photos_per_city
    )
    return photos, {**skipped, **more_skipped}, report


def _cities_with_enough(photos: list[Photo], minimum: int) -> tuple[list[Photo], dict[str, int]]:
    counts = Counter(p.city_id for p in photos)
    names = {p.city_id: p.city.display_name for p in photos}
    kept = [p for p in photos if counts[p.city_id] >= minimum]
    skipped = {names[cid]: n for cid, n in counts.items() if n < minimum}
    if len({p.city_id for p in kept}) < 2:
        have = ", ".join(f"{names[cid]}: {n}" for cid, n in counts.most_common(5)) or "no labelled photos"
        raise TrainingError(f"need at least 2 cities with {minimum}+ readable labelled photos each (have {have})")
    return kept, skipped


def _feature_matrix(photos: Sequence[Photo], backbone: str, image_size: int, *, view: int) -> np.ndarray:
    found = load_embeddings([p.content_hash for p in photos], backbone_name=backbone, image_size=image_size, view=view)
    return np.stack([found[p.content_hash] for p in photos])


def _fine_tune(photos, labels, split, head, backbone_name, image_size, options, advance):
    """Unfreeze the top of the backbone and train it with the head on augmented images, at a low rate."""
    import keras

    extractor = get_backbone(backbone_name).build(weights="imagenet", input_size=image_size)

    def leaves(model):
        for layer in model.layers:
            yield from leaves(layer) if isinstance(layer, keras.Model) else (layer,)

    layers = list(leaves(extractor))
    for layer in layers:
        layer.trainable = False
    trainable = [layer for layer in layers if layer.weights][-options.fine_tune_layers :]
    for layer in trainable:
        layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)  # keep BN statistics
    model = keras.Model(extractor.input, head(extractor.output))
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="categorical_crossentropy", metrics=["accuracy"])
    train_photos = [photos[i] for i in split.train]
    train_labels = keras.utils.to_categorical(labels[split.train], head.output_shape[-1])
    rng = np.random.default_rng(options.seed)

    class AugmentedPhotos(keras.utils.PyDataset):
        def __len__(self):
            return int(np.ceil(len(train_photos) / options.batch_size))

        def __getitem__(self, i):
            rows = range(i * options.batch_size, min(len(train_photos), (i + 1) * options.batch_size))
            views = rng.integers(0, 1 + options.augment_views, size=len(rows))
            x = np.stack(
                [
                    photo_array(train_photos[r], backbone_name=backbone_name, image_size=image_size, view=int(v))
                    for r, v in zip(rows, views)
                ]
            )
            return x, train_labels[list(rows)]

    model.fit(AugmentedPhotos(), epochs=options.fine_tune_epochs, verbose=0)
    advance(1)
    return extractor


def _probabilities_from_images(photos, extractor, head, backbone_name, image_size, options) -> np.ndarray:
    out = []
    for batch in prefetched_batches(
        photos,
        lambda p: photo_array(p, backbone_name=backbone_name, image_size=image_size),
        batch_size=options.batch_size,
    ):
        if batch.failed:
            raise TrainingError(f"photo {batch.failed[0][0].pk} became unreadable during fine-tuning")
        out.append(head.predict_on_batch(extractor.predict_on_batch(batch.arrays)))
    return np.asarray(np.concatenate(out), dtype=np.float64)


def _metrics(photos, cities, labels, split, probabilities, skipped) -> dict:
    k = len(cities)
    parts = {name: classification_metrics(probabilities[idx], labels[idx], k) for name, idx in asdict(split).items()}
    per_city = {}
    for i, city in enumerate(cities):
        per_city[str(city.pk)] = {
            "name": city.display_name,
            "photos": int((labels == i).sum()),
            "train": int((labels[split.train] == i).sum()),
            "val": int((labels[split.val] == i).sum()),
            "test": int((labels[split.test] == i).sum()),
            "val_accuracy": parts["val"]["per_class_accuracy"].get(i),
            "test_accuracy": parts["test"]["per_class_accuracy"].get(i),
        }
    summary = {name: {key: part[key] for key in ("count", "accuracy", "top5_accuracy")} for name, part in parts.items()}
    return {
        **summary,
        "per_city": per_city,
        "confusion": {
            "order": [c.pk for c in cities],
            "val": parts["val"]["confusion"],
            "test": parts["test"]["confusion"],
        },
        "photos_per_city": {str(c.pk): per_city[str(c.pk)]["photos"] for c in cities},
        "skipped_cities": skipped,
    }


def _save_version(options, backbone_name, image_size, cities, metrics, head, extractor) -> ModelVersion:
    name = options.name or f"{backbone_name}-{timezone.now():%Y%m%d-%H%M%S}"
    if ModelVersion.objects.filter(name=name).exists():
        raise TrainingError(f"a model version named {name!r} already exists")
    version = ModelVersion(
        name=name, backbone=backbone_name, image_size=image_size, cities=[c.pk for c in cities], metrics=metrics
    )
    with tempfile.TemporaryDirectory() as tmp:
        head_path = Path(tmp) / "head.keras"
        head.save(head_path)
        with head_path.open("rb") as f:
            version.artifact.save("head.keras", File(f), save=False)
        if extractor is not None:
            weights_path = Path(tmp) / "backbone.weights.h5"
            extractor.save_weights(weights_path)
            with weights_path.open("rb") as f:
                version.backbone_artifact.save("backbone.weights.h5", File(f), save=False)
    version.save()
    return version


def _maybe_activate(version: ModelVersion, force: bool, photos: list[Photo], val_idx: np.ndarray) -> tuple[bool, str]:
    """Activate when asked, when nothing is active, or when the new version beats the active one on this val split."""
    active = ModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).first()
    new_acc = version.metrics["val"]["accuracy"]
    if force:
        reason = "activated as asked (--activate)"
    elif active is None:
        reason = "activated: there was no active model"
    elif new_acc is None:
        return False, "not activated: no validation split to compare on (use --activate)"
    else:
        old_acc = accuracy_on(active, [photos[i] for i in val_idx])
        version.metrics["activation"] = {"compared_with": active.name, "active_val_accuracy": old_acc}
        version.save(update_fields=["metrics"])
        if old_acc is not None and new_acc <= old_acc:
            return False, f"not activated: val accuracy {new_acc:.3f} does not beat {active.name}'s {old_acc:.3f}"
        reason = f"activated: val accuracy {new_acc:.3f} beats {active.name}'s {old_acc:.3f}"
    activate_model_version(model_version=version)
    return True, reason


def accuracy_on(version: ModelVersion, photos: list[Photo]) -> float | None:
    """How often `version` names the labelled city of these photos (photos it cannot read are skipped)."""
    if not photos or not version.artifact:
        return None
    classifier = classifier_for(version)
    correct = total = 0
    for batch in prefetched_batches(
        photos,
        lambda p: photo_array_for(p, version),
        batch_size=32,
    ):
        if batch.arrays is None:
            continue
        predicted = np.asarray(version.cities)[classifier.predict_arrays(batch.arrays).argmax(axis=1)]
        correct += int(sum(int(c) == p.city_id for c, p in zip(predicted, batch.items)))
        total += len(batch.items)
    return correct / total if total else None


@dataclass
class PredictReport:
    model_version: str
    todo: int = 0
    predicted: int = 0
    unreadable: list[tuple[int, str]] = field(default_factory=list)


def photos_to_predict(model_version: ModelVersion, *, redo_all: bool):
    queryset = Photo.objects.all()
    if not redo_all:
        queryset = queryset.filter(
            Q(probabilities__isnull=True) | Q(model_version__isnull=True) | ~Q(model_version=model_version)
        )
    return queryset.only("id", "content_hash", "image", "display_image").order_by("pk")


def predict_photos(
    *,
    model_version: ModelVersion | None = None,
    redo_all: bool = False,
    batch_size: int = 64,
    chunk_size: int = 512,
    progress: ProgressFactory = no_progress,
) -> PredictReport:
    """Write every photo's probability vector for a model version (the active one by default), and
    what it shows (Photo.scene, from the same features through the backbone's ImageNet head).

    Photos whose backbone features are cached only need the head. The others stream through
    decode -> backbone -> head with the next batch decoded in the background; their features
    are cached on the way. Results are committed every `chunk_size` photos, so an interrupted
    run loses at most one chunk, and a re-run skips what this version already predicted.
    """
    model_version = model_version or ModelVersion.objects.filter(is_active=True).first()
    if model_version is None:
        raise TrainingError("no active model version: train one with manage.py train_model --activate")
    todo = list(photos_to_predict(model_version, redo_all=redo_all))
    run = _PredictionRun(model_version, PredictReport(model_version.name, todo=len(todo)), chunk_size=chunk_size)
    run.advance = progress("predicting", len(todo))
    uncached = todo if run.classifier.fine_tuned else run.predict_cached(todo)
    run.predict_from_images(uncached, batch_size=batch_size)
    run.flush()
    bump_collection_version()
    return run.report


class _PredictionRun:
    """One predict_photos run: results wait in `pending` and are committed every `chunk_size` photos."""

    def __init__(self, model_version: ModelVersion, report: PredictReport, *, chunk_size: int):
        self.model_version, self.report, self.chunk_size = model_version, report, chunk_size
        self.classifier = classifier_for(model_version)
        self.pending: list[tuple[Photo, np.ndarray, list]] = []
        self.advance: Callable[[int], None] = lambda n: None

    def emit(self, photos: Sequence[Photo], probabilities: np.ndarray, features: np.ndarray | None) -> None:
        self.pending.extend(zip(photos, probabilities, scenes_of(photos, features, self.model_version)))
        if len(self.pending) >= self.chunk_size:
            self.flush()
        self.advance(len(photos))

    def flush(self) -> None:
        if self.pending:
            _write_probabilities(self.pending, self.model_version)
            self.report.predicted += len(self.pending)
            self.pending.clear()

    def predict_cached(self, todo: list[Photo]) -> list[Photo]:
        """Predict the photos whose stock backbone features are cached (the head alone); the rest."""
        version, uncached = self.model_version, []
        for start in range(0, len(todo), self.chunk_size):
            part = todo[start : start + self.chunk_size]
            cached = load_embeddings(
                [p.content_hash for p in part], backbone_name=version.backbone, image_size=version.image_size
            )
            known = [p for p in part if p.content_hash in cached]
            if known:
                features = np.stack([cached[p.content_hash] for p in known])
                self.emit(known, self.classifier.predict_features(features), features)
            uncached += [p for p in part if p.content_hash not in cached]
        return uncached

    def predict_from_images(self, photos: list[Photo], *, batch_size: int) -> None:
        """Three stages overlap: threads decode the next batches, one thread runs the model (TensorFlow
        releases the GIL), and this thread writes the previous batch's results to the database."""
        in_flight: tuple | None = None
        batches = prefetched_batches(
            photos,
            lambda p: photo_array_for(p, self.model_version),
            batch_size=batch_size,
            first_batch_size=min(8, batch_size),
        )
        with ThreadPoolExecutor(max_workers=1) as model_thread:
            for batch in batches:
                self.report.unreadable += [(p.pk, reason) for p, reason in batch.failed]
                self.advance(len(batch.failed))
                if batch.arrays is None:
                    continue
                computing = (batch, model_thread.submit(self._run_model, batch))
                if in_flight:
                    self._record(*in_flight)
                in_flight = computing
            if in_flight:
                self._record(*in_flight)

    def _run_model(self, batch) -> tuple[np.ndarray | None, np.ndarray]:
        if self.classifier.fine_tuned:
            return None, self.classifier.predict_arrays(batch.arrays)
        features = self.classifier.features(batch.arrays)
        return features, self.classifier.predict_features(features)

    def _record(self, batch, computed: Future) -> None:
        features, probabilities = computed.result()
        if features is not None:
            version = self.model_version
            store_embeddings(batch.items, features, backbone_name=version.backbone, image_size=version.image_size)
        self.emit(batch.items, probabilities, features)


def scenes_of(photos: Sequence[Photo], features: np.ndarray | None, model_version: ModelVersion) -> list[list]:
    """What each photo shows (ml.scene.scene_words) from its stock backbone features.

    `features` are those features, or None when the model's backbone is fine-tuned (its features
    no longer fit the ImageNet head): then the photos' cached stock features are used where there
    are any. [] for a photo without stock features, and for backbones without an ImageNet head.
    """
    head = imagenet_head(model_version.backbone)
    if head is None:
        return [[] for _ in photos]
    if features is not None:
        return [scene_words(p) for p in head.probabilities(features)]
    cached = load_embeddings(
        [p.content_hash for p in photos], backbone_name=model_version.backbone, image_size=model_version.image_size
    )
    return [scene_words(head.probabilities(cached[p.content_hash])) if p.content_hash in cached else [] for p in photos]


def photo_array_for(photo: Photo, model_version: ModelVersion) -> np.ndarray:
    return photo_array(photo, backbone_name=model_version.backbone, image_size=model_version.image_size)


@transaction.atomic
def _write_probabilities(rows: list[tuple[Photo, np.ndarray, list]], model_version: ModelVersion) -> None:
    for photo, vector, scene in rows:
        photo.probabilities = [round(float(p), 6) for p in vector]
        photo.model_version = model_version
        photo.scene = scene
    Photo.objects.bulk_update([row[0] for row in rows], ["probabilities", "model_version", "scene"], batch_size=500)

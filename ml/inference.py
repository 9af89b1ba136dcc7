"""Load a ModelVersion as a runnable classifier: backbone + trained head, one compiled Keras graph."""

import tempfile
import threading
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from ml.backbones import feature_extractor, get_backbone
from ml.models import ModelVersion


@contextmanager
def local_copy(field_file):
    """A filesystem path for a stored file (S3 files are copied to a temporary file)."""
    try:
        yield Path(field_file.path)
        return
    except NotImplementedError:
        pass
    suffix = Path(field_file.name).suffix
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        with field_file.open("rb") as src:
            tmp.write(src.read())
        tmp.flush()
        yield Path(tmp.name)


class CityClassifier:
    """Probabilities over `model_version.cities` for images, preprocessed arrays or cached features."""

    def __init__(self, model_version: ModelVersion):
        import keras

        if not model_version.artifact:
            raise ValueError(f"model version {model_version.name} has no trained head")
        self.version = model_version
        self.backbone = get_backbone(model_version.backbone)
        self.image_size = model_version.image_size
        with local_copy(model_version.artifact) as path:
            self.head = keras.models.load_model(path, compile=False)
        if model_version.backbone_artifact:
            extractor = self.backbone.build(weights=None, input_size=self.image_size)
            with local_copy(model_version.backbone_artifact) as path:
                extractor.load_weights(path)
        else:
            extractor = feature_extractor(model_version.backbone, input_size=self.image_size)
        self.extractor = extractor
        self.model = keras.Model(extractor.input, self.head(extractor.output), name=f"classifier_{model_version.pk}")
        self._lock = threading.Lock()

    @property
    def fine_tuned(self) -> bool:
        return bool(self.version.backbone_artifact)

    def predict_arrays(self, arrays: np.ndarray) -> np.ndarray:
        with self._lock:
            return np.asarray(self.model.predict_on_batch(arrays), dtype=np.float64)

    def predict_features(self, features: np.ndarray) -> np.ndarray:
        with self._lock:
            return np.asarray(self.head.predict_on_batch(features), dtype=np.float64)

    def features(self, arrays: np.ndarray) -> np.ndarray:
        with self._lock:
            return np.asarray(self.extractor.predict_on_batch(arrays), dtype=np.float32)

    def preprocess(self, img: Image.Image) -> np.ndarray:
        return self.backbone.preprocess(img.convert("RGB"), self.image_size)

    def classify_image(self, img: Image.Image) -> np.ndarray:
        return self.predict_arrays(self.preprocess(img)[None])[0]


_cache: "OrderedDict[tuple, CityClassifier]" = OrderedDict()
_cache_lock = threading.Lock()


def classifier_for(model_version: ModelVersion) -> CityClassifier:
    """A loaded classifier, kept for reuse (the two most recent versions)."""
    key = (model_version.pk, model_version.created, model_version.artifact.name, model_version.backbone_artifact.name)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    classifier = CityClassifier(model_version)
    with _cache_lock:
        _cache[key] = classifier
        while len(_cache) > 2:
            _cache.popitem(last=False)
    return classifier


def active_classifier() -> CityClassifier | None:
    version = ModelVersion.objects.filter(is_active=True).first()
    if version is None or not version.artifact:
        return None
    return classifier_for(version)

"""The offline backbone's own ImageNet classifier, run on pooled features with NumPy.

EfficientNet-Lite ends in global average pooling and one Dense 1280 -> 1000 layer (the weight
file's ``_fc.weight`` and ``_fc.bias``). The pooled features are what ml.embeddings caches per
photo, so the 1000 ImageNet probabilities of a photo cost one small matrix product, not a
second pass through the CNN.

ml/data/imagenet_classes.txt holds the 1000 classes in the order of the logits, one per line:
WordNet synset id, a tab, the class's names (the first is the usual short name). It was taken
from the ImageNet info files that timm ships (timm/data/_info/imagenet_synsets.txt and
imagenet_synset_to_lemma.txt), the standard ILSVRC-2012 order.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

CLASSES_FILE = Path(__file__).resolve().parent / "data" / "imagenet_classes.txt"
CLASS_COUNT = 1000

# Backbones whose weight file carries the ImageNet head, and which variant's file that is.
# ResNet50 offline is built without weights, so it has no head to use here.
_HEAD_VARIANTS = {
    "efficientnet_lite0": "lite0",
    "efficientnet_lite1": "lite1",
    "efficientnet_lite2": "lite2",
}


@lru_cache(maxsize=1)
def class_names() -> list[str]:
    """The short name of each ImageNet class, by logit index (442 -> "bell cote")."""
    lines = CLASSES_FILE.read_text(encoding="utf-8").splitlines()
    names = [line.split("\t", 1)[1].split(", ")[0] for line in lines if line.strip()]
    if len(names) != CLASS_COUNT:
        raise ValueError(f"{CLASSES_FILE} lists {len(names)} classes, expected {CLASS_COUNT}")
    return names


@dataclass(frozen=True)
class ImageNetHead:
    """The Dense layer on top of the pooled features: logits = features @ weight.T + bias."""

    weight: np.ndarray  # (1000, features) float32, as PyTorch stores it
    bias: np.ndarray  # (1000,) float32

    def logits(self, features: np.ndarray) -> np.ndarray:
        features = np.asarray(features, dtype=np.float32)
        return features @ self.weight.T + self.bias

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Softmax over the 1000 classes, for one feature vector (D,) or a batch (N, D)."""
        return softmax(self.logits(features))


def softmax(logits: np.ndarray) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def has_imagenet_head(backbone_name: str) -> bool:
    return backbone_name in _HEAD_VARIANTS


@lru_cache(maxsize=3)
def imagenet_head(backbone_name: str) -> ImageNetHead | None:
    """The backbone's ImageNet head read from its weight file (once per process), or None when it has none."""
    variant = _HEAD_VARIANTS.get(backbone_name)
    if variant is None:
        return None
    from ml.efficientnet_lite import weights_path  # imports Keras: only once a head is wanted
    from ml.torch_weights import load_legacy_state_dict

    try:
        state = load_legacy_state_dict(weights_path(variant))
    except FileNotFoundError:
        return None
    return ImageNetHead(
        weight=np.ascontiguousarray(state["_fc.weight"], dtype=np.float32),
        bias=np.ascontiguousarray(state["_fc.bias"], dtype=np.float32),
    )


def top_classes(probabilities: np.ndarray, k: int = 5) -> list[tuple[int, float]]:
    """The k most probable classes of one probability vector, as (index, probability), best first."""
    probabilities = np.asarray(probabilities).reshape(-1)
    order = np.argsort(-probabilities, kind="stable")[:k]
    return [(int(i), float(probabilities[i])) for i in order]

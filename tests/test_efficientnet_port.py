"""The Keras EfficientNet-Lite port against real PyTorch outputs, and the safe weights reader.

tests/data/effnet_lite_reference.json comes from scripts/record_effnet_reference.py.
"""

from __future__ import annotations

import json
import pickle
import shlex
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_sample_image

from ml.efficientnet_lite import VARIANTS, build_efficientnet_lite, preprocess_image, weights_path
from ml.torch_weights import load_legacy_state_dict

REFERENCE = json.loads((Path(__file__).parent / "data" / "effnet_lite_reference.json").read_text())["outputs"]
IMAGES = ("china", "flower")
LOGIT_TOLERANCE = 1e-3
PALACE = 698
CASES = [pytest.param(image, variant, id=f"{image}_{variant}") for variant in VARIANTS for image in IMAGES]


def _photo(image: str) -> Image.Image:
    return Image.fromarray(load_sample_image(f"{image}.jpg"))


def _batch(variant: str) -> np.ndarray:
    return np.stack([preprocess_image(_photo(image), VARIANTS[variant]["resolution"]) for image in IMAGES])


@pytest.fixture(scope="module")
def keras_logits() -> Callable[[str, str], np.ndarray]:
    """Logits of the Keras port per (image, variant); each variant is built and run once."""
    cache: dict[str, dict[str, np.ndarray]] = {}

    def logits(image: str, variant: str) -> np.ndarray:
        if variant not in cache:
            model = build_efficientnet_lite(variant, include_top=True)
            cache[variant] = dict(zip(IMAGES, np.asarray(model.predict_on_batch(_batch(variant))), strict=True))
        return cache[variant][image]

    return logits


@pytest.mark.parametrize(("image", "variant"), CASES)
def test_it_matches_pytorch_top5_on(keras_logits: Callable[[str, str], np.ndarray], image: str, variant: str) -> None:
    top5 = np.argsort(-keras_logits(image, variant))[:5].tolist()
    assert top5 == REFERENCE[variant][f"{image}.jpg"]["top5"]


@pytest.mark.parametrize(("image", "variant"), CASES)
def test_it_matches_pytorch_logits_on(keras_logits: Callable[[str, str], np.ndarray], image: str, variant: str) -> None:
    expected = np.array(REFERENCE[variant][f"{image}.jpg"]["logits"])
    assert expected.shape == (1000,)
    assert np.abs(keras_logits(image, variant) - expected).max() < LOGIT_TOLERANCE


def test_lite2_sees_a_palace_in_the_china_photo(keras_logits: Callable[[str, str], np.ndarray]) -> None:
    assert int(np.argmax(keras_logits("china", "lite2"))) == PALACE


def test_the_feature_extractor_gives_the_features_the_classifier_uses() -> None:
    model = build_efficientnet_lite("lite0")
    features = np.asarray(model.predict_on_batch(_batch("lite0")))
    assert features.shape == (len(IMAGES), 1280)
    state = load_legacy_state_dict(weights_path("lite0"))
    logits = features @ state["_fc.weight"].T + state["_fc.bias"]
    for image, row in zip(IMAGES, logits, strict=True):
        assert np.abs(row - REFERENCE["lite0"][f"{image}.jpg"]["logits"]).max() < LOGIT_TOLERANCE


def test_layer_names_do_not_depend_on_what_was_built_before() -> None:
    first = build_efficientnet_lite("lite1", weights=None)
    second = build_efficientnet_lite("lite1", weights=None)
    assert [layer.name for layer in first.layers] == [layer.name for layer in second.layers]
    assert first.output.shape == (None, 1280)


def test_other_input_sizes_give_1280_features() -> None:
    model = build_efficientnet_lite("lite2", weights=None, input_size=192)
    assert np.asarray(model.predict_on_batch(np.zeros((3, 192, 192, 3), np.float32))).shape == (3, 1280)


def test_unknown_variants_are_refused() -> None:
    with pytest.raises(ValueError, match="lite9"):
        build_efficientnet_lite("lite9")


# Hand-written pickle opcodes, so the files below name torch objects without torch being installed.
_LEGACY_HEADER = b"".join(
    pickle.dumps(obj, protocol=2)
    for obj in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True})
)
_STORAGE = np.arange(12, dtype=np.float32)


def _global(module: str, name: str) -> bytes:
    return f"c{module}\n{name}\n".encode()


def _str(text: str) -> bytes:
    return b"X" + struct.pack("<I", len(text.encode())) + text.encode()


def _int(value: int) -> bytes:
    return b"J" + struct.pack("<i", value)


def _ints(*values: int) -> bytes:
    return b"(" + b"".join(map(_int, values)) + b"t"


def _tensor(offset: int, shape: tuple[int, ...], stride: tuple[int, ...]) -> bytes:
    """A ``_rebuild_tensor_v2`` call on float storage "0" (12 elements), as torch.save writes it."""
    storage = b"(" + _str("storage") + _global("torch", "FloatStorage") + _str("0") + _str("cpu") + _int(12) + b"Nt"
    return (
        _global("torch._utils", "_rebuild_tensor_v2")
        + b"("
        + storage
        + b"Q"  # BINPERSID: the storage comes from persistent_load
        + _int(offset)
        + _ints(*shape)
        + _ints(*stride)
        + b"\x89"  # requires_grad=False
        + _global("collections", "OrderedDict")
        + b")RtR"
    )


_STATE_DICT_PICKLE = (
    b"\x80\x02"
    + _global("collections", "OrderedDict")
    + b")R("
    + _str("matrix")
    + _tensor(0, (3, 4), (4, 1))
    + _str("transposed")
    + _tensor(0, (4, 3), (1, 4))
    + _str("slice")
    + _tensor(5, (2,), (1,))
    + b"u."
)
_EXPECTED = {"matrix": _STORAGE.reshape(3, 4), "transposed": _STORAGE.reshape(3, 4).T, "slice": _STORAGE[5:7]}
_LEGACY_FILE = (
    _LEGACY_HEADER + _STATE_DICT_PICKLE + pickle.dumps(["0"], protocol=2) + struct.pack("<q", 12) + _STORAGE.tobytes()
)


def _zip_file(path: Path, data_pkl: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/data/0", _STORAGE.tobytes())
    return path


def test_the_reader_rebuilds_strided_tensors_from_both_formats(tmp_path: Path) -> None:
    legacy = tmp_path / "legacy.pth"
    legacy.write_bytes(_LEGACY_FILE)
    for path in (legacy, _zip_file(tmp_path / "new.pth", _STATE_DICT_PICKLE)):
        loaded = load_legacy_state_dict(path)
        assert list(loaded) == list(_EXPECTED)
        for name, expected in _EXPECTED.items():
            assert loaded[name].dtype == np.float32
            np.testing.assert_array_equal(loaded[name], expected)


def test_the_reader_matches_the_real_weights_layout() -> None:
    state = load_legacy_state_dict(weights_path("lite0"))
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert all(array.flags.c_contiguous for array in state.values())


def _payloads(marker: Path) -> dict[str, bytes]:
    command = _str(f"touch {shlex.quote(str(marker))}")
    return {
        "os_system": b"\x80\x02" + _global("os", "system") + command + b"\x85R.",
        "builtins_eval": b"\x80\x02"
        + _global("builtins", "eval")
        + _str(f"open({str(marker)!r}, 'w').close()")
        + b"\x85R.",
        "stack_global": b"\x80\x04" + _str("os") + _str("system") + b"\x93" + command + b"\x85R.",
    }


@pytest.mark.parametrize("payload", ["os_system", "builtins_eval", "stack_global"])
@pytest.mark.parametrize("where", ["legacy_header", "legacy_state_dict", "zip"])
def test_the_reader_refuses_pickles_that_run_code(tmp_path: Path, payload: str, where: str) -> None:
    marker = tmp_path / "pwned"
    evil = _payloads(marker)[payload]
    path = tmp_path / "evil.pth"
    if where == "zip":
        _zip_file(path, evil)
    else:
        path.write_bytes(evil if where == "legacy_header" else _LEGACY_HEADER + evil)
    with pytest.raises(ValueError, match="refusing"):
        load_legacy_state_dict(path)
    assert not marker.exists()
    pickle.loads(evil)  # the plain unpickler does run it, so the refusal above is what protected us
    assert marker.exists()


@pytest.mark.parametrize(
    ("content", "error"),
    [
        pytest.param(b"not a checkpoint at all", "not a readable", id="garbage"),
        pytest.param(_LEGACY_FILE[:-4], "truncated", id="truncated_storage"),
        pytest.param(
            _LEGACY_FILE.replace(_tensor(5, (2,), (1,)), _tensor(11, (2,), (1,))),
            "past the end",
            id="tensor_past_storage",
        ),
        pytest.param(
            _LEGACY_HEADER + pickle.dumps([1, 2], protocol=2) + pickle.dumps([], protocol=2),
            "flat state dict",
            id="list",
        ),
    ],
)
def test_the_reader_rejects_malformed_files(tmp_path: Path, content: bytes, error: str) -> None:
    path = tmp_path / "bad.pth"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=error):
        load_legacy_state_dict(path)

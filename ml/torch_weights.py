"""Read PyTorch state-dict files into NumPy arrays without importing torch.

Unpickling goes through an allow-list: only ``collections.OrderedDict``,
``torch._utils._rebuild_tensor_v2`` and the typed ``torch.*Storage`` names are
resolved, each to a harmless stand-in, so a crafted file cannot run code.
"""

from __future__ import annotations

import collections
import io
import math
import os
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_STORAGE_DTYPES = {
    "DoubleStorage": np.float64,
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _StandIn:
    """Base of the loader's own objects: a pickle may not set their attributes."""

    def __setstate__(self, state: object) -> None:
        raise ValueError("weights file tries to set attributes of a loader object")


@dataclass(frozen=True)
class _StorageType(_StandIn):
    dtype: np.dtype


@dataclass
class _Storage(_StandIn):
    dtype: np.dtype
    numel: int
    data: np.ndarray | None = None


@dataclass(frozen=True)
class _PendingTensor(_StandIn):
    """A tensor whose storage bytes come after the pickle in the file."""

    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]

    def materialize(self) -> np.ndarray:
        data = self.storage.data
        if data is None:
            raise ValueError("tensor refers to a storage with no data")
        if math.prod(self.shape) > data.size:
            raise ValueError("tensor has more elements than its storage")
        if 0 not in self.shape:
            last = self.offset + sum((n - 1) * s for n, s in zip(self.shape, self.stride, strict=True))
            if last >= data.size:
                raise ValueError("tensor reaches past the end of its storage")
        strides = tuple(s * data.itemsize for s in self.stride)
        view = np.lib.stride_tricks.as_strided(data[self.offset :], self.shape, strides, writeable=False)
        return view.astype(self.storage.dtype, order="C")


def _is_int_tuple(value: object) -> bool:
    return isinstance(value, tuple) and all(isinstance(v, int) and v >= 0 for v in value)


def _rebuild_tensor(
    storage: object, offset: object, shape: object, stride: object, *_flags_and_hooks: object
) -> _PendingTensor:
    """Stand-in for ``torch._utils._rebuild_tensor_v2``."""
    if not isinstance(storage, _Storage) or not isinstance(offset, int) or offset < 0:
        raise ValueError("malformed tensor record")
    if not _is_int_tuple(shape) or not _is_int_tuple(stride) or len(shape) != len(stride):
        raise ValueError("malformed tensor shape or stride")
    return _PendingTensor(storage, offset, shape, stride)


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], storages: dict[str, _Storage]) -> None:
        super().__init__(file)
        self._storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(np.dtype(_STORAGE_DTYPES[name]))
        raise ValueError(f"refusing to load {module}.{name} from a weights file")

    def persistent_load(self, pid: object) -> _Storage:
        # Legacy files add a sixth field, view metadata, which is None for plain storages.
        if not isinstance(pid, tuple) or len(pid) not in (5, 6) or pid[0] != "storage" or pid[5:] not in ((), (None,)):
            raise ValueError(f"unsupported persistent id {pid!r:.80}")
        storage_type, key, numel = pid[1], pid[2], pid[4]
        if (
            not isinstance(numel, int)
            or numel < 0
            or not isinstance(storage_type, _StorageType)
            or not isinstance(key, str)
        ):
            raise ValueError("malformed storage record")
        storage = self._storages.setdefault(key, _Storage(storage_type.dtype, numel))
        if (storage.dtype, storage.numel) != (storage_type.dtype, numel):
            raise ValueError(f"storage {key} is declared twice with different types")
        return storage


def _read_exact(f: IO[bytes], size: int) -> bytes:
    data = f.read(size)
    if len(data) != size:
        raise ValueError("weights file is truncated")
    return data


def _load_legacy(path: Path, storages: dict[str, _Storage]) -> object:
    f = io.BytesIO(path.read_bytes())
    if _RestrictedUnpickler(f, {}).load() != _LEGACY_MAGIC:
        raise ValueError(f"{path} is not a PyTorch weights file")
    if _RestrictedUnpickler(f, {}).load() != _LEGACY_PROTOCOL:
        raise ValueError(f"{path} uses an unsupported legacy protocol")
    sys_info = _RestrictedUnpickler(f, {}).load()
    if not isinstance(sys_info, dict) or sys_info.get("little_endian") is not True:
        raise ValueError(f"{path} is not a little-endian PyTorch file")
    result = _RestrictedUnpickler(f, storages).load()
    keys = _RestrictedUnpickler(f, {}).load()
    if not isinstance(keys, list) or sorted(keys) != sorted(storages):
        raise ValueError(f"{path} lists storages that its tensors do not use")
    for key in keys:
        storage = storages[key]
        (numel,) = struct.unpack("<q", _read_exact(f, 8))
        if numel != storage.numel:
            raise ValueError(f"storage {key} has {numel} elements, expected {storage.numel}")
        raw = _read_exact(f, numel * storage.dtype.itemsize)
        storage.data = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"))
    return result


def _load_zip(path: Path, storages: dict[str, _Storage]) -> object:
    with zipfile.ZipFile(path) as archive:
        pickles = [name for name in archive.namelist() if name.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise ValueError(f"{path} is a zip file but not a PyTorch checkpoint")
        prefix = pickles[0].removesuffix("data.pkl")
        if f"{prefix}byteorder" in archive.namelist() and archive.read(f"{prefix}byteorder") != b"little":
            raise ValueError(f"{path} is not a little-endian PyTorch file")
        result = _RestrictedUnpickler(io.BytesIO(archive.read(pickles[0])), storages).load()
        for key, storage in storages.items():
            try:
                raw = archive.read(f"{prefix}data/{key}")
            except KeyError:
                raise ValueError(f"{path} has no data for storage {key}") from None
            if len(raw) != storage.numel * storage.dtype.itemsize:
                raise ValueError(f"storage {key} has the wrong size")
            storage.data = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"))
    return result


def load_legacy_state_dict(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Load a state dict saved by ``torch.save`` as ``{name: array}``.

    Reads the pre-1.6 legacy format and the zip format. Raises ``ValueError``
    for anything else, including any pickle that names a non-allowed object.
    """
    path = Path(path)
    storages: dict[str, _Storage] = {}
    try:
        loader = _load_zip if zipfile.is_zipfile(path) else _load_legacy
        result = loader(path, storages)
    except (
        pickle.UnpicklingError,
        EOFError,
        AttributeError,
        OverflowError,
        MemoryError,  # a corrupt pickle length field can ask for exabytes
        TypeError,
        struct.error,
        zipfile.BadZipFile,
    ) as exc:
        raise ValueError(f"{path} is not a readable PyTorch state dict: {exc}") from exc
    if not isinstance(result, dict) or not all(
        isinstance(k, str) and isinstance(v, _PendingTensor) for k, v in result.items()
    ):
        raise ValueError(f"{path} does not hold a flat state dict of tensors")
    return {name: tensor.materialize() for name, tensor in result.items()}

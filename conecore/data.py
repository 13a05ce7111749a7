"""Data that ships or that the user points to; nothing is downloaded.

* :func:`digits` — the 8 x 8 handwritten digits that scikit-learn ships (1,797 images), scaled
  to ``[-1, 1]``.
* :func:`read_idx` / :func:`load_mnist` — the IDX format of MNIST (raw or ``.gz``), for users who
  have the four files.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import struct
import zlib

import numpy as np

from conecore.errors import ConeInputError

# IDX type byte -> numpy dtype (big-endian), per the MNIST format description.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MAX_IDX_BYTES = 200_000_000


def digits() -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)``: ``(1797, 64)`` float32 in ``[-1, 1]`` and ``(1797,)`` int64.

    Read straight from the CSV that scikit-learn ships (importing scikit-learn takes seconds);
    ``sklearn.datasets.load_digits`` if that file is not where it used to be."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")  # locates the package without importing it
    path = (os.path.join(os.path.dirname(spec.origin), "datasets", "data", "digits.csv.gz")
            if spec and spec.origin else "")
    if os.path.exists(path):
        table = np.loadtxt(path, delimiter=",")
        pixels, target = table[:, :-1], table[:, -1]
    else:  # pragma: no cover - other scikit-learn layouts
        from sklearn.datasets import load_digits

        data = load_digits()
        pixels, target = data.data, data.target
    return (pixels / 8.0 - 1.0).astype(np.float32), target.astype(np.int64)


def _gunzip(raw: bytes, name: str) -> bytes:
    """The decompressed bytes, refused once they pass ``MAX_IDX_BYTES`` (a small file can
    decompress to gigabytes)."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as fh:
            data = fh.read(MAX_IDX_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise ConeInputError(f"{name}: broken gzip data ({exc})") from None
    if len(data) > MAX_IDX_BYTES:
        raise ConeInputError(f"{name}: decompresses to more than {MAX_IDX_BYTES:,} bytes")
    return data


def read_idx(source: str | bytes, name: str = "IDX file") -> np.ndarray:
    """An array from IDX bytes or a path (gzip is detected by its magic bytes).

    Raises :class:`ConeInputError` naming the file for a bad magic number, an unknown type, a
    file shorter (or longer) than its header says, or one over ``MAX_IDX_BYTES`` (raw or
    decompressed).
    """
    if isinstance(source, str):
        name = os.path.basename(source)
        if os.path.getsize(source) > MAX_IDX_BYTES:
            raise ConeInputError(f"{name}: larger than {MAX_IDX_BYTES:,} bytes")
        with open(source, "rb") as fh:
            raw = fh.read()
    else:
        if len(source) > MAX_IDX_BYTES:
            raise ConeInputError(f"{name}: larger than {MAX_IDX_BYTES:,} bytes")
        raw = bytes(source)
    if raw[:2] == b"\x1f\x8b":
        raw = _gunzip(raw, name)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ConeInputError(f"{name}: bad magic number {raw[:4].hex() or 'empty'}; "
                             "an IDX file starts with two zero bytes")
    type_code, ndim = raw[2], raw[3]
    if type_code not in _IDX_TYPES:
        raise ConeInputError(f"{name}: unknown IDX data type 0x{type_code:02x}")
    if ndim == 0 or len(raw) < 4 + 4 * ndim:
        raise ConeInputError(f"{name}: truncated header ({ndim} dimensions)")
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    dtype = np.dtype(_IDX_TYPES[type_code])
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no wrap-around
    body = raw[4 + 4 * ndim :]
    if len(body) != expected:
        raise ConeInputError(f"{name}: truncated or padded data: the header {shape} needs "
                             f"{expected:,} bytes, the file has {len(body):,}")
    try:
        array = np.frombuffer(body, dtype=dtype).reshape(shape)
    except ValueError as exc:  # over 64 dimensions, or huge ones next to a zero
        raise ConeInputError(f"{name}: numpy cannot hold the shape {shape} ({exc})") from None
    return array.astype(dtype.newbyteorder("="))


def load_mnist(folder: str, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` from MNIST's IDX files in ``folder``: images ``(n, 784)`` float32 in
    ``[-1, 1]``. Accepts the usual names with or without ``.gz``."""
    prefix = "train" if split == "train" else "t10k"
    paths = {}
    for kind, stem in (("images", f"{prefix}-images-idx3-ubyte"),
                       ("labels", f"{prefix}-labels-idx1-ubyte")):
        for candidate in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
            if os.path.exists(os.path.join(folder, candidate)):
                paths[kind] = os.path.join(folder, candidate)
                break
        else:
            raise ConeInputError(f"MNIST folder {folder!r} has no {stem} (or {stem}.gz)")
    images, labels = read_idx(paths["images"]), read_idx(paths["labels"])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ConeInputError(f"{folder}: images {images.shape} and labels {labels.shape} disagree")
    X = images.reshape(len(images), -1).astype(np.float32) / 127.5 - 1.0
    return X, labels.astype(np.int64)


def write_idx(array: np.ndarray) -> bytes:
    """IDX bytes for ``array`` (uint8, int8, int16, int32, float32 or float64)."""
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}
    arr = np.asarray(array)
    if arr.dtype not in codes:
        raise ConeInputError(f"IDX cannot store dtype {arr.dtype}")
    code = codes[arr.dtype]
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(_IDX_TYPES[code]).tobytes()

"""Data that ships or that the user points to; nothing is downloaded.

* :func:`digits` — the 8 x 8 handwritten digits (1,797 images) that ship in ``conecore/assets``,
  scaled to ``[-1, 1]``.
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

    The 8 x 8 handwritten digits that ship inside conecore (``conecore/assets``: the UCI data
    set as scikit-learn ships it; see the README there for its source and licence)."""
    from importlib.resources import files

    with files("conecore").joinpath("assets", "digits_8x8.npz").open("rb") as fh, \
            np.load(fh, allow_pickle=False) as npz:
        pixels, target = npz["images"], npz["labels"]
    return (pixels.astype(np.float32) / 8.0 - 1.0), target.astype(np.int64)


CHUNK = 1 << 20  # bytes read at a time past the kept items (counted, not stored)


def _open_stream(source: str | bytes, name: str) -> tuple[io.BufferedIOBase, str]:
    """A binary stream over the IDX data, decompressed on the fly when it is gzip (detected by
    its magic bytes), and the name to use in messages."""
    if isinstance(source, str):
        name = os.path.basename(source)
        if os.path.getsize(source) > MAX_IDX_BYTES:
            raise ConeInputError(f"{name}: larger than {MAX_IDX_BYTES:,} bytes")
        fh: io.BufferedIOBase = open(source, "rb")  # closed by read_idx
    else:
        if len(source) > MAX_IDX_BYTES:
            raise ConeInputError(f"{name}: larger than {MAX_IDX_BYTES:,} bytes")
        fh = io.BytesIO(source)
    if fh.read(2) == b"\x1f\x8b":
        fh.seek(0)
        if isinstance(source, str):  # a GzipFile over fh would not close fh: gzip's own does
            fh.close()
            return gzip.open(source, "rb"), name  # type: ignore[return-value]
        return gzip.GzipFile(fileobj=fh), name  # type: ignore[return-value]
    fh.seek(0)
    return fh, name


def _read_exactly(fh: io.BufferedIOBase, n: int, name: str) -> bytes:
    try:
        data = fh.read(n)
    except (OSError, EOFError, zlib.error) as exc:
        raise ConeInputError(f"{name}: broken gzip data ({exc})") from None
    return data


def _count_rest(fh: io.BufferedIOBase, name: str, limit: int) -> int:
    """How many bytes are left in the stream (read in chunks and dropped; stops past ``limit``)."""
    total = 0
    while total <= limit:
        chunk = _read_exactly(fh, CHUNK, name)
        if not chunk:
            break
        total += len(chunk)
    return total


def read_idx(source: str | bytes, name: str = "IDX file", max_items: int | None = None
             ) -> np.ndarray:
    """An array from IDX bytes or a path (gzip is detected by its magic bytes).

    With ``max_items`` only the first ``max_items`` entries along the first axis are kept: the
    header is read first, then only those bytes are kept and converted; the rest of the file is
    read in 1 MB chunks to check its length and dropped. So the memory used is that of the kept
    items, whatever the header claims (a small gzip file can claim 250,000 images).

    Raises :class:`ConeInputError` naming the file for a bad magic number, an unknown type, a
    file shorter (or longer) than its header says, or one over ``MAX_IDX_BYTES`` (raw or
    decompressed).
    """
    fh, name = _open_stream(source, name)
    with fh:
        head = _read_exactly(fh, 4, name)
        if len(head) < 4 or head[0] != 0 or head[1] != 0:
            raise ConeInputError(f"{name}: bad magic number {head[:4].hex() or 'empty'}; "
                                 "an IDX file starts with two zero bytes")
        type_code, ndim = head[2], head[3]
        if type_code not in _IDX_TYPES:
            raise ConeInputError(f"{name}: unknown IDX data type 0x{type_code:02x}")
        dims = _read_exactly(fh, 4 * ndim, name) if ndim else b""
        if ndim == 0 or len(dims) < 4 * ndim:
            raise ConeInputError(f"{name}: truncated header ({ndim} dimensions)")
        shape = struct.unpack(f">{ndim}I", dims)
        dtype = np.dtype(_IDX_TYPES[type_code])
        expected = math.prod(shape) * dtype.itemsize  # Python ints: no wrap-around
        if expected > MAX_IDX_BYTES:
            raise ConeInputError(f"{name}: the header {shape} needs {expected:,} bytes, over "
                                 f"the limit of {MAX_IDX_BYTES:,}")
        keep = shape[0] if max_items is None else min(shape[0], max(0, int(max_items)))
        item_bytes = math.prod(shape[1:]) * dtype.itemsize
        body = _read_exactly(fh, keep * item_bytes, name)
        rest = _count_rest(fh, name, MAX_IDX_BYTES)
    found = len(body) + rest
    if found > MAX_IDX_BYTES:
        raise ConeInputError(f"{name}: decompresses to more than {MAX_IDX_BYTES:,} bytes")
    if found != expected:
        raise ConeInputError(f"{name}: truncated or padded data: the header {shape} needs "
                             f"{expected:,} bytes, the file has {found:,}")
    try:
        array = np.frombuffer(body, dtype=dtype).reshape((keep, *shape[1:]))
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

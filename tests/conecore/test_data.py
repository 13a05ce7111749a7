"""Data: the shipped digits, and the IDX reader on files the tests write."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

import conecore as cc
from conecore.data import digits, load_mnist, read_idx, write_idx
from conecore.training import Trainer


def test_digits_are_scaled():
    X, y = digits()
    assert X.shape == (1797, 64) and X.min() == -1.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(dtype):
    arr = (np.arange(24).reshape(2, 3, 4) % 7).astype(dtype)
    back = read_idx(write_idx(arr))
    assert back.dtype == arr.dtype and np.array_equal(back, arr)
    assert np.array_equal(read_idx(gzip.compress(write_idx(arr))), arr)


@pytest.mark.parametrize(
    "raw, match",
    [
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "bad magic number"),
        (b"", "bad magic number"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "unknown IDX data type 0x07"),
        (b"\x00\x00\x08\x02\x00\x00\x00\x02", "truncated header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x03\x05", "truncated or padded data"),
        (b"\x1f\x8b\x00\x00", "broken gzip"),
    ],
)
def test_idx_errors(raw, match):
    with pytest.raises(cc.ConeInputError, match=match):
        read_idx(raw, "t.idx")


def test_load_mnist_from_small_files(tmp_path):
    images = (np.arange(5 * 28 * 28) % 256).astype(np.uint8).reshape(5, 28, 28)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(write_idx(images)))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(write_idx(labels))
    X, y = load_mnist(str(tmp_path))
    assert X.shape == (5, 784) and X.min() == -1.0 and X.max() == 1.0
    assert y.tolist() == [3, 1, 4, 1, 5]
    with pytest.raises(cc.ConeInputError, match="has no t10k-images-idx3-ubyte"):
        load_mnist(str(tmp_path), "test")


def test_reading_a_file_closes_it_gzip_or_not(tmp_path, monkeypatch):
    """A gzip file read from a path left its file open (a GzipFile does not close the file it
    was given): a file descriptor per MNIST upload until the garbage collector ran."""
    import builtins

    data = write_idx(np.arange(12, dtype=np.uint8).reshape(3, 4))
    opened = []
    real_open = builtins.open

    def spy(*args, **kwargs):
        fh = real_open(*args, **kwargs)
        opened.append(fh)
        return fh

    monkeypatch.setattr(builtins, "open", spy)
    for name, raw in (("plain", data), ("packed.gz", gzip.compress(data))):
        path = tmp_path / name
        path.write_bytes(raw)
        opened.clear()
        assert np.array_equal(read_idx(str(path)), np.arange(12).reshape(3, 4))
        assert opened and all(fh.closed for fh in opened), name


def test_trainer_lowers_the_loss_and_stays_in_the_cone():
    cone = cc.Cone.from_inequalities(cc.preset("checkerboard-8"))
    X = torch.as_tensor(digits()[0])
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), cc.ConeLayer(cone, 64))
    trainer = Trainer(model, X, X, batch=128, lr=3e-3, seed=0)
    losses = trainer.run(60)
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:5])
    with torch.no_grad():
        z = model(X).double()
    assert float(cc.relative_violation(torch.as_tensor(np.array(cone.A)), z).max()) < 1e-5
    with pytest.raises(cc.ConeInputError, match="same, non-zero length"):
        Trainer(model, X, X[:3])


def test_a_gzip_idx_bomb_grows_the_readers_memory_by_at_most_150_mb():
    """A 0.2 MB gzip file whose header claims 250,000 images of 28 x 28 (196 MB decompressed):
    with ``max_items`` only the kept images are held and converted (issue 14, item 7)."""
    import gzip
    import struct
    import tracemalloc

    from conecore.data import read_idx

    n = 250_000
    bomb = gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">3I", n, 28, 28) + bytes(n * 784),
                         compresslevel=9)
    assert len(bomb) < 400_000
    tracemalloc.start()
    try:
        images = read_idx(bomb, "bomb.gz", max_items=10_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert images.shape == (10_000, 28, 28)
    assert peak < 150e6, f"peak {peak / 1e6:.0f} MB"
    # Without the cut the same file is 196 MB of images: the bound comes from max_items.
    assert n * 784 > 150e6


def test_max_items_keeps_the_first_items_and_still_checks_the_length():
    import struct

    from conecore.data import read_idx, write_idx

    arr = np.arange(5 * 3, dtype=np.uint8).reshape(5, 3)
    raw = write_idx(arr)
    assert np.array_equal(read_idx(raw, max_items=2), arr[:2])
    assert np.array_equal(read_idx(raw, max_items=99), arr)
    with pytest.raises(cc.ConeInputError, match="truncated or padded"):
        read_idx(raw[:-1], max_items=2)
    with pytest.raises(cc.ConeInputError, match="truncated or padded"):
        read_idx(raw + b"\0", max_items=2)
    assert struct.unpack(">I", raw[4:8]) == (5,)

"""The compiled box kernels of the ConeLayer on a CPU (:mod:`conecore._native_box`): the same
outputs as the torch operations (the forward bit for bit), the same layer, and every way back to
the torch operations (no compiler, a failed build, a failed self-check, ``CONECORE_NATIVE=0``,
traced code, tensors the kernels do not take)."""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import conecore as cc
from conecore import _native_box as nb
from conecore import layer as L
from conecore import layer as layer_module

HAVE_CC = nb.compiler() is not None


@contextlib.contextmanager
def fresh(**env: str) -> Iterator[None]:
    """The kernels loaded again under ``env``, and as before afterwards."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    nb.reset()
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        nb.reset()


def special_rows(z: torch.Tensor) -> torch.Tensor:
    """Rows the box treats specially: inside the box, all zero, tied peaks, a negative peak."""
    n, d = z.shape
    z[0] = z[0].clamp(-0.1, 0.1)
    if n > 1:
        z[1] = 0
    if n > 2:
        z[2, : min(3, d)] = float(z[2].abs().max()) + 1  # ties
    if n > 3:
        z[3, d // 2] = -50.0
    return z


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    yield
    nb.reset()


def test_builds_and_passes_its_self_check_where_there_is_a_compiler() -> None:
    """CI has gcc (``make test`` installs it for pycddlib): the kernels must load there, or the
    layer would quietly fall back and the tests below would check nothing."""
    if not HAVE_CC:
        pytest.skip("no C compiler on this machine")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nb.available()
    assert nb._LIB is not None


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), d=st.integers(1, 300), scale=st.sampled_from([0.05, 1.0, 30.0]),
       bound=st.sampled_from([1.0, 0.5, 3.0]), double=st.booleans(), seed=st.integers(0, 2**16))
def test_kernels_match_the_torch_operations(n: int, d: int, scale: float, bound: float,
                                            double: bool, seed: int) -> None:
    assert nb.available()
    gen = torch.Generator().manual_seed(seed)
    dtype = torch.float64 if double else torch.float32
    z = special_rows(torch.randn(n, d, generator=gen, dtype=dtype) * scale)
    g = torch.randn(n, d, generator=gen, dtype=dtype)
    want = L._box_saved_torch(z.clone(), bound)
    got = nb.box_forward_(z.clone(), bound)
    for a, b in zip(want, got, strict=True):
        assert torch.equal(a, b)  # bit for bit: the same products in the same order
    assert torch.equal(nb.box_(z.clone(), bound), want[0])  # inference: the same, saving nothing
    assert float(got[0].abs().max()) <= bound * (1 + 1e-6)
    gw = L._box_backward_torch(g, *want, bound)
    gg = nb.box_backward(g, *got, bound)
    tol = 1e-12 if double else 1e-5
    assert torch.allclose(gg, gw, rtol=tol, atol=tol), float((gg - gw).abs().max())


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
def test_backward_against_autograd_with_ties_and_both_thread_counts() -> None:
    """The gradient is autograd's of ``z / max(1, |z|_inf / b)`` (ties share the peak's part as
    ``amax``'s backward does), and the rows split between threads give the same numbers."""
    assert nb.available()
    torch.manual_seed(1)
    z = special_rows(torch.randn(300, 200, dtype=torch.float64) * 3)  # 60,000 > PARALLEL_MIN
    g = torch.randn_like(z)
    zr = z.clone().requires_grad_()
    (zr / torch.clamp(zr.abs().amax(-1, keepdim=True) / 0.5, min=1.0)).backward(g)
    threads = torch.get_num_threads()
    try:
        results = []
        for t in (1, 2):
            torch.set_num_threads(t)
            out = nb.box_forward_(z.clone(), 0.5)
            results.append((out[0], nb.box_backward(g, *out, 0.5)))
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(results[0][0], results[1][0]) and torch.equal(results[0][1], results[1][1])
    assert torch.allclose(results[0][1], zr.grad, rtol=1e-10, atol=1e-12)


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
def test_not_a_number_and_infinity_propagate_as_in_torch() -> None:
    assert nb.available()
    z = torch.tensor([[1.0, float("nan"), 3.0], [2.0, float("inf"), -1.0], [0.5, 0.2, -0.3]])
    want = L._box_saved_torch(z.clone(), 1.0)[0]
    got = nb.box_forward_(z.clone(), 1.0)[0]
    assert torch.equal(want.isnan(), got.isnan())
    assert torch.equal(torch.nan_to_num(want), torch.nan_to_num(got))


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
def test_layer_uses_the_kernels_and_gives_the_same_training_step() -> None:
    """A training step and an inference batch of the checkerboard layer with the kernels and
    with the torch operations: the same outputs (to round-off in inference, where the kernel
    adds the rays in another order than the product), the same gradients, every output in the
    box and in the cone."""
    cone = cc.Cone.from_inequalities(cc.preset("checkerboard-8"))
    torch.manual_seed(0)  # (the global generator's state depended on the tests run before)
    layer = cc.ConeLayer(cone, 12, box=1.0)
    x = torch.randn(64, 12) * 4
    calls = {"forward": 0, "backward": 0, "inference": 0}
    fwd, bwd, inf = nb.box_forward_, nb.box_backward, nb.rays_box_

    def counted_fwd(*a):  # type: ignore[no-untyped-def]
        calls["forward"] += 1
        return fwd(*a)

    def counted_bwd(*a):  # type: ignore[no-untyped-def]
        calls["backward"] += 1
        return bwd(*a)

    def counted_inf(*a):  # type: ignore[no-untyped-def]
        calls["inference"] += 1
        return inf(*a)

    results = []
    for native in (True, False):
        with fresh(CONECORE_NATIVE="1" if native else "0"):
            assert nb.available() is native  # loaded and checked before the counting
            nb.box_forward_, nb.box_backward, nb.rays_box_ = counted_fwd, counted_bwd, counted_inf
            try:
                layer.zero_grad()
                z = layer(x)
                z.square().sum().backward()
                with torch.no_grad():
                    zi = layer(x)
            finally:
                nb.box_forward_, nb.box_backward, nb.rays_box_ = fwd, bwd, inf
            results.append((z.detach(), zi, [p.grad.clone() for p in layer.parameters()]))
    # training (saving what the backward needs), inference (saving nothing), the backward
    assert calls == {"forward": 1, "backward": 1, "inference": 1}
    (z1, zi1, g1), (z2, zi2, g2) = results
    assert torch.allclose(zi1, zi2, atol=1e-6)
    assert torch.allclose(z1, z2, atol=1e-6)
    for a, b in zip(g1, g2, strict=True):  # sums in another order: round-off of the largest
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6 * float(b.abs().max()))
    A = torch.as_tensor(np.array(cone.A))
    for z in (z1, zi1):
        assert float(z.abs().max()) <= 1.0 + 1e-6
        assert float(cc.relative_violation(A, z.double()).max()) < 1e-5


def test_switched_off_by_the_environment() -> None:
    with fresh(CONECORE_NATIVE="0"):
        assert not nb.available()
        assert not nb.usable(torch.zeros(3, 3))


@pytest.mark.parametrize("cc_value", ["/nonexistent/cc", "false"])
def test_no_compiler_or_a_failed_build_falls_back_quietly(cc_value: str, tmp_path) -> None:
    """A missing compiler (a laptop without one) or one that fails: the torch operations, no
    warning (nothing the user did), and the layer still trains."""
    with fresh(CC=cc_value, CONECORE_CACHE_DIR=str(tmp_path)), warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not nb.available()
        cone = cc.Cone.from_inequalities(cc.preset("checkerboard-8"))
        layer = cc.ConeLayer(cone, 6, box=1.0)
        layer(torch.randn(50, 6) * 5).sum().backward()
        with torch.no_grad():
            assert float(layer(torch.randn(50, 6) * 5).abs().max()) <= 1.0 + 1e-6
    assert not list(tmp_path.iterdir())  # no library, and no marker: tried again next time


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
def test_a_failed_self_check_warns_and_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def wrong(z: torch.Tensor, bound: float):  # type: ignore[no-untyped-def]
        return z.mul_(0.5), z.new_ones(z.shape[0], 1), z.new_ones(z.shape[0], 1)

    nb.reset()
    monkeypatch.setattr(nb, "box_forward_", wrong)
    with pytest.warns(RuntimeWarning, match="self-check"):
        assert not nb.available()
    assert not nb.usable(torch.zeros(4, 4))


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
def test_compiled_once_into_the_cache_directory(tmp_path) -> None:
    with fresh(CONECORE_CACHE_DIR=str(tmp_path)):
        assert nb.available()
        built = list(tmp_path.glob("box_*.so"))
        assert len(built) == 1 and not [p for p in tmp_path.iterdir() if p not in built]
        stamp = built[0].stat().st_mtime_ns
        nb.reset()
        assert nb.available()
        assert [p.stat().st_mtime_ns for p in tmp_path.glob("box_*.so")] == [stamp]


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
def test_a_build_that_needs_plainer_flags_warns_once_and_is_not_retried(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Flags the compiler refuses (as ``-march=native`` might be by some compiler): the next
    flags build and the kernels run, with a warning that names the refused flags and the
    compiler's error; a marker keeps later processes from trying them again (no warning
    then), and nothing else is left in the folder."""
    bogus = "-fno-such-option-conecore"
    monkeypatch.setattr(nb, "OPENMP_FLAGS", [*nb.OPENMP_FLAGS, bogus])
    monkeypatch.setattr(nb, "EXTRA_FLAGS", [[*nb.EXTRA_FLAGS[0], bogus], *nb.EXTRA_FLAGS[1:]])
    with fresh(CONECORE_CACHE_DIR=str(tmp_path)):
        with pytest.warns(RuntimeWarning, match=f"did not build with .*{bogus}.*error"):
            assert nb.available()
        markers = sorted(p.name for p in tmp_path.glob("box_*.failed"))
        built = list(tmp_path.glob("box_*.so"))
        assert len(markers) in (1, 2) and len(built) == 1
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*markers, built[0].name])
        assert nb._PARALLEL is False  # the OpenMP flags had the bogus one too
        nb.reset()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert nb.available()
        assert list(tmp_path.glob("box_*.so")) == built


def test_the_cpus_own_instructions_by_the_flag_its_compilers_take():
    """On 64-bit Arm (Apple silicon: ``arm64``; Linux: ``aarch64``) clang refuses
    ``-march=native``, so a Mac's first build failed and warned that the kernels may run
    more slowly; ``-mcpu=native`` is what gcc and clang take there. (The kernels' source was
    compiled here by clang 14 for ``aarch64-linux-gnu`` and ``arm64-apple-macos11``.) In a
    process of its own: the module reads the machine once, on import."""
    import subprocess
    import sys

    code = ("import importlib, platform; from conecore import _native_box as nb\n"
            "for m in ('x86_64', 'AMD64', 'arm64', 'aarch64'):\n"
            "    platform.machine = lambda: m; importlib.reload(nb)\n"
            "    print(m, nb.EXTRA_FLAGS[0][0], nb.OPENMP_FLAGS[0])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split("\n")
    assert out[:4] == ["x86_64 -march=native -march=native", "AMD64 -march=native -march=native",
                       "arm64 -mcpu=native -mcpu=native", "aarch64 -mcpu=native -mcpu=native"]


def test_a_compiler_that_hangs_is_stopped_and_tried_again_next_time(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A compiler that runs past the time limit is killed (both processes), leaves nothing in
    the folder, and is no reason to mark the flags: the torch operations run, quietly."""
    fake = tmp_path / "slow-cc"
    fake.write_text('#!/bin/sh\nif [ "$1" = "--version" ]; then echo cc; exit 0; fi\n'
                    'exec sleep 30\n')
    fake.chmod(0o755)
    cache = tmp_path / "cache"
    monkeypatch.setattr(nb, "_BUILD_TIMEOUT", 0.5)
    start = time.monotonic()
    with fresh(CC=str(fake), CONECORE_CACHE_DIR=str(cache)), warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not nb.available()
    assert time.monotonic() - start < 20
    assert not list(cache.iterdir())


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
def test_only_plain_contiguous_float_cpu_tensors_in_eager_code() -> None:
    assert nb.available()
    z = torch.randn(8, 6)
    assert nb.usable(z) and nb.usable(z.double())
    assert not nb.usable(z.t())  # not contiguous
    assert not nb.usable(z.half()) and not nb.usable(z.to(torch.bfloat16))
    assert not nb.usable(z, z.double())  # two dtypes
    assert not nb.usable(torch.zeros(8, 6, dtype=torch.int64))
    assert not nb.usable(torch.nn.Parameter(z))  # a subclass

    seen = []

    def probe(t: torch.Tensor) -> torch.Tensor:
        seen.append(nb.usable(t))
        return t * 2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.trace is deprecated
        torch.jit.trace(probe, (z,), check_trace=False)
    assert seen and not any(seen)  # traced code would not see the kernel: torch operations


def test_a_cache_folder_others_may_write_to_is_not_used(tmp_path) -> None:
    """A library from a folder another user could write to could be anyone's code: such a
    folder means the torch operations, and nothing is built or loaded from it."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with fresh(CONECORE_CACHE_DIR=str(shared)), warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not nb.available()
    assert not list(shared.iterdir())


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
def test_a_compiler_command_with_a_wrapper(tmp_path) -> None:
    """``CC`` may be a command with words (``ccache gcc``): all of them are run."""
    cc = nb.compiler()
    assert cc is not None
    with fresh(CC=f"env {cc[0]}", CONECORE_CACHE_DIR=str(tmp_path)):
        assert nb.compiler()[1:] == [cc[0]]
        assert nb.available()
        assert len(list(tmp_path.glob("box_*.so"))) == 1


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
def test_only_gcc_builds_on_torchs_openmp_threads(tmp_path) -> None:
    """clang's ``-fopenmp`` links LLVM's libomp, a second OpenMP runtime next to torch's GNU
    one: with a compiler that says it is clang the kernels are built without it (one thread,
    still vectorised)."""
    cc = nb.compiler()
    assert cc is not None
    fake = tmp_path / "clang-like"
    fake.write_text(f'#!/bin/sh\nif [ "$1" = "--version" ]; then echo "clang version 17.0.6"; '
                    f'exit 0; fi\nexec {cc[0]} "$@"\n')
    fake.chmod(0o755)
    cache = tmp_path / "cache"
    with fresh(CC=str(fake), CONECORE_CACHE_DIR=str(cache)):
        assert nb.available()
        assert nb._PARALLEL is False
    if nb.torch_uses_gnu_openmp():  # and gcc itself does build on torch's threads
        with fresh(CONECORE_CACHE_DIR=str(cache)):
            assert nb.available() and nb._PARALLEL is ("clang" not in subprocess_version(cc))


def subprocess_version(cc: list[str]) -> str:
    import subprocess

    return subprocess.run([*cc, "--version"], capture_output=True, text=True).stdout.lower()


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 30), d=st.integers(1, 90), k=st.integers(1, 12),
       density=st.sampled_from([0.0, 0.05, 0.3, 1.0]), bound=st.sampled_from([None, 1.0, 0.4]),
       start=st.booleans(), special=st.booleans(), double=st.booleans(),
       seed=st.integers(0, 2**16))
def test_rays_and_box_match_the_torch_operations(n, d, k, density, bound, start, special,
                                                  double, seed) -> None:
    """``box(z + mu R)`` in one pass, bit for bit as the torch operations in the same order:
    sparse and dense rays, rows that end inside a block of 8, coefficients below the flush,
    zero, negative, NaN and inf, with and without the box, from ``z`` and from 0."""
    assert nb.available()
    gen = torch.Generator().manual_seed(seed)
    dtype = torch.float64 if double else torch.float32
    rays = torch.randn(k, d, generator=gen, dtype=dtype)
    rays *= torch.rand(k, d, generator=gen, dtype=dtype) < density
    rays[0, -1] = 2.0  # every ray non-zero somewhere; one in the last (partial) block
    mu = torch.randn(n, k, generator=gen, dtype=dtype).abs_() * 5
    if special:
        values = [0.0, -2.0, torch.finfo(dtype).tiny / 8, float("nan"), float("inf")]
        for v, i in zip(values, torch.randint(0, n * k, (5,), generator=gen).tolist(),
                        strict=True):
            mu.view(-1)[i] = v
    z = torch.randn(n, d, generator=gen, dtype=dtype) * 3 if start else None
    want = nb.rays_box_torch(z, mu, rays, bound, L._box_saved_torch)
    got = nb.rays_box_(None if z is None else z.clone(), mu, rays, nb.ray_blocks(rays), bound)
    assert got.shape == (n, d) and got.is_contiguous()
    assert torch.allclose(got, want, rtol=0, atol=0, equal_nan=True)


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
def test_ray_blocks_hold_every_non_zero_and_no_empty_block() -> None:
    """The checkerboard's rays (one 7 x 7 block of pixels each) by blocks of 8 of the 784
    coordinates: two rays on every block, in increasing order, none of them zero there, so
    the loops take a width of 2; the blocks give the rays back. Dense rays are on every
    block, past ``d`` padded with zeros. Rays on blocks in numbers that vary too much keep
    their own counts (width 0); a little variation is padded with zeros."""
    cone = cc.Cone.from_inequalities(cc.preset("checkerboard-28"))
    rays = torch.as_tensor(np.array(cone.rays), dtype=torch.float32)

    def back(blocks, k, d):  # type: ignore[no-untyped-def]
        ptr, ray, val, _ = blocks
        out = torch.zeros(k, -(-d // 8) * 8)
        for p in range(len(ptr) - 1):
            on = ray[int(ptr[p]):int(ptr[p + 1])].tolist()
            assert on == sorted(set(on))
            for e, j in enumerate(on, start=int(ptr[p])):
                out[j, 8 * p:8 * p + 8] += val[e]
        return out[:, :d]

    blocks = nb.ray_blocks(rays)
    ptr, ray, val, width = blocks
    assert width == 2 and ptr.tolist() == list(range(0, 197, 2)) and ray.dtype == torch.int32
    assert bool((val != 0).any(-1).all())  # no ray on a block where it is all zero
    assert torch.equal(back(blocks, 16, 784), rays)
    dense = torch.randn(3, 20)
    ptr, ray, val, width = nb.ray_blocks(dense)
    assert width == 3 and ptr.tolist() == [0, 3, 6, 9] and ray.tolist() == [0, 1, 2] * 3
    assert torch.equal(val[8, 4:], torch.zeros(4)) and torch.equal(val[6, :4], dense[0, 16:])
    uneven = torch.zeros(6, 40)
    uneven[:, :8] = 1.0  # six rays on block 0, ray j alone on block j
    for j in range(1, 5):
        uneven[j, 8 * j + 3] = 2.0
    blocks = nb.ray_blocks(uneven)
    assert blocks[3] == 0 and (blocks[0][1:] - blocks[0][:-1]).tolist() == [6, 1, 1, 1, 1]
    assert torch.equal(back(blocks, 6, 40), uneven)
    few = torch.zeros(2, 40)
    few[0], few[1, :32] = 1.0, -1.0  # two rays on four blocks, one on the last: padded
    blocks = nb.ray_blocks(few)
    assert blocks[3] == 2 and blocks[2].shape == (10, 8) and blocks[1][-1] == 1
    assert torch.equal(blocks[2][-1], torch.zeros(8)) and torch.equal(back(blocks, 2, 40), few)


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
def test_rays_and_box_split_between_threads_give_the_same_numbers() -> None:
    assert nb.available()
    torch.manual_seed(2)
    rays = torch.randn(16, 784) * (torch.rand(16, 784) < 0.1)
    mu, z = torch.rand(300, 16) * 3, torch.randn(300, 784)  # 235,200 > PARALLEL_MIN
    threads = torch.get_num_threads()
    try:
        results = []
        for t in (1, 2):
            torch.set_num_threads(t)
            results.append(nb.rays_box_(z.clone(), mu, rays, nb.ray_blocks(rays), 1.0))
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(results[0], results[1])


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
def test_a_wrong_rays_kernel_fails_the_self_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The self-check covers the rays kernel too: one that skips the last block warns, and
    the torch operations run."""
    real = nb.rays_box_

    def wrong(z, mu, rays, blocks, bound):  # type: ignore[no-untyped-def]
        ptr, ray, val, _ = blocks
        ptr = ptr.clone()
        ptr[-1] = ptr[-2]  # no ray on the last block
        return real(z, mu, rays, (ptr, ray, val, 0), bound)

    nb.reset()
    monkeypatch.setattr(nb, "rays_box_", wrong)
    with pytest.warns(RuntimeWarning, match="self-check"):
        assert not nb.available()


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
@pytest.mark.parametrize("name, kernel", [("checkerboard-8", "rays_box_"),
                                          ("pyramid", "rays_box_"),
                                          ("checkerboard-8", "coef"),
                                          ("whole-space", "box_")])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_layer_inference_takes_the_kernels_and_follows_the_cone(name, kernel, dtype,
                                                                monkeypatch) -> None:
    """CPU inference with the kernels: cones with rays take the coefficients' and the rays
    kernels (with lines from the product, pointed from 0), cones without rays the box
    kernel; the outputs are the projected path's to round-off, in the cone and the box; what
    the kernels read is made again when the rays change (another dtype, a state dict of the
    same cone)."""
    assert nb.available()
    # the kernels' path (small cones with lines take the float64 line map otherwise)
    monkeypatch.setattr(layer_module, "_FLOAT64_LINES_MAX_D", 0)
    cone = cc.Cone.from_inequalities(cc.preset(name))
    layer = cc.ConeLayer(cone, 6, box=1.5).to(dtype)
    calls = []
    real = getattr(nb, kernel)
    monkeypatch.setattr(nb, kernel, lambda *a: calls.append(1) or real(*a))
    x = torch.randn(40, 6, dtype=dtype) * 5
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    with torch.no_grad():
        z = layer(x)
        assert calls and z.dtype == dtype and z.shape == (40, cone.dim)
        assert torch.allclose(z, layer._forward_projected(x, False, False), atol=tol)
        assert float(z.abs().max()) <= 1.5 * (1 + 1e-6)
        A = torch.as_tensor(np.array(cone.A))
        assert float(cc.relative_violation(A, z.double()).max()) < tol
        if kernel == "rays_box_":
            assert layer._native is not None
            other = torch.float64 if dtype == torch.float32 else torch.float32
            layer.to(other)  # the rays are re-rounded: the blocks are made again
            assert layer._native is None
            z = layer(x.to(other))
            assert layer._native is not None and layer._native[1][2].dtype == other
            assert float(cc.relative_violation(A, z.double()).max()) < 1e-5
            layer.load_state_dict(layer.state_dict())
            assert layer._native is None


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 13), m=st.integers(1, 70), k=st.integers(1, 40),
       scale=st.sampled_from([1e-3, 1.0, 30.0, 1e3]), nonneg=st.sampled_from(sorted(nb.MAPS)),
       double=st.booleans(), seed=st.integers(0, 2**16))
def test_coefficients_are_the_map_of_the_product(n, m, k, scale, nonneg, double, seed) -> None:
    """``nonneg(h W^T + b)`` by the kernel, within the rounding of the sums in any order and a
    few units in the last place of the map, for row counts and coefficient counts around
    the groups of 4 and 16; non-negative; a row with a NaN gives NaN. The kernel knows every
    map the layer offers."""
    assert nb.available() and set(nb.MAPS) == set(L.NONNEG)
    gen = torch.Generator().manual_seed(seed)
    dtype = torch.float64 if double else torch.float32
    h = torch.randn(n, m, generator=gen, dtype=dtype) * scale
    W = torch.randn(k, m, generator=gen, dtype=dtype) / m**0.5
    b = torch.randn(k, generator=gen, dtype=dtype)
    mu = nb.coef(h, *nb.coef_weights(W, b), k, nonneg)
    assert mu.shape == (n, k) and mu.dtype == dtype
    assert float(nb.coef_error(h, W, b, nonneg, mu).max()) <= 1
    assert bool((mu >= 0).all())
    h[-1, 0] = float("nan")
    assert bool(nb.coef(h, *nb.coef_weights(W, b), k, nonneg)[-1].isnan().all())


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
@pytest.mark.parametrize("wrong", ["map", "product"])
def test_a_wrong_coefficients_kernel_fails_the_self_check(wrong, monkeypatch) -> None:
    """The self-check covers the coefficients' kernel: softplus taken for relu, or a
    product without its last input column, warns, and the torch operations run."""
    real = nb.coef

    def bad(h, WT, b, k, nonneg):  # type: ignore[no-untyped-def]
        if wrong == "map":
            return real(h, WT, b, k, "relu" if nonneg == "softplus" else nonneg)
        WT = WT.clone()
        WT[-1] = 0.0
        return real(h, WT, b, k, nonneg)

    nb.reset()
    monkeypatch.setattr(nb, "coef", bad)
    with pytest.warns(RuntimeWarning, match="self-check"):
        assert not nb.available()


def _sparse_basis(gen: torch.Generator, r: int, d: int, dtype: torch.dtype) -> torch.Tensor:
    """``r <= d`` orthonormal rows with disjoint supports: stripes of the ``d`` coordinates,
    every one in a row (a block that runs past ``d`` holds a non-zero)."""
    owner = torch.arange(d) * r // d
    S = torch.randn(r, d, generator=gen, dtype=dtype) * (owner == torch.arange(r)[:, None])
    return S / S.norm(dim=1, keepdim=True)


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
@settings(max_examples=120, deadline=None)
@given(n=st.integers(1, 20), d=st.integers(2, 90), r=st.integers(1, 6), k=st.integers(0, 5),
       bound=st.sampled_from([None, 1.0, 0.4]), double=st.booleans(),
       seed=st.integers(0, 2**16))
def test_line_map_and_box_match_the_torch_operations(n, d, r, k, bound, double, seed) -> None:
    """Training's compiled line map and box, ``box(y + (mu Rc - y S^T) S)``, and its backward
    against the torch operations to round-off: sparse bases whose rows end inside a block of
    8, with and without rays and the box."""
    assert nb.available()
    r = min(r, d)
    gen = torch.Generator().manual_seed(seed)
    dtype = torch.float64 if double else torch.float32
    S = _sparse_basis(gen, r, d, dtype)
    blocks = (nb.row_blocks(S), nb.ray_blocks(S))  # whatever the density (line_blocks' limit)
    coords = torch.randn(k, r, generator=gen, dtype=dtype)
    y = torch.randn(n, d, generator=gen, dtype=dtype) * 3
    mu = torch.rand(n, k, generator=gen, dtype=dtype) * 2 if k else None
    got = nb.line_box_(y.clone(), mu, coords, S, blocks, bound)
    want = nb.line_box_torch(y, mu, coords, S, bound, L._box_saved_torch)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    for a, b in zip(got, want, strict=True):
        assert (a is None) == (b is None)
        assert a is None or torch.allclose(a, b, rtol=tol, atol=tol)
    g = torch.randn(n, d, generator=gen, dtype=dtype)
    saved = [None] * 3 if bound is None else list(got)
    back = nb.line_box_backward(g, *saved, S, blocks, bound)
    ref = nb.line_box_backward_torch(g, *saved, S, bound, L._box_backward_torch)
    for a, b in zip(back, ref, strict=True):
        assert torch.allclose(a, b, rtol=10 * tol, atol=tol)


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
@pytest.mark.parametrize("box", [1.0, None])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_training_takes_the_line_kernels_with_the_same_step(box, dtype) -> None:
    """A checkerboard layer trained where the line map goes on the outputs (inputs wider than
    the batch) takes the compiled line map and box each way, with a sparse basis of
    ``row(A)`` (its signed blocks normalised), and gives the torch operations' outputs and
    gradients (inputs' too) to round-off; the outputs are in the cone."""
    cone = cc.Cone.from_inequalities(cc.preset("checkerboard-8"))
    layer = cc.ConeLayer(cone, 40, box=box).to(dtype)
    S, coords, _ = layer._sparse_lines()
    assert torch.allclose(S @ S.T, torch.eye(S.shape[0], dtype=dtype), atol=1e-6)
    basis = layer.line_basis
    assert torch.allclose(S.T @ S, basis.T @ basis, atol=1e-6)  # the same projection
    assert torch.allclose(coords @ S, layer.rays, atol=1e-6)  # the rays, in S's coordinates
    x = torch.randn(8, 40, dtype=dtype) * 3
    calls = {"forward": 0, "backward": 0}
    fwd, bwd = nb.line_box_, nb.line_box_backward

    def counted(name, fn):  # type: ignore[no-untyped-def]
        def call(*a):  # type: ignore[no-untyped-def]
            calls[name] += 1
            return fn(*a)
        return call

    results = []
    for native in (True, False):
        with fresh(CONECORE_NATIVE="1" if native else "0"):
            assert nb.available() is native  # loaded and checked before the counting
            nb.line_box_, nb.line_box_backward = counted("forward", fwd), counted("backward", bwd)
            try:
                layer.zero_grad()
                xi = x.clone().requires_grad_()
                z = layer(xi)
                (z * torch.linspace(-1, 2, z.shape[1], dtype=dtype)).square().sum().backward()
            finally:
                nb.line_box_, nb.line_box_backward = fwd, bwd
            results.append((z.detach(), xi.grad, [p.grad.clone() for p in layer.parameters()]))
    assert calls == {"forward": 1, "backward": 1}
    (z1, gx1, g1), (z2, gx2, g2) = results
    tol = 1e-5 if dtype == torch.float32 else 1e-11
    assert torch.allclose(z1, z2, rtol=tol, atol=tol)
    assert torch.allclose(gx1, gx2, rtol=10 * tol, atol=tol)
    for a, b in zip(g1, g2, strict=True):
        assert torch.allclose(a, b, rtol=10 * tol, atol=tol)
    A = torch.as_tensor(np.array(cone.A))
    assert float(cc.relative_violation(A, z1.double()).max()) < 1e-5


def test_a_sparse_basis_only_where_the_rows_are_orthogonal() -> None:
    """The sparse basis needs ``A``'s rows orthogonal (the checkerboards'); other cones keep
    the torch operations, and ``.to()`` makes it again in the new dtype."""
    board = cc.ConeLayer(cc.Cone.from_inequalities(cc.preset("checkerboard-28")), 4)
    S = board._sparse_lines()[0]
    assert S.shape == (16, 784) and int((S != 0).sum()) == 784
    board.double()
    assert board._sparse is None and board._sparse_lines()[0].dtype == torch.float64
    wedge = cc.ConeLayer(cc.Cone.from_inequalities(cc.preset("wedge-line")), 4)
    assert wedge.num_lines > 0 and wedge._sparse_lines() is None


@pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
def test_a_wrong_line_kernel_fails_the_self_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The self-check covers the line kernels: a backward that leaves out the projection
    warns, and the torch operations run."""
    real = nb.line_box_backward

    def wrong(g, out, inv, peak, S, blocks, bound):  # type: ignore[no-untyped-def]
        res, coords = real(g, out, inv, peak, S, blocks, bound)
        return res + coords @ S, coords

    nb.reset()
    monkeypatch.setattr(nb, "line_box_backward", wrong)
    with pytest.warns(RuntimeWarning, match="self-check"):
        assert not nb.available()


def test_inference_follows_weight_updates_torch_counts_and_to_drops_the_caches() -> None:
    """Inference's caches (the folded weight, the kernels' layouts) follow an optimiser's
    step, in-place updates of the parameters, and a manual step through ``.data`` after a
    training forward (which drops them); after a change through ``.data`` with no training
    forward since, which torch's version counters do not see (documented), ``.float()`` drops
    the caches. A frozen layer keeps them."""
    cone = cc.Cone.from_inequalities(cc.preset("checkerboard-8"))
    layer = cc.ConeLayer(cone, 6, box=1.0)
    x = torch.randn(5, 6)

    def infer() -> torch.Tensor:
        with torch.no_grad():
            return layer(x)

    def fresh_outputs() -> torch.Tensor:  # the projected path: nothing cached
        with torch.no_grad():
            return layer._forward_projected(x, False, False)

    before = infer()
    layer(x).square().sum().backward()
    torch.optim.SGD(layer.parameters(), lr=0.5).step()
    assert not torch.allclose(infer(), before) and torch.allclose(infer(), fresh_outputs(),
                                                                  atol=1e-5)
    with torch.no_grad():
        layer.ray_coef.weight.mul_(-1.0)
    assert torch.allclose(infer(), fresh_outputs(), atol=1e-5)
    for i in range(3):  # old tutorials' manual step, through .data: unseen by the versions,
        before = infer()  # but each training forward drops the caches (under autocast too)
        layer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=i == 2):
            layer(x).float().square().sum().backward()
        for p in layer.parameters():
            p.data -= 0.5 * p.grad
        assert not torch.allclose(infer(), before)
        assert torch.allclose(infer(), fresh_outputs(), atol=1e-5)
    infer()
    layer.line_coef.weight.data.add_(1.0)  # no training forward since: unseen (documented) ...
    layer.float()  # ... so the caches are dropped by hand
    assert torch.allclose(infer(), fresh_outputs(), atol=1e-5)
    frozen = cc.ConeLayer(cone, 6, box=1.0).requires_grad_(False)
    xs = torch.randn(5, 6, requires_grad=True)
    with torch.no_grad():
        frozen(xs)
    kept = frozen._native if nb.available() else frozen._folded
    frozen(xs).sum().backward()  # gradients for the input only: the caches stay
    assert kept is not None and kept is (frozen._native if nb.available() else frozen._folded)

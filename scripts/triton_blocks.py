"""Time the ConeLayer's Triton kernels (conecore._triton_rays_box) on a GPU for several splits
of a row block over threads: PER_THREAD entries of each block tensor per thread (8, 16 - the
default - and 32: the split before, which spilled registers on sm_90). One row per kernel,
width and batch, in microseconds (triton.testing.do_bench), printed as measured. Shapes: the
checkerboard's 16 rays and 16 basis rows, softplus, a box of 0.5.

    python -m scripts.triton_blocks                  # on CUDA, about a minute
    python -m scripts.triton_blocks --quick --device cpu   # smoke test: Triton's interpreter
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import torch

SPLITS = (8, 16, 32)


def bench(fn: Callable[[], object], device: torch.device) -> float:
    """Microseconds a call: do_bench on CUDA, one timed call elsewhere (the interpreter)."""
    if device.type == "cuda":
        from triton.testing import do_bench

        return float(do_bench(fn)) * 1e3
    fn()
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e6


K: Any = None  # conecore._triton_rays_box, imported by main()


def kernels(n: int, d: int, device: torch.device) -> dict[str, Callable[[], object]]:
    """Each kernel's call on random operands of ``n`` rows of ``d`` (the in-place ones on a
    scratch copy: their repeated calls give the same work)."""
    g = torch.Generator().manual_seed(0)
    k, r, nonneg, bound = 16, 16, "softplus", 0.5

    def rand(*shape: int) -> torch.Tensor:
        return (torch.randn(*shape, generator=g) * 3).to(device)

    yu, rays, z, u, grad = rand(n, d + k), rand(k, d), rand(n, d), rand(n, k), rand(n, d)
    basis = torch.linalg.qr(torch.randn(d, r, generator=g))[0].T.contiguous().to(device)
    coords = rand(k, r)
    boxed, inv, peak = K.box_forward_(z.clone(), bound)
    lined, mu, linv, lpeak = K.line_box_forward_(z.clone(), u, coords, basis, nonneg, bound)
    scratch = z.clone()
    return {
        "rays_box (inference)": lambda: K.rays_box(yu, rays, nonneg, bound),
        "box forward": lambda: K.box_forward_(scratch, bound),
        "box backward": lambda: K.box_backward(grad, boxed, inv, peak, bound),
        "line map + box forward": lambda: K.line_box_forward_(scratch, u, coords, basis,
                                                              nonneg, bound),
        "line map + box backward": lambda: K.line_box_backward(grad, lined, linv, lpeak, basis,
                                                               u, mu, coords, nonneg, bound),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true", help="tiny shapes (a smoke test)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("no CUDA device here; pass --device cpu (Triton's interpreter)")
    if device.type == "cpu":  # read when the kernels are defined: before the import
        os.environ["TRITON_INTERPRET"] = "1"
    global K
    from conecore import _triton_rays_box as K

    shapes = ([(3, 64), (2, 100)] if args.quick
              else [(n, d) for d in (784, 4096) for n in (256, 4096, 65536)])
    print("kernel | d | batch | " + " | ".join(f"{p} per thread (us)" for p in SPLITS),
          flush=True)
    default = K.PER_THREAD
    try:
        for n, d in shapes:
            times: dict[str, list[float]] = {}
            for split in SPLITS:
                K.PER_THREAD = split
                for name, fn in kernels(n, d, device).items():
                    times.setdefault(name, []).append(bench(fn, device))
            for name, row in times.items():
                blocks = " | ".join(f"{t:.1f}" for t in row)
                print(f"{name} | {d} | {n} | {blocks}", flush=True)
    finally:
        K.PER_THREAD = default
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

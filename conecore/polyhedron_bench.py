"""Benchmark of the PolyhedronLayer: ``python -m conecore.polyhedron_bench`` prints a table,
``--json`` one object for machines.

Cases (``--case NAME``, ``all`` by default):

* ``simplex-784``: the probability simplex ``{x >= 0, sum x = 1}`` in 784-D (probability vectors
  over the pixels of a 28 x 28 image). Built with :meth:`Polyhedron.from_parts` from its known
  vertices: the exact double description of the 786 x 785 homogenised system takes about 25 s
  with the Python engine and over 30 s with pycddlib, which is not what is measured here.
* ``polytope-3d``: the convex hull of 40 random integer points in ``[-100, 100]^3``.

Methods: a plain head (``nn.Linear``, no constraint; its outputs scaled to the polyhedron's
size, so that many fall outside), the PolyhedronLayer, and the plain head
followed by a test-time projection: OSQP (one QP per sample, the paper's baseline; its time per
sample measured once on ``--max-solver-samples`` distinct head outputs and multiplied by the
batch size) and an exact batched projection (sorting for
the simplex, the face enumeration of :mod:`conecore.polyhedron_projection` for the 3-D
polytope), each set up once outside the timing. Each row gives the worst
:func:`~conecore.polyhedron_violation` of its outputs.

:func:`polyhedron_suite` is the suite as a function of one :class:`PolyhedronBench`, so
``conecore.bench`` (or a notebook, or the Benchmark page) can call it without the command line.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from functools import partial

import numpy as np

from conecore.bench import DEVICES, MAX_BATCH, _bounded, _devices, _timer, machine
from conecore.polyhedron import Polyhedron
from conecore.projection import osqp_available

CASES: dict[str, str] = {
    "simplex-784": "the probability simplex in 784-D (784 vertices, one equality)",
    "polytope-3d": "the convex hull of 40 random integer points in [-100, 100]^3",
}


def simplex_784(n: int = 784) -> Polyhedron:
    """``{x >= 0, sum x = 1}`` in ``R^n`` from its known vertices (no double description)."""
    A = np.vstack([-np.eye(n, dtype=np.int64), np.ones((1, n), dtype=np.int64)])
    return Polyhedron.from_parts(A, [0] * n + [1], np.eye(n, dtype=np.int64), equalities=[n])


def polytope_3d(seed: int = 0) -> Polyhedron:
    """The convex hull of 40 random integer points in ``[-100, 100]^3`` (V -> H, then H -> V)."""
    rng = np.random.default_rng(seed)
    return Polyhedron.from_generators(rng.integers(-100, 101, size=(40, 3)))


CASE_BUILDERS: dict[str, Callable[[], Polyhedron]] = {
    "simplex-784": simplex_784, "polytope-3d": polytope_3d}
EXACT_PROJECTION = {"simplex-784": "simplex", "polytope-3d": "faces"}


@dataclass(frozen=True)
class PolyhedronBench:
    """The suite's configuration: the cases to run, a layer of input width ``in_features``, each
    batch size of ``batches`` on each device of ``device`` (one of :data:`DEVICES`), ``repeat``
    timed runs, OSQP on at most ``max_solver_samples`` samples of a batch (scaled)."""

    cases: tuple[str, ...] = tuple(CASES)
    in_features: int = 256
    batches: tuple[int, ...] = (1, 16, 256, 4096)
    device: str = "auto"
    repeat: int = 5
    max_solver_samples: int = 256

    def __post_init__(self) -> None:
        for name, value in (("in_features", self.in_features), ("repeat", self.repeat),
                            ("max_solver_samples", self.max_solver_samples)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} has to be an integer of at least 1. Got {value!r}")
        unknown = set(self.cases) - set(CASES)
        if unknown or not self.cases:
            raise ValueError(f"cases must be among {', '.join(CASES)}. Got {self.cases!r}")
        batches = tuple(self.batches)
        if not batches or not all(isinstance(b, int) and 1 <= b <= MAX_BATCH for b in batches):
            raise ValueError(f"batches has to hold batch sizes from 1 to {MAX_BATCH}. "
                             f"Got {self.batches!r}")
        object.__setattr__(self, "batches", tuple(sorted(set(batches))))
        if self.device not in DEVICES:
            raise ValueError(f"device has to be one of {', '.join(DEVICES)}. Got {self.device!r}")


@dataclass
class PolyhedronRow:
    case: str
    device: str
    batch: int
    method: str
    batch_ms: float
    per_sample_us: float
    vs_head: float
    osqp_over_this: float
    max_violation: float
    note: str


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence OSQP's "Polishing not needed" while timing (it writes through Python's
    ``sys.stdout``, or C's stdout in some builds); process-wide, so the CLI only."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(io.StringIO()):
            os.dup2(null.fileno(), 1)
            yield
    finally:
        with contextlib.suppress(Exception):  # C's stdio buffer, before fd 1 comes back
            import ctypes

            ctypes.CDLL(None).fflush(None)
        os.dup2(saved, 1)
        os.close(saved)


def polyhedron_suite(config: PolyhedronBench, progress: Callable[[float, str], None] | None = None,
                     quiet_solvers: bool = False) -> list[PolyhedronRow]:
    """One row per case, device, batch size and method; ``progress(fraction, label)`` after each
    batch size. ``quiet_solvers`` silences OSQP's C-level prints (process-wide: CLI only)."""
    import torch
    from torch import nn

    from conecore.polyhedron_layer import PolyhedronLayer, polyhedron_violation
    from conecore.polyhedron_projection import Projector

    rows: list[PolyhedronRow] = []
    devices = _devices(config.device)
    total = len(config.cases) * len(devices) * len(config.batches)
    done = 0
    gen = torch.Generator().manual_seed(0)
    h = config.in_features
    for case in config.cases:
        poly = CASE_BUILDERS[case]()
        exact = EXACT_PROJECTION[case]
        exact_projection = Projector(poly, exact)
        osqp = Projector(poly, "osqp") if osqp_available() else None  # torch alone: no row
        for device in devices:
            torch.manual_seed(0)
            head = nn.Linear(h, poly.dim)
            with torch.no_grad():  # outputs at the polytope's scale: many fall outside
                head.weight.mul_(max(1.0, poly.scale))
                head.bias.mul_(max(1.0, poly.scale))
            head = head.to(device)
            layer = PolyhedronLayer(poly, h).to(device)
            with torch.no_grad():
                pool = head(torch.randn(config.max_solver_samples, h, generator=gen).to(
                    device)).double().cpu().numpy()
            pool_ms: float | None = None
            timed = _timer(device)
            for batch in config.batches:
                x = torch.randn(batch, h, generator=gen).to(device)
                found: list[tuple[str, float, float, str]] = []
                with torch.no_grad():
                    t_head, _, Y = timed(partial(head, x), config.repeat)
                    found.append(("plain head (no constraint)", t_head,
                                  float(polyhedron_violation(poly, Y.double()).max()), ""))
                    t, _, Z = timed(partial(layer, x), config.repeat)
                    found.append(("PolyhedronLayer", t,
                                  float(polyhedron_violation(poly, Z.double()).max()), ""))
                    if osqp is not None:
                        # OSQP: the time per sample over a pool of distinct samples (warm starts
                        # go from one sample to the next; re-solving one y would be instant)
                        if pool_ms is None:
                            quiet = _quiet_stdout() if quiet_solvers else contextlib.nullcontext()
                            with quiet:
                                t, _, _ = _bounded(partial(osqp, pool), min(config.repeat, 3))
                            pool_ms = t / len(pool)
                        with (_quiet_stdout() if quiet_solvers else contextlib.nullcontext()):
                            n = min(batch, config.max_solver_samples)
                            Zo = osqp(Y[:n].double().cpu().numpy())
                        found.append(("head + OSQP projection", t_head + pool_ms * batch,
                                      float(polyhedron_violation(poly, Zo).max()),
                                      f"{pool_ms * 1e3:.0f} us a sample, over {len(pool)} samples"))
                    t, _, Ze = timed(partial(exact_projection, Y.double()), config.repeat)
                    found.append((f"head + exact projection ({exact})", t_head + t,
                                  float(polyhedron_violation(poly, Ze).max()), ""))
                done += 1
                if progress is not None:
                    progress(done / total, f"{case}, {device}, batch {batch}")
                t_osqp = next((t for name, t, _, _ in found if "OSQP" in name), math.nan)
                for name, t, viol, note in found:
                    rows.append(PolyhedronRow(case, device, batch, name, t, 1e3 * t / batch,
                                              t / t_head, t_osqp / t, viol, note))
    return rows


def print_rows(rows: list[PolyhedronRow]) -> None:
    width = max(len(r.method) for r in rows)
    if rows and not any("OSQP" in r.method for r in rows):
        print("osqp is not installed here (pip install osqp): no OSQP row, and OSQP/this is nan")
    case = None
    for r in rows:
        if r.case != case:
            case = r.case
            print(f"\n{case}: {CASES[case]}")
            print(f"{'device':6s} {'batch':>5s}  {'method':{width}s}  {'ms/batch':>9s}  "
                  f"{'us/sample':>9s}  {'x head':>7s}  {'OSQP/this':>9s}  {'max viol':>9s}  note")
        print(f"{r.device:6s} {r.batch:5d}  {r.method:{width}s}  {r.batch_ms:9.3f}  "
              f"{r.per_sample_us:9.2f}  {r.vs_head:7.2f}  {r.osqp_over_this:9.1f}  "
              f"{r.max_violation:9.1e}  {r.note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conecore.polyhedron_bench",
        description="The PolyhedronLayer against a plain head and test-time projections.")
    parser.add_argument("--case", default="all", choices=["all", *CASES])
    parser.add_argument("--batch", default="1,16,256,4096",
                        help="comma-separated batch sizes (default 1,16,256,4096)")
    parser.add_argument("--in-features", type=int, default=256)
    parser.add_argument("--device", default="auto", choices=DEVICES)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--max-solver-samples", type=int, default=256)
    parser.add_argument("--json", action="store_true", help="one JSON object, no table")
    args = parser.parse_args(argv)
    try:
        batches = tuple(int(b) for b in args.batch.split(","))
        config = PolyhedronBench(cases=tuple(CASES) if args.case == "all" else (args.case,),
                                 in_features=args.in_features, batches=batches,
                                 device=args.device, repeat=args.repeat,
                                 max_solver_samples=args.max_solver_samples)
    except ValueError as exc:
        parser.error(str(exc))
    rows = polyhedron_suite(config, quiet_solvers=True)
    if args.json:
        print(json.dumps({"machine": machine(), "config": asdict(config),
                          "rows": [asdict(r) for r in rows]}))
    else:
        print(f"machine: {machine()}")
        print_rows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

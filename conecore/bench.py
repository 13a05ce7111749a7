"""Benchmarks: ``python -m conecore.bench`` prints a table; ``--json`` prints one for machines.

Suites:

* ``convert`` — H → V conversion (:meth:`Cone.from_inequalities`) of the presets that matter,
  the paper's 28 x 28 checkerboard (16 rows, 784 columns) in integer and in float form first,
  and, for comparison, pycddlib's plain float and exact conversions of the same matrix.

Times are the median of ``--repeat`` runs after one warm-up, in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class Result:
    suite: str
    case: str
    median_ms: float
    best_ms: float
    repeat: int
    detail: str


def _time(fn: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    out = fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times), out


def _plain_cdd(A: np.ndarray, exact: bool) -> int:
    """pycddlib on the full problem, as a baseline: number of rays plus lines found."""
    import cdd
    import cdd.gmp

    mod = cdd.gmp if exact else cdd
    rows = [[0] + [-int(v) if exact else -float(v) for v in row] for row in A]
    mat = mod.matrix_from_array(rows, rep_type=cdd.RepType.INEQUALITY)
    gens = mod.copy_generators(mod.polyhedron_from_matrix(mat))
    return len(gens.array)


def convert_suite(repeat: int, baselines: bool) -> list[Result]:
    from conecore.cone import Cone
    from conecore.presets import preset

    cb28 = preset("checkerboard-28")
    cases: list[tuple[str, Callable[[], object]]] = [
        ("checkerboard 28x28, integer", lambda: Cone.from_inequalities(cb28)),
        ("checkerboard 28x28, float", lambda: Cone.from_inequalities(cb28.astype(float))),
        ("checkerboard 8x8, integer", lambda: Cone.from_inequalities(preset("checkerboard-8"))),
        ("ice-cream, 64 facets (float)", lambda: Cone.from_inequalities(preset("ice-cream", k=64))),
        ("octahedral 4-D (degenerate)", lambda: Cone.from_inequalities(preset("octahedral"))),
        ("monotone, d = 50", lambda: Cone.from_inequalities(preset("monotone", d=50))),
    ]
    results = []
    for name, fn in cases:
        med, best, cone = _time(fn, repeat)
        results.append(Result("convert", name, med, best, repeat, repr(cone)))
    if baselines:
        for exact in (False, True):
            label = "pycddlib " + ("exact (gmp)" if exact else "float") + ", full 784-D problem"
            n = 1 if exact else repeat
            med, best, count = _time(lambda e=exact: _plain_cdd(cb28, e), n)
            results.append(Result("convert", label, med, best, n, f"{count} generators"))
    return results


SUITES = {"convert": convert_suite}


def _machine() -> str:
    import os

    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conecore.bench",
        description="Benchmarks of conecore (median of repeated runs after a warm-up).",
    )
    parser.add_argument("--suite", choices=[*SUITES, "all"], default="all",
                        help="which benchmarks to run (default: all)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per case (default 7)")
    parser.add_argument("--no-baselines", action="store_true",
                        help="skip the plain pycddlib baselines (the exact one takes seconds)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    suites = list(SUITES) if args.suite == "all" else [args.suite]
    results: list[Result] = []
    for name in suites:
        results += SUITES[name](args.repeat, not args.no_baselines)
    if args.json:
        json.dump({"machine": _machine(), "results": [asdict(r) for r in results]}, sys.stdout,
                  indent=2)
        print()
        return 0
    print(f"machine: {_machine()}")
    width = max(len(r.case) for r in results)
    print(f"{'suite':8s}  {'case':{width}s}  {'median ms':>10s}  {'best ms':>9s}  detail")
    for r in results:
        print(f"{r.suite:8s}  {r.case:{width}s}  {r.median_ms:10.2f}  {r.best_ms:9.2f}  {r.detail}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

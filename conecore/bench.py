"""Benchmarks: ``python -m conecore.bench`` prints a table; ``--json`` prints one for machines.

Suites:

* ``convert`` — H → V conversion (:meth:`Cone.from_inequalities`) of the presets that matter,
  the paper's 28 x 28 checkerboard (16 rows, 784 columns) in integer and in float form first,
  and, for comparison, pycddlib's plain float and exact conversions of the same matrix.
* ``layer`` — the paper's comparison: forward time of the ConeLayer against a plain
  ``nn.Linear`` head (the cost limit), the closed form, and the plain head followed by a
  test-time projection (per-sample OSQP as in the paper, exact NNLS, the batched dual method),
  over batch sizes and devices, with each method's worst relative violation.
* ``toy`` — the paper's toy experiment: learn the projection onto the checkerboard cone
  (:mod:`conecore.experiments`).

Times are medians of ``--repeat`` runs after a warm-up (``torch.cuda.synchronize()`` on GPU).
Per-sample solvers (OSQP, NNLS) are timed on at most ``--max-solver-samples`` samples of a batch
and scaled to the batch; such rows say so.
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
from functools import partial

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


def convert_suite(args: argparse.Namespace) -> list[Result]:
    repeat, baselines = args.repeat, not args.no_baselines
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


def _load_cone(spec: object):
    """A Cone, a preset name, or a path to a cone file (.json from ``cone_to_json``, .ine,
    .csv)."""
    import os

    from conecore.cone import Cone
    from conecore.formats import cone_from_json, parse_matrix
    from conecore.presets import PRESETS, preset

    if isinstance(spec, Cone):
        return spec
    if spec in PRESETS:
        return Cone.from_inequalities(preset(spec))
    if not os.path.exists(spec):
        raise SystemExit(f"--cone: '{spec}' is neither a preset ({', '.join(PRESETS)}) nor a file")
    with open(spec, encoding="utf-8") as fh:
        text = fh.read()
    if spec.endswith(".json"):
        return cone_from_json(text)
    return Cone.from_inequalities(parse_matrix(text))


def _devices(spec: str) -> list[str]:
    import torch

    if spec == "auto":
        return ["cuda" if torch.cuda.is_available() else "cpu"]
    if spec == "all":
        return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if spec == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is available")
    return [spec]


def _timer(device: str) -> Callable[[Callable[[], object], int], tuple[float, float, object]]:
    """Median and best time in ms of ``fn`` with torch's benchmark timer (which synchronises
    CUDA), running at least ``repeat`` blocks and 0.2 s after a warm-up."""
    import torch.utils.benchmark as tb

    def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float, object]:
        out = fn()
        timer = tb.Timer("fn()", globals={"fn": fn})
        m = timer.blocked_autorange(min_run_time=0.2)
        while len(m.times) < repeat:
            m = timer.blocked_autorange(min_run_time=0.2 * (1 + repeat - len(m.times)))
        return 1e3 * m.median, 1e3 * min(m.times), out

    return timed


@dataclass
class LayerRow:
    device: str
    batch: int
    method: str
    batch_ms: float
    per_sample_us: float
    vs_head: float
    osqp_speedup: float
    fastest_projection_speedup: float
    max_violation: float
    note: str


def layer_suite(args: argparse.Namespace,
                progress: Callable[[float, str], None] | None = None) -> list[LayerRow]:
    """The layer against projections; ``progress(fraction, label)`` is called as cases finish
    (the Benchmark page's progress bar)."""
    import torch
    from torch import nn

    from conecore.baselines import ClosedFormHead
    from conecore.layer import ConeLayer, relative_violation
    from conecore.projection import project, relative_violation_np

    cone = _load_cone(args.cone)
    box = args.box if args.box > 0 else None
    A = np.array(cone.A)
    h, d = args.in_features, cone.dim
    rows: list[LayerRow] = []
    torch.manual_seed(0)
    devices = _devices(args.device)
    total, done = len(devices) * len(args.batch), 0
    for device in devices:
        timed = _timer(device)
        slow = _timer(device) if device == "cuda" else _time  # per-sample solvers: few runs
        head = nn.Linear(h, d).to(device)
        layer = ConeLayer(cone, h, box=box).to(device)
        try:
            closed: nn.Module | None = ClosedFormHead(cone, h).to(device)
        except ValueError:
            closed = None
        for batch in args.batch:
            x = torch.randn(batch, h, device=device)
            found: list[tuple[str, float, float, str]] = []
            with torch.no_grad():
                t_head, _, Yt = timed(partial(head, x), args.repeat)
                found.append(("plain head (no constraint)", t_head,
                              float(relative_violation(layer.A, Yt).max()), ""))
                models = [("ConeLayer", layer)]
                if closed is not None:
                    models.append(("closed form (no box)", closed))
                for name, module in models:
                    t, _, Z = timed(partial(module, x), args.repeat)
                    found.append((name, t, float(relative_violation(layer.A, Z.double()).max()),
                                  ""))
                Y = Yt.double().cpu().numpy()
                methods = ["osqp", "dual"] + (["nnls"] if box is None else [])
                for method in methods:
                    n = batch if method == "dual" else min(batch, args.max_solver_samples)
                    Yin = Yt[:n] if method == "dual" else Y[:n]
                    reps = args.repeat if method == "dual" else max(1, min(args.repeat, 3))
                    clock = timed if method == "dual" else slow
                    t, _, Zp = clock(partial(project, cone, Yin, method, box=box), reps)
                    Zc = Zp.double().cpu().numpy() if isinstance(Zp, torch.Tensor) else Zp
                    viol = float(relative_violation_np(A, Zc, Y[:n]).max())
                    note = f"timed on {n} of {batch}, scaled" if n < batch else ""
                    found.append((f"head + {method} projection", t_head + t * batch / n, viol,
                                  note))
            done += 1
            if progress is not None:
                progress(done / total, f"{device}, batch {batch}")
            t_osqp = next(t for name, t, _, _ in found if "osqp" in name)
            t_fastest = min(t for name, t, _, _ in found if "projection" in name)
            for name, t, viol, note in found:
                rows.append(LayerRow(device, batch, name, t, 1e3 * t / batch, t / t_head,
                                     t_osqp / t, t_fastest / t, viol, note))
    return rows


def toy_suite(args: argparse.Namespace) -> dict:
    from conecore.experiments import projection_toy

    return projection_toy(steps=args.toy_steps, mnist_dir=args.mnist, device=_devices(
        args.device)[0], seed=0)


def train_suite(args: argparse.Namespace) -> dict:
    """Steps per second of the Train-live loop: the default tiny model (width 64, batch 128)
    with all methods on, on the 2-D wedge, one intra-op thread as the app uses."""
    import torch

    from conecore.cone import Cone
    from conecore.presets import preset
    from conecore.training import LiveTraining, TrainConfig

    torch.set_num_threads(1)
    out: dict[str, object] = {}
    for name in ("wedge", "pyramid"):
        run = LiveTraining(Cone.from_inequalities(preset(name)),
                           TrainConfig(device=_devices(args.device)[0]))
        run.run(20)
        t0 = time.perf_counter()
        run.run(args.train_steps)
        out[f"{name}: methods"] = ", ".join(run.methods)
        out[f"{name}: steps per second"] = round(args.train_steps / (time.perf_counter() - t0), 1)
    return out


def vae_suite(args: argparse.Namespace) -> dict:
    """Seconds per epoch of the Constrained VAE page's training (both models, the default
    settings, one intra-op thread as the app uses), and the per-sample cost of the ConeLayer
    decoder against decoding with the twin and projecting (OSQP, as in the paper)."""
    import torch

    from conecore.cone import Cone
    from conecore.vae import Painting, VAEExperiment, load_images

    torch.set_num_threads(1)
    train, test, side = load_images(args.mnist)
    cone = Cone.from_inequalities(Painting.checkerboard(side).rows())
    exp = VAEExperiment(cone, train, test)
    exp.train_epoch()  # warm-up
    times = []
    for _ in range(args.vae_epochs):
        t0 = time.perf_counter()
        exp.train_epoch()
        times.append(time.perf_counter() - t0)
    ev = exp.evaluate(64)
    cost = ev["seconds_per_sample"]
    return {
        "data": f"{len(train)} train / {len(test)} test images of {side}x{side}",
        "steps per epoch (each model)": exp.steps_per_epoch,
        "seconds per epoch, both models (median)": round(statistics.median(times), 3),
        "seconds per epoch, both models (max)": round(max(times), 3),
        "ConeLayer decoder, us per sample": round(cost["cone_layer"] * 1e6, 1),
        "twin + OSQP projection, us per sample": round(cost["projection"] * 1e6, 1),
        "samples in the cone: ConeLayer / twin / projected": " / ".join(
            f"{ev['share_inside'][k]:.0%}" for k in ("cone_layer", "unconstrained",
                                                      "projection")),
    }


def _fill(token: Callable[[], str], cols: int, size: int) -> str:
    """Rows of ``cols`` tokens from ``token()`` while they fit in ``size`` characters."""
    rows: list[str] = []
    used = 0
    while True:
        row = " ".join(token() for _ in range(cols))
        if used + len(row) + 1 > size:
            return "\n".join(rows)
        rows.append(row)
        used += len(row) + 1


def caps_suite(args: argparse.Namespace) -> dict:
    """The slowest inputs found at the text cap (``MAX_TEXT_CHARS``): seconds to parse, and
    then to build the cone under ``args.limits`` (the app passes its own caps) or to be refused;
    plus the slowest refusal inside those limits (400 x 100 random decimals)."""
    import random

    from conecore.cdd_backend import DEFAULT_LIMITS
    from conecore.cone import Cone
    from conecore.errors import ConeError
    from conecore.formats import MAX_TEXT_CHARS, parse_matrix

    rnd = random.Random(0)
    size = MAX_TEXT_CHARS
    cases = {
        "distinct small fractions, 300 a row": lambda: _fill(
            lambda: f"{rnd.randint(-99, 99)}/{rnd.randint(1, 999)}", 300, size),
        "1/3 repeated, 1000 a row": lambda: _fill(lambda: "1/3", 1000, size),
        "17-digit fractions, 100 a row": lambda: _fill(
            lambda: f"{rnd.randint(-10**17, 10**17)}/{rnd.randint(1, 10**17)}", 100, size),
        "18-digit decimals, 100 a row": lambda: _fill(lambda: f"{rnd.random():.18f}", 100, size),
        "integers, 1000 a row": lambda: _fill(lambda: str(rnd.randint(-9, 9)), 1000, size),
        "400 x 100 random decimals (within the limits)": lambda: "\n".join(
            " ".join(repr(rnd.random()) for _ in range(100)) for _ in range(400)),
    }
    out: dict[str, object] = {}
    for name, make in cases.items():
        text = make()
        t0 = time.perf_counter()
        A = parse_matrix(text)
        parsed = time.perf_counter() - t0
        t0 = time.perf_counter()
        try:
            Cone.from_inequalities(A, limits=getattr(args, "limits", None) or DEFAULT_LIMITS)
            verdict = "a cone"
        except ConeError as exc:
            verdict = f"{type(exc).__name__}: {str(exc)[:60]}"
        built = time.perf_counter() - t0
        out[name] = (f"{len(text):,} chars, {A.shape[0]} x {A.shape[1]}: parse {parsed:.2f} s, "
                     f"cone {built:.2f} s ({verdict})")
    return out


SUITES = ("convert", "layer", "toy", "train", "vae", "caps")


def _machine() -> str:
    import os

    text = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    try:
        import torch

        text += f", torch {torch.__version__}"
        if torch.cuda.is_available():
            text += f", {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return text


def _print_convert(results: list[Result]) -> None:
    width = max(len(r.case) for r in results)
    print(f"{'case':{width}s}  {'median ms':>10s}  {'best ms':>9s}  detail")
    for r in results:
        print(f"{r.case:{width}s}  {r.median_ms:10.2f}  {r.best_ms:9.2f}  {r.detail}")


def _print_layer(rows: list[LayerRow], args: argparse.Namespace) -> None:
    print(f"cone: {args.cone}, in_features = {args.in_features}, box = {args.box or 'none'}")
    width = max(len(r.method) for r in rows)
    print(f"{'device':6s} {'batch':>5s}  {'method':{width}s}  {'ms/batch':>9s}  {'us/sample':>9s}"
          f"  {'x head':>7s}  {'OSQP/this':>9s}  {'best proj/this':>14s}  {'max viol':>9s}  note")
    for r in rows:
        print(f"{r.device:6s} {r.batch:5d}  {r.method:{width}s}  {r.batch_ms:9.3f}  "
              f"{r.per_sample_us:9.2f}  {r.vs_head:7.2f}  {r.osqp_speedup:9.1f}  "
              f"{r.fastest_projection_speedup:14.1f}  {r.max_violation:9.1e}  {r.note}")


def _print_toy(result: dict) -> None:
    width = max(len(k) for k in result)
    for key, value in result.items():
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        print(f"{key:{width}s}  {shown}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conecore.bench",
        description="Benchmarks of conecore (medians of repeated runs after a warm-up).",
    )
    parser.add_argument("--suite", choices=[*SUITES, "all"], default="all",
                        help="which benchmarks to run (default: all)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per case (default 7)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--no-baselines", action="store_true",
                        help="convert: skip plain pycddlib (its exact run takes seconds)")
    parser.add_argument("--cone", default="checkerboard-28",
                        help="layer: a preset name or a cone file (.json, .ine, .csv); "
                             "default checkerboard-28")
    parser.add_argument("--batch", default="1,16,256,4096",
                        help="layer: comma-separated batch sizes (default 1,16,256,4096)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "all"], default="auto",
                        help="layer/toy: auto = CUDA if present, else CPU; all = CPU and CUDA")
    parser.add_argument("--in-features", type=int, default=256,
                        help="layer: width of the layer's input (default 256)")
    parser.add_argument("--box", type=float, default=1.0,
                        help="layer: also keep outputs in [-box, box]^d; 0 for none (default 1)")
    parser.add_argument("--max-solver-samples", type=int, default=256,
                        help="layer: per-sample solvers run on at most this many samples")
    parser.add_argument("--toy-steps", type=int, default=1500,
                        help="toy: Adam steps for each model (default 1500)")
    parser.add_argument("--train-steps", type=int, default=1000,
                        help="train: steps of the Train-live loop to time (default 1000)")
    parser.add_argument("--vae-epochs", type=int, default=5,
                        help="vae: epochs to time after a warm-up one (default 5)")
    parser.add_argument("--mnist", default=None,
                        help="toy/vae: folder with the MNIST IDX files (default: 8 x 8 digits)")
    args = parser.parse_args(argv)
    try:
        args.batch = [int(b) for b in args.batch.split(",") if b.strip()]
    except ValueError:
        parser.error(f"--batch must be comma-separated integers; got {args.batch!r}")
    for name in ("repeat", "in_features", "max_solver_samples", "toy_steps", "train_steps",
                 "vae_epochs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if not args.batch or min(args.batch) < 1 or max(args.batch) > 65536:
        parser.error("--batch sizes must be between 1 and 65536")
    suites = list(SUITES) if args.suite == "all" else [args.suite]
    out: dict[str, object] = {"machine": _machine()}
    runners = {"convert": convert_suite, "layer": layer_suite, "toy": toy_suite,
               "train": train_suite, "vae": vae_suite, "caps": caps_suite}
    for name in suites:
        out[name] = runners[name](args)
    if args.json:
        def encode(obj: object) -> object:
            return asdict(obj) if hasattr(obj, "__dataclass_fields__") else str(obj)

        json.dump(out, sys.stdout, indent=2, default=encode)
        print()
        return 0
    print(f"machine: {out['machine']}")
    for name in suites:
        print(f"\n== {name} ==")
        {"convert": _print_convert, "toy": _print_toy, "train": _print_toy,
         "vae": _print_toy, "caps": _print_toy}.get(
            name, lambda r: _print_layer(r, args))(
            out[name])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

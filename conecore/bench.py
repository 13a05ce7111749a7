"""Benchmarks: ``python -m conecore.bench`` prints tables; ``--json`` one object for machines.

Suites (``--suite NAME``; ``all``, the default, runs them in this order):

* ``convert`` — H → V conversion (:meth:`Cone.from_inequalities`) of the presets that matter,
  the paper's 28 x 28 checkerboard first, with pycddlib's plain float and exact runs as baselines.
* ``layer`` — the paper's comparison: the ConeLayer's forward time against a plain head, the
  closed form and the head plus a test-time projection (OSQP, NNLS, batched dual), per batch size
  and device, with each method's worst relative violation.
* ``toy`` — the paper's toy experiment: learn the projection onto the checkerboard cone
  (:mod:`conecore.experiments`); test errors against the exact projection, inference times.
* ``train`` — steps per second of the Train-live loop (the default tiny model, every method).
* ``vae`` — seconds per epoch of the Constrained VAE page's training, and the ConeLayer decoder's
  cost per sample against decoding with its twin and projecting (OSQP).
* ``polyhedron`` — the PolyhedronLayer (``A x <= b``) against a plain head, OSQP and an exact
  batched projection, on the simplex in 784-D and a random 3-D polytope
  (:mod:`conecore.polyhedron_bench`; ``--batch``, ``--in-features``, ``--device`` apply).
* ``caps`` — the slowest inputs found at the 1 MB text cap: seconds to parse them, then to build
  or refuse the cone under the limits given.

Each suite is a function of one small configuration (``layer_suite(LayerBench(cone))``,
``caps_suite(limits)``, ...), so a notebook or the app's Benchmark page calls it without the
command line; :func:`main` turns the command line into those configurations in one place
(:func:`configs_from_args`), and their defaults are the CLI's.

The caps to test are an argument: the library holds no app policy (the app's caps live in the
app, ``explorer/limits.py``). The CLI builds them from ``--max-dim``, ``--max-rows``, ... flags,
each defaulting to conecore's :class:`Limits`; pass the app's values to measure the app.

Times are medians of ``--repeat`` runs after a warm-up (``torch.cuda.synchronize()`` on GPU).
Per-sample solvers (OSQP, NNLS) are timed on at most ``--max-solver-samples`` samples of a batch
and scaled to the batch; such rows say so.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np

from conecore.cdd_backend import Limits
from conecore.cone import Cone
from conecore.errors import ConeInputError

SUITES: dict[str, str] = {
    "convert": "H -> V conversion of the presets (checkerboard 28 x 28 first), pycddlib baselines",
    "layer": "ConeLayer forward time against a plain head, the closed form and head + projection",
    "toy": "the paper's toy experiment: learn the projection onto the checkerboard cone",
    "train": "steps per second of the Train-live loop (default tiny model, every method)",
    "vae": "seconds per epoch of the Constrained VAE page; decoder vs twin + OSQP per sample "
           "(where osqp is installed)",
    "polyhedron": "PolyhedronLayer vs plain head, OSQP, exact projection (simplex 784-D, 3-D)",
    "caps": "slowest inputs at the 1 MB text cap: parse, then build or refuse under --max-* limits",
}
"""Every suite, with the one line ``--help`` shows for it."""

DEVICES = ("auto", "cpu", "cuda", "all")
"""``auto``: CUDA if present, else CPU; ``all``: CPU, and CUDA if present."""

MAX_BATCH = 65536
DEFAULT_LAYER_CONE = "checkerboard-28"
CAPS_LIMITS = ("max_dim", "max_rows", "max_elimination", "max_bit_work", "max_rays_bound",
               "timeout")
"""The fields of :class:`Limits` the ``caps`` suite's CLI takes as ``--max-dim`` etc."""


def _at_least_one(**values: int) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} has to be an integer of at least 1. Got {value!r}")


def _device(device: str) -> None:
    if device not in DEVICES:
        raise ValueError(f"device has to be one of {', '.join(DEVICES)}. Got {device!r}")


def _cone_or_none(cone: object) -> None:
    if cone is not None and not isinstance(cone, Cone):
        raise ValueError(f"cone has to be a Cone or None (load_cone reads names and files). "
                         f"Got {type(cone).__name__}")


@dataclass(frozen=True)
class ConvertBench:
    """The ``convert`` suite: ``repeat`` timed runs per case; ``baselines`` adds pycddlib's own
    float and exact conversions of the 784-D checkerboard (the exact one takes seconds)."""

    repeat: int = 7
    baselines: bool = True

    def __post_init__(self) -> None:
        _at_least_one(repeat=self.repeat)


@dataclass(frozen=True)
class LayerBench:
    """The ``layer`` suite: ``cone`` (see :func:`load_cone` for names and files), a layer of input
    width ``in_features``, outputs also kept in ``[-box, box]^d`` (``box = 0``: no box), each batch
    size of ``batches`` on each device of ``device`` (one of :data:`DEVICES`), ``repeat`` timed
    runs, per-sample solvers on at most ``max_solver_samples`` samples of a batch (scaled)."""

    cone: Cone
    in_features: int = 256
    box: float = 1.0
    batches: tuple[int, ...] = (1, 16, 256, 4096)
    device: str = "auto"
    repeat: int = 7
    max_solver_samples: int = 256

    def __post_init__(self) -> None:
        if not isinstance(self.cone, Cone):
            raise ValueError(f"cone has to be a Cone (load_cone reads names and files). "
                             f"Got {type(self.cone).__name__}")
        _at_least_one(in_features=self.in_features, repeat=self.repeat,
                      max_solver_samples=self.max_solver_samples)
        if not (isinstance(self.box, (int, float)) and math.isfinite(self.box) and self.box >= 0):
            raise ValueError(f"box has to be a finite number >= 0 (0: no box). Got {self.box!r}")
        batches = tuple(self.batches)
        if not batches or not all(isinstance(b, int) and 1 <= b <= MAX_BATCH for b in batches):
            raise ValueError(f"batches has to hold batch sizes from 1 to {MAX_BATCH}. "
                             f"Got {self.batches!r}")
        object.__setattr__(self, "batches", tuple(sorted(set(batches))))
        _device(self.device)


@dataclass(frozen=True)
class ToyBench:
    """The ``toy`` suite: Adam ``steps`` for each model on ``device``; ``mnist``, a folder with
    the four MNIST IDX files (None: the 8 x 8 digits that ship with conecore)."""

    steps: int = 1500
    device: str = "auto"
    mnist: str | None = None
    cone: Cone | None = None  # default: the checkerboard of the images' side

    def __post_init__(self) -> None:
        _at_least_one(steps=self.steps)
        _device(self.device)
        _cone_or_none(self.cone)


@dataclass(frozen=True)
class TrainBench:
    """The ``train`` suite: ``steps`` of the Train-live loop to time, on ``device``, on
    ``cone`` (default: the 2-D wedge and the pyramid, the page's own sizes)."""

    steps: int = 1000
    device: str = "auto"
    cone: Cone | None = None

    def __post_init__(self) -> None:
        _at_least_one(steps=self.steps)
        _device(self.device)
        _cone_or_none(self.cone)


@dataclass(frozen=True)
class VaeBench:
    """The ``vae`` suite: ``epochs`` timed after a warm-up one; ``mnist`` as in
    :class:`ToyBench`; ``cone`` (default: the checkerboard of the images' side) must have one
    coordinate per pixel; both models train on ``device``."""

    epochs: int = 5
    mnist: str | None = None
    device: str = "auto"
    cone: Cone | None = None

    def __post_init__(self) -> None:
        _at_least_one(epochs=self.epochs)
        _device(self.device)
        _cone_or_none(self.cone)


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


def convert_suite(config: ConvertBench) -> list[Result]:
    from conecore.presets import preset

    repeat = config.repeat
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
    if config.baselines:
        from conecore.cdd_backend import cddlib_available

        for exact in (False, True):
            label = "pycddlib " + ("exact (gmp)" if exact else "float") + ", full 784-D problem"
            if not cddlib_available():  # an optional extra: the row says why it is empty
                results.append(Result("convert", label, math.nan, math.nan, 0,
                                      "not run: pycddlib is not installed "
                                      "(pip install 'conecore[cdd]')"))
                continue
            n = 1 if exact else repeat
            med, best, count = _time(lambda e=exact: _plain_cdd(cb28, e), n)
            results.append(Result("convert", label, med, best, n, f"{count} generators"))
    return results


def load_cone(spec: str | Path) -> Cone:
    """The cone named by ``spec``: a preset name, or a file, ``.json`` as written by
    :func:`conecore.cone_to_json` (it holds the rays, so no pycddlib is needed) or a matrix in
    any text format :func:`conecore.parse_matrix` reads (.ine, .csv, ...).

    Raises:
        ValueError: ``spec`` is neither a preset nor a file, or the file is not a cone.
    """
    from conecore import cone_from_json, parse_matrix
    from conecore.presets import PRESETS, preset

    if str(spec) in PRESETS:
        return Cone.from_inequalities(preset(str(spec)))
    path = Path(spec)
    if not path.is_file():
        raise ValueError(f"cone {str(spec)!r} is neither a preset ({', '.join(PRESETS)}) "
                         "nor a file")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return cone_from_json(text)
    return Cone.from_inequalities(parse_matrix(text))


def _devices(spec: str) -> list[str]:
    import torch

    if spec == "auto":
        return ["cuda" if torch.cuda.is_available() else "cpu"]
    if spec == "all":
        return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    from conecore.training import usable_device

    try:
        usable_device(spec)
    except ConeInputError as exc:
        raise ValueError(str(exc)) from None
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
    converged: bool = True  # False: a projection stopped before every point met its rule


EXACT_PROJECTIONS = ("nnls", "active-set", "blocks")
"""Projections that are exact (up to round-off): "fastest exact projection" is the fastest of
these that ran and converged (OSQP and the batched dual stop at a tolerance)."""

SOLVER_BUDGET_S = 5.0
"""Per-sample CPU solvers (OSQP, NNLS) and the batched dual are timed with a plain loop that
stops after ``repeat`` runs or this many seconds, whichever comes first (never less than one
run after the warm-up)."""


def _bounded(fn: Callable[[], object], repeat: int, budget_s: float = SOLVER_BUDGET_S,
             sync: Callable[[], None] = lambda: None) -> tuple[float, float, object]:
    """Median and best ms of up to ``repeat`` runs after a warm-up, stopping once ``budget_s``
    seconds were spent (the warm-up counts): slow solvers finish in bounded time."""
    t_start = time.perf_counter()
    out = fn()
    sync()
    times: list[float] = []
    while len(times) < repeat and (not times or time.perf_counter() - t_start < budget_s):
        t0 = time.perf_counter()
        out = fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times), out


def _projection_methods(cone: Cone, box: float | None) -> list[str]:
    """The projections to time for ``cone`` (with ``box``), in the table's order."""
    from conecore.projection import BOX_METHODS, has_disjoint_rows, osqp_available

    methods = ["osqp", "nnls", "active-set", "blocks", "dual"]
    if not has_disjoint_rows(cone):
        methods.remove("blocks")
    if not osqp_available():  # a machine with torch alone: the other rows still run
        methods.remove("osqp")
    if box is not None:
        methods = [m for m in methods if m in BOX_METHODS]
    return methods


def layer_suite(config: LayerBench,
                progress: Callable[[float, str], None] | None = None,
                report: Callable[[list[LayerRow]], None] | None = None) -> list[LayerRow]:
    """The layer against projections, one row per device, batch size and method;
    ``progress(fraction, label)`` is called before each measurement (the Benchmark page's
    progress bar, the CLI's running line) and ``report(rows)`` with each batch size's rows as
    soon as they are measured.

    Per-sample CPU solvers (OSQP, NNLS) run on at most ``max_solver_samples`` samples, with a
    bounded loop (:data:`SOLVER_BUDGET_S`), and are scaled to the batch. Projections run with
    ``strict=False``: a row whose projection stopped before converging says so
    (``converged=False``) and never counts as the fastest exact projection."""
    import torch
    from torch import nn

    from conecore.baselines import ClosedFormHead
    from conecore.layer import ConeLayer
    from conecore.projection import TORCH_METHODS, project
    from conecore.training import init_parameters_
    from conecore.violation import relative_violation

    cone, repeat = config.cone, config.repeat
    box = config.box if config.box > 0 else None
    A = np.array(cone.A)
    h, d = config.in_features, cone.dim
    rows: list[LayerRow] = []
    # Weights and inputs from generators of their own: the page runs this in a server thread,
    # and reseeding torch's global generator would change other sessions' draws.
    inputs = torch.Generator().manual_seed(0)
    devices = _devices(config.device)
    methods = _projection_methods(cone, box)
    steps_per_batch = 2 + len(methods)
    total, done = len(devices) * len(config.batches) * steps_per_batch, 0

    def tick(label: str) -> None:
        nonlocal done
        if progress is not None:
            progress(done / total, label)
        done += 1

    for device in devices:
        timed = _timer(device)
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
        head = init_parameters_(nn.Linear(h, d), seed=0).to(device)
        layer = init_parameters_(ConeLayer(cone, h, box=box), seed=0).to(device)
        closed: nn.Module | None = None
        try:
            closed = ClosedFormHead(cone, h)
        except ValueError:  # A has no full row rank: no closed form
            pass
        else:
            closed = init_parameters_(closed, seed=0).to(device)
        for batch in config.batches:
            x = torch.randn(batch, h, generator=inputs).to(device)
            where = f"{device}, batch {batch}"
            found: list[tuple[str, float, float, str, bool]] = []
            with torch.no_grad():
                tick(f"{where}: plain head")
                t_head, _, Yt = timed(partial(head, x), repeat)
                found.append(("plain head (no constraint)", t_head,
                              float(relative_violation(layer.A, Yt).max()), "", True))
                tick(f"{where}: ConeLayer and closed form")
                models = [("ConeLayer", layer)]
                if closed is not None:
                    models.append(("closed form (no box)", closed))
                for name, module in models:
                    t, _, Z = timed(partial(module, x), repeat)
                    found.append((name, t, float(relative_violation(layer.A, Z.double()).max()),
                                  "", True))
                Y = Yt.double().cpu().numpy()
                for method in methods:
                    tick(f"{where}: head + {method} projection")
                    on_device = method in TORCH_METHODS
                    n = batch if on_device else min(batch, config.max_solver_samples)
                    Yin = Yt[:n] if on_device else Y[:n]
                    run = partial(project, cone, Yin, method, box=box, strict=False,
                                  return_info=True)
                    t, _, (Zp, info) = _bounded(run, repeat, sync=sync)
                    Zc = Zp.double().cpu().numpy() if isinstance(Zp, torch.Tensor) else Zp
                    # A projection of a y in the polar cone lands near 0: judged against |y|.
                    viol = float(relative_violation(
                        A, Zc, floor=np.linalg.norm(Y[:n], axis=1)).max())
                    notes = [f"timed on {n} of {batch}, scaled"] if n < batch else []
                    if not info.converged:
                        notes.append(f"NOT CONVERGED: {info.unconverged} of {n} points"
                                     + (f" after {info.iterations} iterations"
                                        if info.iterations is not None else ""))
                    found.append((f"head + {method} projection", t_head + t * batch / n, viol,
                                  "; ".join(notes), info.converged))
            t_osqp = next((t for name, t, *_ in found if "osqp" in name), math.nan)
            exact = [t for name, t, _, _, ok in found
                     if ok and any(name == f"head + {m} projection" for m in EXACT_PROJECTIONS)]
            fallback = [t for name, t, _, _, ok in found if ok and "projection" in name]
            t_fastest = min(exact or fallback or [math.nan])
            batch_rows = [LayerRow(device, batch, name, t, 1e3 * t / batch, t / t_head,
                                   t_osqp / t, t_fastest / t, viol, note, ok)
                          for name, t, viol, note, ok in found]
            rows.extend(batch_rows)
            if report is not None:
                report(batch_rows)
    if progress is not None:
        progress(1.0, "done")
    return rows


def toy_suite(config: ToyBench) -> dict:
    from conecore.experiments import projection_toy

    return projection_toy(steps=config.steps, mnist_dir=config.mnist,
                          device=_devices(config.device)[0], seed=0, cone=config.cone)


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """One intra-op thread, as the app uses (restored afterwards)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_suite(config: TrainBench) -> dict:
    """Steps per second of the Train-live loop: the default tiny model (width 64, batch 128)
    with all methods on, on the 2-D wedge and the pyramid (or ``config.cone``), one intra-op
    thread as the app uses."""
    from conecore.presets import preset
    from conecore.training import LiveTraining, TrainConfig

    out: dict[str, object] = {}
    cones = ({"your cone": config.cone} if config.cone is not None else
             {name: Cone.from_inequalities(preset(name)) for name in ("wedge", "pyramid")})
    with _one_thread():
        for name, cone in cones.items():
            run = LiveTraining(cone, TrainConfig(device=_devices(config.device)[0]))
            run.run(20)
            t0 = time.perf_counter()
            run.run(config.steps)
            out[f"{name}: methods"] = ", ".join(run.methods)
            out[f"{name}: steps per second"] = round(config.steps / (time.perf_counter() - t0),
                                                     1)
    return out


def vae_suite(config: VaeBench) -> dict:
    """Seconds per epoch of the Constrained VAE page's training (both models, the default
    settings, one intra-op thread as the app uses), and the per-sample cost of the ConeLayer
    decoder against decoding with the twin and projecting (OSQP, as in the paper)."""
    from conecore.painting import Painting
    from conecore.vae_experiment import VAEExperiment, load_images

    device = _devices(config.device)[0]
    with _one_thread():
        train, test, side = load_images(config.mnist)
        cone = config.cone or Cone.from_inequalities(Painting.checkerboard(side).rows())
        if cone.dim != side * side:
            raise ValueError(f"the VAE's cone must have d = {side * side} (one coordinate per "
                             f"pixel); this one has d = {cone.dim}")
        exp = VAEExperiment(cone, train, test, device=device)
        exp.train_epoch()  # warm-up
        times = []
        for _ in range(config.epochs):
            t0 = time.perf_counter()
            exp.train_epoch()
            times.append(time.perf_counter() - t0)
        ev = exp.evaluate(64)
    cost = ev["seconds_per_sample"]
    return {
        "data": f"{len(train)} train / {len(test)} test images of {side}x{side}, on {device}",
        "steps per epoch (each model)": exp.steps_per_epoch,
        "seconds per epoch, both models (median)": round(statistics.median(times), 3),
        "seconds per epoch, both models (max)": round(max(times), 3),
        "ConeLayer decoder, us per sample": round(cost["cone_layer"] * 1e6, 1),
        f"twin + {ev['projection_method']} projection, us per sample": round(
            cost["projection"] * 1e6, 1),
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


def caps_suite(limits: Limits) -> dict:
    """The slowest inputs found at the text cap (``MAX_TEXT_CHARS``): seconds to parse, and
    then to build the cone under ``limits`` or to be refused; plus the slowest refusal inside
    the app's limits (400 x 100 random decimals: 400 rows, 100 columns)."""
    import random

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
            Cone.from_inequalities(A, limits=limits)
            verdict = "a cone"
        except ConeError as exc:
            verdict = f"{type(exc).__name__}: {str(exc)[:60]}"
        built = time.perf_counter() - t0
        out[name] = (f"{len(text):,} chars, {A.shape[0]} x {A.shape[1]}: parse {parsed:.2f} s, "
                     f"cone {built:.2f} s ({verdict})")
    return out


def machine() -> str:
    """One line about this machine for a benchmark's header (CPU, Python, torch, GPU)."""
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


class _LayerPrinter:
    """The layer table, printed a batch size at a time as the suite measures it."""

    def __init__(self, config: LayerBench, label: str) -> None:
        self.width = 28  # "head + active-set projection" and shorter
        print(f"cone: {label} ({config.cone.summary()}), in_features = {config.in_features}, "
              f"box = {config.box or 'none'}")
        print("x head: time over the plain head's; OSQP/this, exact/this: how many times faster "
              "than per-sample OSQP\nand than the fastest exact projection (NNLS, active-set or "
              "blocks; converged); max viol: worst\nrelative violation, <= 0 means inside "
              "(negative: strictly inside)", flush=True)
        from conecore.projection import osqp_available

        if not osqp_available():
            print("osqp is not installed here (pip install osqp): no OSQP row, and OSQP/this "
                  "is nan", flush=True)
        w = self.width
        print(f"{'device':6s} {'batch':>5s}  {'method':{w}s}  {'ms/batch':>9s}  {'us/sample':>9s}"
              f"  {'x head':>7s}  {'OSQP/this':>9s}  {'exact/this':>10s}  {'max viol':>9s}  note",
              flush=True)

    def rows(self, rows: list[LayerRow]) -> None:
        for r in rows:
            print(f"{r.device:6s} {r.batch:5d}  {r.method:{self.width}s}  {r.batch_ms:9.3f}  "
                  f"{r.per_sample_us:9.2f}  {r.vs_head:7.2f}  {r.osqp_speedup:9.1f}  "
                  f"{r.fastest_projection_speedup:10.1f}  {r.max_violation:9.1e}  {r.note}",
                  flush=True)


def _print_mapping(result: dict) -> None:
    width = max(len(k) for k in result)
    for key, value in result.items():
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        print(f"{key:{width}s}  {shown}")


def _parser() -> argparse.ArgumentParser:
    defaults = Limits()
    suites = "\n".join(f"  {name:8s} {line}" for name, line in SUITES.items())
    parser = argparse.ArgumentParser(
        prog="python -m conecore.bench",
        description="Benchmarks of conecore (medians of repeated runs after a warm-up).\n\n"
                    f"suites:\n{suites}",
        epilog="caps tests conecore's Limits() unless told otherwise: "
               "to measure the app, pass the\nvalues of its APP_LIMITS (explorer/limits.py) "
               "as the --max-* and --timeout flags.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--suite", choices=[*SUITES, "all"], default="all",
                        help="which benchmarks to run (default: all, in the order above)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--repeat", type=int, default=LayerBench.repeat,
                        help=f"convert/layer: timed runs per case (default {LayerBench.repeat})")
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="layer/toy/train/vae: auto = CUDA if present, else CPU; all = CPU "
                             "and CUDA (layer; the others take the first)")
    parser.add_argument("--cone", default=None,
                        help="layer/toy/train/vae: a preset name or a cone file (.json as "
                             "written by cone_to_json needs no double description; .ine, .csv"
                             f"); layer default {DEFAULT_LAYER_CONE}, toy/vae default the "
                             "checkerboard of the images, train default the wedge and the "
                             "pyramid")
    parser.add_argument("--mnist", default=None,
                        help="toy/vae: folder with the MNIST IDX files (default: 8 x 8 digits)")
    group = parser.add_argument_group("convert")
    group.add_argument("--no-baselines", action="store_true",
                       help="skip plain pycddlib (its exact run takes seconds)")
    group = parser.add_argument_group("layer")
    batches = ",".join(str(b) for b in LayerBench.batches)
    group.add_argument("--batch", default=batches,
                       help=f"comma-separated batch sizes (default {batches})")
    group.add_argument("--in-features", type=int, default=LayerBench.in_features,
                       help=f"width of the layer's input (default {LayerBench.in_features})")
    group.add_argument("--box", type=float, default=LayerBench.box,
                       help=f"also keep outputs in [-box, box]^d; 0 for none "
                            f"(default {LayerBench.box:g})")
    group.add_argument("--max-solver-samples", type=int, default=LayerBench.max_solver_samples,
                       help="per-sample solvers run on at most this many samples of a batch "
                            f"(default {LayerBench.max_solver_samples})")
    group = parser.add_argument_group("toy, train, vae")
    group.add_argument("--toy-steps", type=int, default=ToyBench.steps,
                       help=f"toy: Adam steps for each model (default {ToyBench.steps})")
    group.add_argument("--train-steps", type=int, default=TrainBench.steps,
                       help=f"train: steps of the Train-live loop to time "
                            f"(default {TrainBench.steps})")
    group.add_argument("--vae-epochs", type=int, default=VaeBench.epochs,
                       help=f"vae: epochs to time after a warm-up one "
                            f"(default {VaeBench.epochs})")
    group = parser.add_argument_group("caps (the limits to test; defaults: conecore's Limits())")
    for name in CAPS_LIMITS:
        value = getattr(defaults, name)
        group.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value,
                           help=f"Limits.{name} (default {value:,})")
    return parser


def _batches(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(b) for b in text.split(",") if b.strip())
    except ValueError:
        raise ValueError(f"--batch has to be comma-separated integers. Got {text!r}") from None


def configs_from_args(args: argparse.Namespace, suites: list[str]) -> dict[str, object]:
    """The configuration of each suite in ``suites`` from parsed command-line arguments.

    Raises:
        ValueError: an argument is out of range (the message names it).
    """
    configs: dict[str, object] = {}
    if args.device == "cuda" and set(suites) & {"layer", "toy", "train", "vae", "polyhedron"}:
        _devices("cuda")  # raises on a machine without one, before any suite runs
    given = load_cone(args.cone) if args.cone is not None else None
    for name in suites:
        if name == "convert":
            configs[name] = ConvertBench(repeat=args.repeat, baselines=not args.no_baselines)
        elif name == "layer":
            batches = _batches(args.batch)
            configs[name] = LayerBench(given or load_cone(DEFAULT_LAYER_CONE),
                                       in_features=args.in_features,
                                       box=args.box, batches=batches, device=args.device,
                                       repeat=args.repeat,
                                       max_solver_samples=args.max_solver_samples)
        elif name == "toy":
            configs[name] = ToyBench(steps=args.toy_steps, device=args.device, mnist=args.mnist,
                                     cone=given)
        elif name == "train":
            configs[name] = TrainBench(steps=args.train_steps, device=args.device, cone=given)
        elif name == "vae":
            configs[name] = VaeBench(epochs=args.vae_epochs, mnist=args.mnist,
                                     device=args.device, cone=given)
        elif name == "polyhedron":
            from conecore.polyhedron_bench import PolyhedronBench

            configs[name] = PolyhedronBench(in_features=args.in_features,
                                            batches=_batches(args.batch), device=args.device,
                                            repeat=args.repeat,
                                            max_solver_samples=args.max_solver_samples)
        elif name == "caps":
            values = {f: getattr(args, f) for f in CAPS_LIMITS}
            bad = [f for f, v in values.items() if not v > 0]
            if bad:
                raise ValueError(f"--{bad[0].replace('_', '-')} has to be positive. "
                                 f"Got {values[bad[0]]!r}")
            configs[name] = Limits(**values)
    return configs


RUNNERS: dict[str, Callable[[object], object]] = {
    "convert": convert_suite, "layer": layer_suite, "toy": toy_suite, "train": train_suite,
    "vae": vae_suite, "polyhedron": lambda config: _polyhedron_suite(config), "caps": caps_suite,
}


def _polyhedron_suite(config: object) -> list:
    from conecore.polyhedron_bench import polyhedron_suite

    return polyhedron_suite(config, quiet_solvers=True)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    suites = list(SUITES) if args.suite == "all" else [args.suite]
    try:
        configs = configs_from_args(args, suites)
    except ValueError as exc:
        parser.error(str(exc))
    out: dict[str, object] = {"machine": machine()}
    tables = not args.json
    if tables:
        print(f"machine: {out['machine']}", flush=True)
    for name in suites:
        started = time.perf_counter()
        if tables:
            print(f"\n== {name} ==", flush=True)
        if name == "layer":
            config = configs[name]
            label = args.cone or DEFAULT_LAYER_CONE
            printer = _LayerPrinter(config, label) if tables else None
            out[name] = layer_suite(config, progress=_progress_line,
                                    report=printer.rows if printer else None)
        else:
            try:
                out[name] = RUNNERS[name](configs[name])
            except ValueError as exc:  # e.g. a --cone of the wrong size for the images
                parser.error(f"{name}: {exc}")
            if tables:
                _PRINTERS.get(name, _print_mapping)(out[name])
        print(f"[{name}: {time.perf_counter() - started:.1f} s]", file=sys.stderr, flush=True)
    if args.json:
        def encode(obj: object) -> object:
            return asdict(obj) if hasattr(obj, "__dataclass_fields__") else str(obj)

        json.dump(out, sys.stdout, indent=2, default=encode)
        print()
    return 0


def _print_polyhedron(rows: list) -> None:
    from conecore.polyhedron_bench import print_rows

    print_rows(rows)


_PRINTERS: dict[str, Callable[[object], None]] = {"convert": _print_convert,
                                                  "polyhedron": _print_polyhedron}


def _progress_line(fraction: float, label: str) -> None:
    """What the layer suite measures now, on stderr (a run on a slow solver is never silent)."""
    print(f"  [{fraction:4.0%}] {label}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())

r"""Device check of the ConeLayer: feasibility under autocast and TF32, speed against nn.Linear.

``python -m conecore.gpu_check`` (``scripts/gpu_check.sh``) prints two tables:

1. **Feasibility** — the worst relative violation (:func:`conecore.relative_violation`) of the
   layer's outputs, in inference and in a training step, with and without the box, in float32,
   under ``torch.autocast`` with bfloat16 and float16, and with TF32 allowed
   (``torch.backends.cuda.matmul.allow_tf32`` and ``set_float32_matmul_precision("high")``);
   ``ok`` when it is at most ``VIOLATION_TOL`` (1e-5) and every output is finite. The layer is
   set up so that many outputs lie on faces (``relu``, a negative bias), where any rounding of
   the rays or lines shows. Weights converted to bfloat16 are measured too (reported, not judged:
   the output's own rounding to bfloat16 is about 4e-3 relative).
2. **Speed** — the 28 x 28 checkerboard layer (16 rays, 768 lines in R^784, box 1) with 256 input
   features against ``nn.Linear(256, 784)``: medians of per-round ratios of interleaved runs, for
   the forward pass (no autograd) and a training step (forward and backward), eager and compiled
   (``torch.compile(dynamic=True)``, both modules), per batch size. With ``--freezing`` the
   compiled rows are the forward only: freezing changes only inference graphs.

No double description runs and pycddlib is not imported: the cones are written as JSON from
their generators in closed form and read back with :func:`conecore.cone_from_json`, which
checks them against ``A``. The checkerboard's rows have disjoint supports, so its rays are the
negated rows and its lines span their orthogonal complement; the polyhedral ice-cream cone's
rays are where adjacent facets meet, at the angles halfway between their normals.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from conecore.cone import Cone
from conecore.formats import cone_from_json
from conecore.layer import ConeLayer
from conecore.presets import checkerboard, ice_cream, wedge_times_line
from conecore.violation import VIOLATION_TOL, relative_violation


# ---------------------------------------------------------------------------------- cones
def _disjoint_rows_json(A: np.ndarray) -> str:
    """A cone whose rows have pairwise disjoint supports: rays ``-a_i / |a_i|``, lines an
    orthonormal basis of the complement of the rows."""
    A = np.asarray(A, dtype=np.float64)
    rays = -A / np.linalg.norm(A, axis=1, keepdims=True)
    Q, _ = np.linalg.qr(A.T, mode="complete")
    lines = Q[:, A.shape[0]:].T
    return json.dumps({"A": A.astype(np.int64).tolist(), "rays": rays.tolist(),
                       "lines": lines.tolist()})


def _ice_cream_json(k: int) -> str:
    A = ice_cream(k)
    mid = 2 * math.pi * (np.arange(k) + 0.5) / k
    rays = np.column_stack([np.cos(mid), np.sin(mid), np.full(k, math.cos(math.pi / k))])
    rays /= np.linalg.norm(rays, axis=1, keepdims=True)
    return json.dumps({"A": A.tolist(), "rays": rays.tolist(), "lines": []})


def _wedge_line_json() -> str:
    A = wedge_times_line()  # rows (1, -2, 0), (-3, 1, 0): rays (2, 1, 0) and (1, 3, 0), line z
    rays = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 0.0]])
    rays /= np.linalg.norm(rays, axis=1, keepdims=True)
    return json.dumps({"A": A.tolist(), "rays": rays.tolist(), "lines": [[0.0, 0.0, 1.0]]})


@functools.lru_cache(maxsize=2)
def cones(quick: bool = False) -> dict[str, Cone]:
    """The check's cones, read from JSON (no double description, no pycddlib)."""
    found = {
        "checkerboard 28x28": cone_from_json(_disjoint_rows_json(checkerboard(28, 7))),
        "ice-cream 64": cone_from_json(_ice_cream_json(64)),
        "wedge x line": cone_from_json(_wedge_line_json()),
    }
    if quick:
        found.pop("checkerboard 28x28")
        found["checkerboard 8x8"] = cone_from_json(_disjoint_rows_json(checkerboard(8, 2)))
    return found


# ---------------------------------------------------------------------------- feasibility
@dataclass
class FeasibilityRow:
    cone: str
    setting: str
    mode: str
    box: float | None
    worst_violation: float
    finite: bool
    ok: bool | None  # None: reported, not judged


class _Settings:
    """Enter one precision setting: float32, autocast bf16/fp16, TF32, or bf16 weights."""

    def __init__(self, name: str, device: str) -> None:
        self.name, self.device = name, device

    def __enter__(self) -> _Settings:
        self._saved = (torch.get_float32_matmul_precision(),
                       torch.backends.cuda.matmul.allow_tf32)
        self._autocast = None
        if self.name == "tf32":
            torch.set_float32_matmul_precision("high")
            torch.backends.cuda.matmul.allow_tf32 = True
        elif self.name.startswith("autocast"):
            dtype = torch.bfloat16 if self.name.endswith("bf16") else torch.float16
            self._autocast = torch.autocast(self.device, dtype=dtype)
            self._autocast.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._autocast is not None:
            self._autocast.__exit__(*exc)
        torch.set_float32_matmul_precision(self._saved[0])
        torch.backends.cuda.matmul.allow_tf32 = self._saved[1]


SETTINGS = ("float32", "autocast bf16", "autocast fp16", "tf32", "bf16 weights")


def feasibility(device: str, quick: bool = False, seed: int = 0) -> list[FeasibilityRow]:
    """The worst relative violation for every cone, setting, mode and box (see the module).
    Training runs the whole batch (line map folded into the weights) and small batches (line
    map applied to the outputs), and a backward pass."""
    n = 512 if quick else 8192
    rows: list[FeasibilityRow] = []
    for cone_name, cone in cones(quick).items():
        A = torch.as_tensor(np.array(cone.A), dtype=torch.float64)
        for box in (None, 1.0):
            torch.manual_seed(seed)
            base = ConeLayer(cone, 32, nonneg="relu", box=box)
            with torch.no_grad():
                base.ray_coef.bias.sub_(1.0)  # many zero coefficients: outputs on faces
            gen = torch.Generator().manual_seed(seed)
            x = torch.randn(n, 32, generator=gen) * torch.logspace(-2, 4, n)[:, None]
            for setting in SETTINGS:
                low = setting == "bf16 weights"
                layer = base.to(device, torch.bfloat16) if low else base.to(device)
                xs = x.to(device, torch.bfloat16 if low else torch.float32)
                for mode in ("inference", "training"):
                    with _Settings(setting, device), torch.set_grad_enabled(mode == "training"):
                        z = layer(xs)
                        if mode == "training":
                            layer.zero_grad(set_to_none=True)
                            small = torch.cat([layer(chunk) for chunk in xs[-256:].split(16)])
                            (z.float().square().mean() + small.float().square().mean()).backward()
                            z = torch.cat([z, small])
                    zd = z.detach().double().cpu()
                    worst = float(relative_violation(A, zd).max())
                    finite = bool(torch.isfinite(zd).all())
                    rows.append(FeasibilityRow(cone_name, setting, mode, box, worst, finite,
                                               None if low else finite and worst <= VIOLATION_TOL))
                base = base.float().cpu()
    return rows


# ---------------------------------------------------------------------------------- speed
@dataclass
class SpeedRow:
    batch: int
    compiled: bool
    mode: str  # "forward" (no autograd) or "training step" (forward and backward)
    linear_ms: float
    layer_ms: float
    ratio: float  # median over rounds of layer time / linear time


MODES = ("forward", "training step")


def clock(device: str, cpu_time: bool = False) -> Callable[[Callable[[], object], int], float]:
    """Milliseconds per call of ``fn`` over ``iters`` calls: wall clock, synchronising CUDA, or
    this thread's CPU time (``cpu_time``: robust on a shared CPU with one intra-op thread)."""
    now = time.thread_time if cpu_time else time.perf_counter
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    def timed(fn: Callable[[], object], iters: int) -> float:
        sync()
        t0 = now()
        for _ in range(iters):
            fn()
        sync()
        return (now() - t0) * 1e3 / iters

    return timed


def compare_with_linear(make_layer: Callable[[], nn.Module], in_features: int, out_features: int,
                        batches: tuple[int, ...], device: str, *, compiled: bool = False,
                        rounds: int = 15, min_round_ms: float = 20.0, cpu_time: bool = False,
                        seed: int = 0, modes: tuple[str, ...] = MODES) -> list[SpeedRow]:
    """Time a layer against ``nn.Linear(in_features, out_features)``, interleaved round by round
    (each round runs both for about ``min_round_ms``), and report medians; the ratio is the
    median of the per-round ratios, so a slow moment of a shared machine hits both. ``modes``:
    some of :data:`MODES`."""
    torch.manual_seed(seed)
    layer = make_layer().to(device)
    linear = nn.Linear(in_features, out_features).to(device)
    if compiled:
        layer = torch.compile(layer, dynamic=True)
        linear = torch.compile(linear, dynamic=True)
    timed = clock(device, cpu_time)
    rows: list[SpeedRow] = []
    for batch in batches:
        x = torch.randn(batch, in_features, device=device)
        for mode in modes:
            fns = [_step(m, x, mode) for m in (linear, layer)]
            for fn in fns:  # warm up: caches, compilation, allocator
                for _ in range(3):
                    fn()
            iters = max(1, int(min_round_ms / max(timed(fns[0], 2), 1e-3)))
            times: list[list[float]] = [[], []]
            for _ in range(rounds):
                for i, fn in enumerate(fns):
                    times[i].append(timed(fn, iters))
            ratio = statistics.median(b / a for a, b in zip(*times, strict=True))
            rows.append(SpeedRow(batch, compiled, mode, statistics.median(times[0]),
                                 statistics.median(times[1]), ratio))
    return rows


def profile(make_layer: Callable[[], nn.Module], in_features: int, batch: int, device: str, *,
            compiled: bool = False, iters: int = 10, rows: int = 15) -> dict[str, str]:
    """Where the layer's time goes: for the forward and the training step at ``batch``, a
    ``torch.profiler`` table of ``iters`` calls after three warm-up calls, by self time on the
    device (CUDA) or the CPU, ``rows`` operators and kernels. The counts say how many
    launches a call makes; the totals, which of them to fuse."""
    torch.manual_seed(0)
    layer = make_layer().to(device)
    if compiled:
        layer = torch.compile(layer, dynamic=True)
    x = torch.randn(batch, in_features, device=device)
    cuda = device.startswith("cuda")
    activities = [torch.profiler.ProfilerActivity.CPU]
    if cuda:
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    tables = {}
    for mode in MODES:
        fn = _step(layer, x, mode)
        for _ in range(3):
            fn()
        sync()
        with torch.profiler.profile(activities=activities) as prof:
            for _ in range(iters):
                fn()
            sync()
        tables[mode] = prof.key_averages().table(
            sort_by="self_device_time_total" if cuda else "self_cpu_time_total", row_limit=rows)
    return tables


def _step(module: nn.Module, x: torch.Tensor, mode: str) -> Callable[[], object]:
    params = list(module.parameters())

    def forward() -> object:
        with torch.no_grad():
            return module(x)

    def training_step() -> object:
        for p in params:
            p.grad = None
        loss = module(x).square().mean()
        loss.backward()
        return loss

    return forward if mode == "forward" else training_step


def checkerboard_layer(box: float | None = 1.0, in_features: int = 256,
                       cone: Cone | None = None) -> Callable[[], nn.Module]:
    cone = cone if cone is not None else cones()["checkerboard 28x28"]
    return lambda: ConeLayer(cone, in_features, box=box)


# ------------------------------------------------------------------------------------ CLI
def _table(rows: list[Any]) -> str:
    if not rows:
        return "(nothing)"
    dicts = [asdict(r) for r in rows]
    cols = list(dicts[0])

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}" if v < 1e-2 or v >= 1e4 else f"{v:.3f}"
        return "-" if v is None else str(v)

    cells = [[cell(d[c]) for c in cols] for d in dicts]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m conecore.gpu_check", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                   help="cuda (default where available) or cpu")
    p.add_argument("--batches", type=int, nargs="+", default=[256, 4096, 65536])
    p.add_argument("--rounds", type=int, default=15, help="interleaved timing rounds")
    p.add_argument("--no-compile", action="store_true", help="eager timings only")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (CPU)")
    p.add_argument("--cpu-time", action="store_true",
                   help="time by this thread's CPU time (CPU, with --threads 1)")
    p.add_argument("--skip", choices=["feasibility", "speed"], action="append", default=[])
    p.add_argument("--quick", action="store_true",
                   help="a smoke test: small cones and batches, 3 rounds, no compile "
                        "(compiled with --freezing, the point of which is the compile)")
    p.add_argument("--freezing", action="store_true",
                   help="compile with torch._inductor.config.freezing (inference graphs treat "
                        "the weights as constants, so the fold P W is computed once); "
                        "the compiled rows are the forward only, as freezing changes nothing "
                        "in training")
    p.add_argument("--json", action="store_true", help="one JSON object instead of tables")
    p.add_argument("--profile", action="store_true",
                   help="instead of the timing comparison: a torch.profiler table per batch, "
                        "eager and compiled, forward and training step (10 calls each)")
    p.add_argument("--write-cones", metavar="DIR",
                   help="only write the checkerboards as cb28.json and cb8.json into DIR (for "
                        "python -m conecore.bench --cone on a machine without pycddlib)")
    args = p.parse_args(argv)
    if args.write_cones:
        Path(args.write_cones).mkdir(parents=True, exist_ok=True)
        for name, (side, block) in {"cb28": (28, 7), "cb8": (8, 2)}.items():
            path = Path(args.write_cones) / f"{name}.json"
            path.write_text(_disjoint_rows_json(checkerboard(side, block)))
            print(f"wrote {path}")
        return 0
    if args.freezing:
        import torch._inductor.config as inductor_config

        inductor_config.freezing = True
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        p.error("no CUDA device here; pass --device cpu")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.batches, args.rounds = [min(args.batches[0], 64)], 3
        args.no_compile = args.no_compile or not args.freezing
    t0 = time.perf_counter()
    device_name = (torch.cuda.get_device_name(args.device) if args.device.startswith("cuda")
                   else f"cpu, {torch.get_num_threads()} threads")
    result: dict[str, Any] = {"device": device_name, "torch": torch.__version__,
                              "freezing": args.freezing}
    failed = 0
    if "feasibility" not in args.skip:
        rows = feasibility(args.device, quick=args.quick)
        failed = sum(r.ok is False for r in rows)
        result["feasibility"] = [asdict(r) for r in rows]
        if not args.json:
            print(f"Feasibility on {device_name} (ok: worst relative violation <= "
                  f"{VIOLATION_TOL:g} and finite):\n{_table(rows)}\n", flush=True)
    if "speed" not in args.skip:  # the timing comparison, or with --profile the profiles
        make = checkerboard_layer(cone=cones(args.quick)[
            "checkerboard 8x8" if args.quick else "checkerboard 28x28"])
        d = make().out_features
        modes = (False,) if args.no_compile else (False, True)
        mode_names = {False: "eager", True: "compiled, freezing" if args.freezing else "compiled"}
    if "speed" not in args.skip and args.profile:
        result["profile"] = []
        for compiled in modes:
            for batch in args.batches:
                tables = profile(make, 256, batch, args.device, compiled=compiled)
                for mode, table in tables.items():
                    result["profile"].append({"batch": batch, "mode": mode,
                                              "compiled": compiled, "table": table})
                    if not args.json:
                        print(f"Profile, ConeLayer, {mode_names[compiled]} {mode}, batch "
                              f"{batch} (10 calls):\n{table}\n", flush=True)
    elif "speed" not in args.skip:
        speed: list[SpeedRow] = []
        for compiled in modes:
            # Freezing changes only inference graphs: its training step would repeat the
            # plain compile's (and its compile, the longest part of a run).
            speed += compare_with_linear(make, 256, d, tuple(args.batches), args.device,
                                         compiled=compiled, rounds=args.rounds,
                                         cpu_time=args.cpu_time,
                                         modes=MODES[:1] if compiled and args.freezing else MODES)
            if not args.json:
                print(f"Speed, ConeLayer (box 1, {256} -> {d}) against nn.Linear, "
                      f"{mode_names[compiled]}:\n"
                      f"{_table([r for r in speed if r.compiled == compiled])}\n", flush=True)
        result["speed"] = [asdict(r) for r in speed]
    result["seconds"] = round(time.perf_counter() - t0, 1)
    result["feasibility_failures"] = failed
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{failed} feasibility check(s) failed; {result['seconds']} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

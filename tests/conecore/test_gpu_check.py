"""scripts/gpu_check.sh's module on CPU: it runs without pycddlib, its hand-made cones are the
double description's, and its tables come out."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import conecore as cc
from conecore import gpu_check

ROOT = Path(__file__).resolve().parents[2]
# `import cdd` fails in the child, as on a GPU machine without pycddlib.
NO_CDD = "import runpy, sys; sys.modules['cdd'] = None; runpy.run_module('conecore.gpu_check', " \
         "run_name='__main__')"


def run_check(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", NO_CDD, *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)


def test_json_output_names_every_check():
    done = run_check("--device", "cpu", "--quick", "--threads", "1", "--json", "--skip", "speed")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    rows = result["feasibility"]
    assert result["feasibility_failures"] == 0 and "speed" not in result
    assert {r["setting"] for r in rows} == set(gpu_check.SETTINGS)
    assert all(r["ok"] for r in rows if r["setting"] != "bf16 weights")


def test_profile_replaces_the_timing_with_a_table_per_mode():
    done = run_check("--device", "cpu", "--quick", "--threads", "1", "--json", "--skip",
                     "feasibility", "--profile")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert "speed" not in result and "feasibility" not in result
    got = {(r["mode"], r["batch"], r["compiled"]): r["table"] for r in result["profile"]}
    assert set(got) == {("forward", 64, False), ("training step", 64, False)}
    assert all("Self CPU" in table and "# of Calls" in table for table in got.values())
    forward, step = got[("forward", 64, False)], got[("training step", 64, False)]
    assert "Backward" in step and "Backward" not in forward


def same_cone(a: cc.Cone, b: cc.Cone) -> bool:
    """The same rays (any order) and the same lineality space."""
    if a.rays.shape != b.rays.shape or a.lines.shape != b.lines.shape:
        return False
    dist = np.abs(a.rays[:, None, :] - b.rays[None, :, :]).max(axis=2)
    if len(dist) and not (dist.min(axis=1).max() < 1e-9 and dist.min(axis=0).max() < 1e-9):
        return False
    L = np.array(b.lines)
    return bool(np.abs(a.lines - a.lines @ L.T @ L).max(initial=0.0) < 1e-9)


@pytest.mark.parametrize("name, A", [
    ("checkerboard 28x28", cc.preset("checkerboard-28")),
    ("checkerboard 8x8", cc.preset("checkerboard-8")),
    ("ice-cream 64", cc.preset("ice-cream", k=64)),
    ("wedge x line", cc.preset("wedge-line")),
])
def test_hand_made_cones_are_the_double_descriptions(name, A):
    cones = {**gpu_check.cones(), **gpu_check.cones(quick=True)}
    assert same_cone(cones[name], cc.Cone.from_inequalities(A))


def test_compare_with_linear_reports_ratios():
    rows = gpu_check.compare_with_linear(
        gpu_check.checkerboard_layer(cone=gpu_check.cones(quick=True)["checkerboard 8x8"],
                                     in_features=16),
        16, 64, (8,), "cpu", rounds=2, min_round_ms=1.0)
    assert [r.mode for r in rows] == ["forward", "training step"]
    assert all(r.ratio > 0 and r.linear_ms > 0 for r in rows)


def test_gpu_session_script_runs_every_step(tmp_path):
    """scripts/gpu_session.sh, the one command for a session with a GPU, in its CPU smoke mode
    and without pycddlib, osqp, Pillow, Plotly, pandas or Streamlit (as on the GPU machine):
    every step runs, exits 0 and leaves its output under $OUT; the check prints both tables
    and passes every setting, --freezing compiles (--quick or not), its forward only, and every
    benchmark suite runs."""
    (tmp_path / "nocdd").mkdir()
    # The GPU machine has torch, numpy, scipy and scikit-learn: none of these.
    for module in ("cdd", "osqp", "PIL", "plotly", "pandas", "streamlit"):
        (tmp_path / "nocdd" / f"{module}.py").write_text(f"raise ImportError('no {module}')\n")
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(out), "SKIP_TESTS": "1",
           "PYTHONPATH": str(tmp_path / "nocdd"),
           "GPU_CHECK_ARGS": "--device cpu --quick --threads 1",
           "BLOCKS_ARGS": "--device cpu --quick",
           "BENCH_ARGS": "--device cpu --batch 8 --repeat 1 --toy-steps 5 --train-steps 5 "
                         "--vae-epochs 1 --max-solver-samples 4"}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_session.sh")], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    for step in ("gpu-check", "no-triton", "freezing"):
        assert f"=== {step}: exit 0" in done.stdout, done.stdout[-3000:]
        assert "Speed, ConeLayer" in (out / f"{step}.txt").read_text()
    check = (out / "gpu-check.txt").read_text()
    assert "Feasibility on cpu" in check and "0 feasibility check(s) failed" in check, check
    assert all(setting in check for setting in gpu_check.SETTINGS), check
    freezing = (out / "freezing.txt").read_text()
    assert "eager:" in freezing and "compiled, freezing:" in freezing, freezing
    compiled = [line.split() for line in freezing.split("compiled, freezing:")[1].splitlines()
                if line.split()[:2] == ["64", "True"]]
    # Freezing changes only inference graphs: the forward is compiled and timed, and the
    # training step (the plain compile's, in gpu-check) is not compiled again.
    assert [row[2] for row in compiled] == ["forward"] and float(compiled[0][-1]) > 0, freezing
    # Every benchmark suite, on the checkerboards written as JSON, without osqp or Pillow.
    assert "=== bench: exit 0" in done.stdout, done.stdout[-3000:]
    bench = (out / "bench.txt").read_text()
    for suite in ("layer", "toy", "train", "vae", "polyhedron"):
        assert f"=== bench {suite}: exit 0" in bench, bench[-3000:]
    assert "osqp is not installed here" in bench and "twin + blocks projection" in bench, bench
    assert "=== profile: exit 0" in done.stdout, done.stdout[-3000:]
    assert "Profile, ConeLayer, eager training step" in (out / "profile.txt").read_text()
    if importlib.util.find_spec("triton") is not None:  # the kernels alone, interpreted
        assert "=== triton-blocks: exit 0" in done.stdout, done.stdout[-3000:]
        rows = (out / "triton-blocks.txt").read_text()
        for kernel in ("rays_box", "box forward", "box backward", "line map + box forward",
                       "line map + box backward"):
            assert kernel in rows, rows


def test_gpu_session_stays_within_its_limit(tmp_path):
    """With no time left of SESSION_LIMIT, every step is skipped and says so (a session cut
    short by the device tool's limit keeps what its first steps wrote); no step starts."""
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(tmp_path), "SESSION_LIMIT": "0"}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_session.sh")], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    for step in ("gpu-check", "cuda-tests", "profile", "triton-blocks", "no-triton", "freezing",
                 "bench"):
        assert f"=== {step}: skipped" in done.stdout, done.stdout
    assert "exit" not in done.stdout and not list(tmp_path.iterdir()), done.stdout

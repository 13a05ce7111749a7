"""The benchmark CLI runs end to end on tiny configurations (no timing assertions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import conecore as cc
from conecore import bench

ROOT = Path(__file__).resolve().parents[2]


def run_json(capsys, *argv: str) -> dict:
    assert bench.main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_convert_suite(capsys):
    out = run_json(capsys, "--suite", "convert", "--repeat", "1", "--no-baselines")
    cases = {r["case"]: r for r in out["convert"]}
    assert "rays=16, lines=768" in cases["checkerboard 28x28, integer"]["detail"]
    assert all(r["median_ms"] > 0 for r in out["convert"])


def test_layer_suite_reports_every_method(capsys, tmp_path):
    cone_file = tmp_path / "cone.json"
    cone_file.write_text(cc.cone_to_json(cc.Cone.from_inequalities(cc.preset("checkerboard-8"))))
    out = run_json(capsys, "--suite", "layer", "--cone", str(cone_file), "--batch", "1,3",
                   "--repeat", "1", "--in-features", "8", "--max-solver-samples", "2")
    rows = out["layer"]
    methods = {r["method"] for r in rows}
    assert {"plain head (no constraint)", "ConeLayer", "closed form (no box)",
            "head + osqp projection", "head + dual projection"} <= methods
    assert {r["batch"] for r in rows} == {1, 3}
    layer_rows = [r for r in rows if r["method"] == "ConeLayer"]
    assert all(r["max_violation"] < 1e-5 for r in layer_rows)
    scaled = [r for r in rows if r["batch"] == 3 and "osqp" in r["method"]]
    assert scaled[0]["note"] == "timed on 2 of 3, scaled"


def test_layer_suite_without_box_adds_nnls(capsys):
    out = run_json(capsys, "--suite", "layer", "--cone", "pyramid", "--batch", "2", "--box", "0",
                   "--repeat", "1", "--in-features", "4")
    assert "head + nnls projection" in {r["method"] for r in out["layer"]}


def test_toy_suite_learns_something(capsys):
    out = run_json(capsys, "--suite", "toy", "--toy-steps", "30")
    toy = out["toy"]
    assert toy["max_violation_cone_layer"] < 1e-5
    assert toy["mse_cone_layer"] >= toy["mse_optimum_exact_projection"] - 1e-9
    assert toy["share_unconstrained_outside"] > 0


def test_table_output_and_bad_arguments(capsys):
    assert bench.main(["--suite", "layer", "--cone", "pyramid", "--batch", "1", "--repeat", "1",
                       "--in-features", "3"]) == 0
    text = capsys.readouterr().out
    assert "ConeLayer" in text and "us/sample" in text
    with pytest.raises(SystemExit):
        bench.main(["--batch", "x"])
    with pytest.raises(SystemExit):
        bench.main(["--suite", "layer", "--cone", "no-such-cone"])


def test_module_help_runs():
    res = subprocess.run([sys.executable, "-m", "conecore.bench", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "--suite" in res.stdout


def test_train_suite(capsys):
    out = run_json(capsys, "--suite", "train", "--train-steps", "5")
    assert out["train"]["wedge: steps per second"] > 0
    assert "closed_form" not in out["train"]["pyramid: methods"]


def test_caps_suite_reaches_every_verdict_at_the_cap(capsys):
    """Each input is at the 1 MB text cap and reaches the verdict it is there to measure."""
    out = run_json(capsys, "--suite", "caps")["caps"]
    assert len(out) == 6
    assert all(" chars, " in v and "parse " in v for v in out.values())
    assert "limit is 400" in out["distinct small fractions, 300 a row"]
    assert "digits once" in out["17-digit fractions, 100 a row"]
    within = out["400 x 100 random decimals (within the limits)"]
    assert "400 x 100 with integers of up to" in within
    sizes = [int(v.split(" chars")[0].replace(",", "")) for v in out.values()]
    assert max(sizes) <= cc.formats.MAX_TEXT_CHARS and min(sizes[:5]) > 0.99e6

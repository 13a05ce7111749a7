"""The benchmarks run end to end on tiny configurations, through the CLI and through their
configurations (no timing assertions: speed is read, not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import conecore as cc
from conecore import bench

ROOT = Path(__file__).resolve().parents[2]
BOX_METHODS = {"plain head (no constraint)", "ConeLayer", "closed form (no box)",
               "head + osqp projection", "head + blocks projection", "head + dual projection"}


def run_json(capsys, *argv: str) -> dict:
    assert bench.main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_convert_suite(capsys):
    out = run_json(capsys, "--suite", "convert", "--repeat", "1", "--no-baselines")
    cases = {r["case"]: r for r in out["convert"]}
    assert len(cases) == 6 and not any("pycddlib" in c for c in cases)
    assert "rays=16, lines=768" in cases["checkerboard 28x28, integer"]["detail"]
    assert "rays=16, lines=768" in cases["checkerboard 28x28, float"]["detail"]
    assert all(r["median_ms"] > 0 and r["repeat"] == 1 for r in out["convert"])


def test_convert_suite_without_pycddlib_says_why_its_baselines_are_empty(capsys, monkeypatch):
    """pycddlib is an optional extra: without it the suite runs (conecore's own double
    description) and the two baseline rows say they were not run; it raised ImportError."""
    from conecore.cdd_backend import BACKEND_ENV

    monkeypatch.setitem(sys.modules, "cdd", None)  # import cdd now fails
    monkeypatch.setitem(sys.modules, "cdd.gmp", None)
    monkeypatch.delenv(BACKEND_ENV, raising=False)  # "auto": conecore's own, as on such a laptop
    out = run_json(capsys, "--suite", "convert", "--repeat", "1")
    cases = {r["case"]: r for r in out["convert"]}
    assert "rays=16, lines=768" in cases["checkerboard 28x28, integer"]["detail"]
    baselines = [r for c, r in cases.items() if c.startswith("pycddlib")]
    assert len(baselines) == 2 and len(cases) == 8, cases
    assert all("pycddlib is not installed" in r["detail"] and r["repeat"] == 0
               for r in baselines), baselines


def test_layer_suite_reports_every_method(capsys, tmp_path):
    cone_file = tmp_path / "cone.json"
    cone_file.write_text(cc.cone_to_json(cc.Cone.from_inequalities(cc.preset("checkerboard-8"))))
    out = run_json(capsys, "--suite", "layer", "--cone", str(cone_file), "--batch", "1,3",
                   "--repeat", "1", "--in-features", "8", "--max-solver-samples", "2")
    rows = out["layer"]
    for batch in (1, 3):  # with the box: OSQP, the blocks (disjoint rows) and the dual
        assert {r["method"] for r in rows if r["batch"] == batch} == BOX_METHODS
    assert {r["batch"] for r in rows} == {1, 3}
    layer_rows = [r for r in rows if r["method"] == "ConeLayer"]
    assert all(r["max_violation"] < 1e-5 for r in layer_rows)
    scaled = [r for r in rows if r["batch"] == 3 and "osqp" in r["method"]]
    assert scaled[0]["note"] == "timed on 2 of 3, scaled"


def test_layer_suite_without_box_adds_nnls(capsys):
    out = run_json(capsys, "--suite", "layer", "--cone", "pyramid", "--batch", "2", "--box", "0",
                   "--repeat", "1", "--in-features", "4")
    methods = {r["method"] for r in out["layer"]}
    assert {"head + nnls projection", "head + active-set projection"} <= methods
    assert "head + blocks projection" not in methods  # the pyramid's rows overlap
    rows = {r["method"]: r for r in out["layer"]}
    fastest_exact = min(rows[f"head + {m} projection"]["batch_ms"] for m in ("nnls", "active-set"))
    for r in out["layer"]:  # the speed-up against the fastest exact projection is against it
        assert r["fastest_projection_speedup"] == pytest.approx(fastest_exact / r["batch_ms"])
    assert not any("nnls" in r["method"] for r in run_json(
        capsys, "--suite", "layer", "--cone", "pyramid", "--batch", "2", "--repeat", "1",
        "--in-features", "4")["layer"])


def test_layer_suite_from_its_configuration_reports_progress():
    """The Benchmark page's path: a LayerBench with a Cone, and a progress callback."""
    cone = cc.Cone.from_inequalities([[1, -2], [-3, 1]])
    config = bench.LayerBench(cone, in_features=4, box=0.0, batches=[4, 1, 4], device="cpu",
                              repeat=1, max_solver_samples=2)
    assert config.batches == (1, 4)
    seen: list[tuple[float, str]] = []
    reported: list[list[bench.LayerRow]] = []
    rows = bench.layer_suite(config, progress=lambda f, label: seen.append((f, label)),
                             report=reported.append)
    # Before each measurement, what it is; the methods: head, layer, 4 projections.
    assert seen[0] == (0.0, "cpu, batch 1: plain head") and seen[-1] == (1.0, "done")
    assert [f for f, _ in seen] == sorted(f for f, _ in seen) and len(seen) == 2 * 6 + 1
    assert "cpu, batch 4: head + active-set projection" in [label for _, label in seen]
    assert [{r.batch for r in group} for group in reported] == [{1}, {4}]  # as measured
    assert [r for group in reported for r in group] == rows
    assert {(r.device, r.batch) for r in rows} == {("cpu", 1), ("cpu", 4)}
    head = {r.batch: r for r in rows if r.method == "plain head (no constraint)"}
    assert all(r.vs_head == 1.0 for r in head.values())


def test_an_unconverged_projection_is_flagged_and_never_the_fastest_exact(monkeypatch):
    """The dual stopped after 2 iterations: its row says NOT CONVERGED, and the speed-ups are
    against the fastest exact projection that converged, however fast the dual was."""
    from conecore import projection

    real = projection.project

    def hurried(cone, Y, method, **kw):
        return real(cone, Y, method, **kw, **({"max_iter": 2} if method == "dual" else {}))

    monkeypatch.setattr(projection, "project", hurried)
    cone = cc.Cone.from_inequalities(cc.preset("ice-cream", k=16))
    rows = bench.layer_suite(bench.LayerBench(cone, in_features=4, box=0.0, batches=(64,),
                                              device="cpu", repeat=1))
    by = {r.method: r for r in rows}
    dual = by["head + dual projection"]
    assert not dual.converged and "NOT CONVERGED" in dual.note and dual.max_violation > 1e-5
    assert all(r.converged for name, r in by.items() if "dual" not in name)
    exact = min(by[f"head + {m} projection"].batch_ms for m in ("nnls", "active-set"))
    assert by["ConeLayer"].fastest_projection_speedup == pytest.approx(
        exact / by["ConeLayer"].batch_ms)


def test_slow_solvers_are_timed_in_bounded_time():
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.05)

    median, best, _ = bench._bounded(slow, repeat=1000, budget_s=0.2)
    assert 3 <= len(calls) <= 6 and best >= 50 and median >= best  # warm-up + about 3 runs
    calls.clear()
    bench._bounded(slow, repeat=2, budget_s=100)
    assert len(calls) == 3  # the warm-up and the 2 asked for


def test_every_torch_suite_takes_a_cone_file_and_a_device(capsys, tmp_path):
    """--cone FILE.json reaches toy, train and vae (no double description is needed), and so
    does --device; a cone of the wrong size for the images is refused by name."""
    cb8 = tmp_path / "cb8.json"
    cb8.write_text(cc.cone_to_json(cc.Cone.from_inequalities(cc.preset("checkerboard-8"))))
    wedge = tmp_path / "wedge.json"
    wedge.write_text(cc.cone_to_json(cc.Cone.from_inequalities([[1, -2], [-3, 1]])))
    toy = run_json(capsys, "--suite", "toy", "--toy-steps", "2", "--cone", str(cb8),
                   "--device", "cpu")["toy"]
    assert toy["max_violation_cone_layer"] < 1e-5
    train = run_json(capsys, "--suite", "train", "--train-steps", "3", "--cone", str(wedge),
                     "--device", "cpu")["train"]
    assert list(train) == ["your cone: methods", "your cone: steps per second"]
    vae = run_json(capsys, "--suite", "vae", "--vae-epochs", "1", "--cone", str(cb8),
                   "--device", "cpu")["vae"]
    assert vae["data"].endswith("on cpu")
    with pytest.raises(SystemExit) as exc:
        bench.main(["--suite", "toy", "--cone", str(wedge), "--toy-steps", "1"])
    assert exc.value.code == 2 and "toy: the toy experiment's cone must have d = 64" in (
        capsys.readouterr().err)


@pytest.mark.parametrize(("field", "value", "words"), [
    ("in_features", 0, "in_features has to be an integer of at least 1. Got 0"),
    ("batches", (), "batches has to hold batch sizes from 1"),
    ("batches", (1, 70000), "Got (1, 70000)"),
    ("box", -1.0, "box has to be a finite number >= 0"),
    ("device", "tpu", "Got 'tpu'"),
    ("repeat", 1.5, "repeat has to be an integer"),
])
def test_layer_configuration_names_what_is_wrong(field, value, words):
    cone = cc.Cone.from_inequalities([[1, 0]])
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        bench.LayerBench(cone, **{field: value})


def test_load_cone_reads_presets_and_files_and_names_the_rest(tmp_path):
    assert bench.load_cone("pyramid").dim == 3
    (tmp_path / "a.csv").write_text("1,-2\n-3,1\n")
    assert bench.load_cone(tmp_path / "a.csv").rays.shape == (2, 2)
    with pytest.raises(ValueError, match="'no-such-cone' is neither a preset"):
        bench.load_cone("no-such-cone")
    with pytest.raises(ValueError, match="has to be a Cone"):  # names go through load_cone
        bench.LayerBench("pyramid")


def test_toy_suite_learns_the_projection(capsys):
    """The trained ConeLayer network is within 1.5 x the optimum's test error (the exact
    projection's), where the same network after one step is over 2 x (about 3 x; outputting
    the cone's apex, 0, would be about 2.7 x): a layer that did not learn fails here."""
    trained = run_json(capsys, "--suite", "toy", "--toy-steps", "60")["toy"]
    untrained = run_json(capsys, "--suite", "toy", "--toy-steps", "1")["toy"]
    optimum = trained["mse_optimum_exact_projection"]
    assert untrained["mse_optimum_exact_projection"] == optimum  # the same data and split
    assert optimum <= trained["mse_cone_layer"] < 1.5 * optimum
    assert untrained["mse_cone_layer"] > 2 * optimum
    assert trained["mse_cone_layer_to_projection"] < untrained["mse_cone_layer_to_projection"] / 3
    assert trained["max_violation_cone_layer"] < 1e-5  # inside the cone, trained or not
    assert untrained["max_violation_cone_layer"] < 1e-5
    assert trained["share_unconstrained_outside"] > 0  # the constraint is not trivially met


def test_table_output_and_bad_arguments(capsys):
    assert bench.main(["--suite", "layer", "--cone", "pyramid", "--batch", "1", "--repeat", "1",
                       "--in-features", "3"]) == 0
    text = capsys.readouterr().out
    assert "ConeLayer" in text and "us/sample" in text and "cone: pyramid (d = 3" in text
    for argv, words in ((["--batch", "x"], "--batch has to be comma-separated integers"),
                        (["--batch", "0"], "batches has to hold batch sizes"),
                        (["--in-features", "0"], "in_features has to be"),
                        (["--cone", "no-such-cone"], "'no-such-cone' is neither a preset")):
        with pytest.raises(SystemExit) as exc:
            bench.main(["--suite", "layer", *argv])
        assert exc.value.code == 2
        assert words in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["--suite", "caps", "--max-rows", "0"])
    assert "--max-rows has to be positive" in capsys.readouterr().err


def test_module_help_lists_every_suite():
    res = subprocess.run([sys.executable, "-m", "conecore.bench", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "--suite" in res.stdout
    for name, line in bench.SUITES.items():
        assert f"  {name:8s} {line}" in res.stdout
        assert f"* ``{name}`` — " in bench.__doc__


def test_train_suite(capsys):
    out = run_json(capsys, "--suite", "train", "--train-steps", "5")["train"]
    assert out["wedge: steps per second"] > 0 and out["pyramid: steps per second"] > 0
    assert "closed_form" in out["wedge: methods"]
    assert "closed_form" not in out["pyramid: methods"]  # its A has no full row rank


def test_caps_suite_reaches_every_verdict_at_the_apps_caps(capsys):
    """Each input is at the 1 MB text cap and, under the app's caps given as flags, reaches the
    verdict it is there to measure; the flags can express every cap the app sets."""
    from explorer.limits import APP_LIMITS

    flags = [arg for name in bench.CAPS_LIMITS
             for arg in (f"--{name.replace('_', '-')}", str(getattr(APP_LIMITS, name)))]
    args = bench._parser().parse_args(["--suite", "caps", *flags])
    assert bench.configs_from_args(args, ["caps"])["caps"] == APP_LIMITS
    out = run_json(capsys, "--suite", "caps", *flags)["caps"]
    assert len(out) == 6
    assert all(" chars, " in v and "parse " in v for v in out.values())
    assert "limit is 400" in out["distinct small fractions, 300 a row"]
    assert "digits once" in out["17-digit fractions, 100 a row"]
    within = out["400 x 100 random decimals (within the limits)"]
    assert "400 x 100 with integers of up to" in within
    sizes = [int(v.split(" chars")[0].replace(",", "")) for v in out.values()]
    assert max(sizes) <= cc.formats.MAX_TEXT_CHARS and min(sizes[:5]) > 0.99e6


def test_caps_suite_takes_its_limits():
    """The same inputs under the library's default limits: the 456-row input is not refused
    for its rows (the row limit is 5,000), so the verdicts follow the limits passed."""
    out = bench.caps_suite(cc.Limits())
    assert "limit is 400" not in out["distinct small fractions, 300 a row"]


def test_polyhedron_suite_runs_from_the_one_cli(capsys):
    """``--suite polyhedron``: the PolyhedronLayer's rows on both cases, inside its polyhedron,
    next to the head (outside) and the projections (inside)."""
    out = run_json(capsys, "--suite", "polyhedron", "--batch", "2", "--repeat", "1",
                   "--in-features", "4", "--max-solver-samples", "2", "--device", "cpu")
    rows = out["polyhedron"]
    assert {r["case"] for r in rows} == {"simplex-784", "polytope-3d"}
    for r in rows:
        if r["method"] == "PolyhedronLayer" or "projection" in r["method"]:
            assert r["max_violation"] < 1e-5, r
    assert max(r["max_violation"] for r in rows if r["method"].startswith("plain")) > 1e-3


def test_every_suite_runs_without_osqp_and_says_so(capsys, monkeypatch, tmp_path):
    """A machine with torch alone (a GPU box) may lack osqp: the layer, vae and polyhedron
    suites leave its rows out and say so (OSQP/this is nan), the VAE's baseline is the exact
    projection by blocks, and the library's own error names the package and the other
    methods. They raised ImportError from deep inside."""
    import math

    from conecore.projection import project

    monkeypatch.setitem(sys.modules, "osqp", None)  # import osqp now fails
    cb8 = tmp_path / "cb8.json"
    cone = cc.Cone.from_inequalities(cc.preset("checkerboard-8"))
    cb8.write_text(cc.cone_to_json(cone))
    assert bench.main(["--suite", "layer", "--cone", str(cb8), "--batch", "2", "--repeat", "1",
                       "--in-features", "4", "--max-solver-samples", "2"]) == 0
    assert "osqp is not installed here (pip install osqp)" in capsys.readouterr().out
    rows = run_json(capsys, "--suite", "layer", "--cone", str(cb8), "--batch", "2",
                    "--repeat", "1", "--in-features", "4", "--max-solver-samples", "2")["layer"]
    assert {r["method"] for r in rows} == BOX_METHODS - {"head + osqp projection"}
    assert all(math.isnan(r["osqp_speedup"]) and r["fastest_projection_speedup"] > 0
               for r in rows)
    vae = run_json(capsys, "--suite", "vae", "--vae-epochs", "1", "--cone", str(cb8),
                   "--device", "cpu")["vae"]
    assert "twin + blocks projection, us per sample" in vae, vae
    assert vae["samples in the cone: ConeLayer / twin / projected"].endswith("/ 100%"), vae
    assert bench.main(["--suite", "polyhedron", "--batch", "2", "--repeat", "1",
                       "--in-features", "4", "--max-solver-samples", "2", "--device",
                       "cpu"]) == 0
    out = capsys.readouterr().out
    assert "osqp is not installed here" in out and "OSQP projection" not in out, out
    with pytest.raises(ImportError, match=r"needs the osqp package \(pip install osqp\); "
                                          "without it use 'nnls', 'active-set'"):
        project(cone, [[1.0] * 64], "osqp")

"""scripts.class_load against a real server: two protocol-level sessions train, pause,
step and keep their own cones (the script's own checks), and its report reads its numbers.
scripts.runner_race forces Streamlit's lost-run race (a tick that cuts off a click's run):
Train live loses no click to it, and a plain app with a timer does.

The limits are loose on purpose (CI shares two cores with the other tests): this checks that
the script and the server's protocol still fit together, not the latency goals (README)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.harness import cone_for

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("websockets")


def test_two_sessions_train_pause_step_and_stay_isolated(tmp_path):
    # In a child process: asyncio.run() refuses to run where Playwright's sync API (the
    # browser tests, maybe in this same worker) has left an event loop running.
    out = tmp_path / "class.json"
    proc = subprocess.run(
        [sys.executable, "-m", "scripts.class_load", "--sessions", "2", "--seconds", "4",
         "--reruns", "2", "--p95-limit", "60", "--pause-limit", "60", "--timeout", "90",
         "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=400)
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, report
    result = json.loads(out.read_text())
    assert result["errors"] == {}, result["errors"]
    assert result["isolation"] == {"ok": 2, "of": 2, "failures": {}}
    assert result["step"]["n"] == 4
    detail = result["sessions_detail"]
    assert {d["cone"] for d in detail.values()} == {"1,-2;-3,1", "-1,0;0,-1"}
    for d in detail.values():
        assert d["share_A"] == d["cone"]  # the sidebar's link holds the session's own cone
        assert d["ticks_per_s"] > 0  # the fragment timer was answered: training ticked
        assert d["ticks_after_pause"] <= 1  # at most a tick in flight when Pause landed
    assert "RESULT: OK" in report


def race(tmp_path, *args: str) -> dict:
    out = tmp_path / "race.json"
    proc = subprocess.run([sys.executable, "-m", "scripts.runner_race", "--json", str(out),
                           *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.exists(), proc.stdout + proc.stderr
    return json.loads(out.read_text())


def test_a_tick_that_cuts_off_a_click_run_loses_no_click(tmp_path):
    """Play, and a tick of the new timer while Play's run works; later Pause, and a tick of
    the old timer. The server holds each tick until the run in front of it has ended, as a
    busy event loop does: Streamlit then drops the rest of that run (its end too). The page
    must still finish a page run after each click (issue 14, item 11)."""
    result = race(tmp_path, "--timeout", "90")
    clicks = {c["click"]: c for c in result["clicks"]}
    assert set(clicks) == {"Play", "Pause"}
    assert all(c["tick_sent"] for c in clicks.values()), clicks
    assert result["server"]["held"] == 2, result["server"]  # both ticks raced their click
    # Play's tick found Play's runner stopped and started another, which cut Play's run off:
    # the race happened, and the page sent a whole page run again.
    assert result["server"]["new_runner_for_tick"] >= 1, result["server"]
    assert clicks["Play"]["cut"], clicks
    assert result["lost"] == [], clicks
    assert all(c["finished_s"] is not None for c in clicks.values())


def test_the_race_is_streamlits_a_plain_app_loses_its_click(tmp_path):
    """The same race in a ten-line app (a button and a fragment with a timer): the click's
    run never ends. If this fails, Streamlit no longer drops the run, and pages/train.py's
    guard (explorer.pacing.RunGuard) may go."""
    result = race(tmp_path, "--tiny", "--timeout", "8")
    assert result["server"]["dropped_page_run_ends"] == 1, result
    assert result["lost"] == ["Click"], result


def test_cones_for_a_large_class_are_distinct_and_read_back():
    import conecore as cc

    cones = [cone_for(k) for k in range(40)]
    assert len(set(cones)) == 40
    for text in cones:
        cone = cc.Cone.from_inequalities(cc.from_url_text(text))
        assert cc.to_url_text(cone) == text

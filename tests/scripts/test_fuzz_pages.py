"""scripts/fuzz_pages.py runs, and reports a page run that ends in an exception."""

from __future__ import annotations

import random

import conecore as cc
from scripts import fuzz_pages


def test_the_fuzzer_runs_clean_and_reports_a_crash(monkeypatch, capsys):
    assert fuzz_pages.main(["--seconds", "2", "--seed", "1", "--only", "links"]) == 0
    assert "with an exception" in capsys.readouterr().out

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(cc, "polyhedron_from_A_b", boom)
    what, bad = fuzz_pages.polyhedron_case(random.Random(0))
    assert what.startswith("polyhedra A=") and bad and "encountered an error" in bad[0]

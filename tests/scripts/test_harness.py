"""scripts.harness: the statistics the load reports print, the sessions' cones, and the rule
that the scripts share code through the harness only (no sys.path edits, no script imports
another)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from scripts import harness

SCRIPTS = Path(harness.__file__).resolve().parent


@pytest.mark.parametrize("q", [0.0, 0.5, 0.95, 1.0])
def test_quantile_is_numpys_default(q):
    xs = [0.3, 2.0, 0.1, 0.7, 1.1, 0.4]
    assert harness.quantile(xs, q) == pytest.approx(np.quantile(xs, q))


def test_latency_stats_with_and_without_values():
    assert harness.latency_stats([]) == {"n": 0, "p50_s": None, "p95_s": None, "max_s": None,
                                         "mean_s": None}
    stats = harness.latency_stats([0.2, 0.4, 1.0])
    assert stats == {"n": 3, "p50_s": 0.4, "p95_s": 0.94, "max_s": 1.0, "mean_s": 0.533}
    assert harness.seconds(None) == "-" and harness.seconds(0.4) == "0.40 s"


def test_session_cones_repeat_scaled_past_ten():
    assert [harness.cone_for(k) for k in range(10)] == harness.CONES
    assert harness.cone_for(10) == "2,-4;-6,2"  # 1,-2;-3,1 times 2
    assert harness.cone_for(29) == "3/2,-3;-3,1"  # 1/2,-1;-1,1/3 times 3


def test_app_limits_are_the_apps():
    from explorer.limits import APP_LIMITS

    assert harness.app_limits() is APP_LIMITS


@pytest.mark.parametrize("path", sorted(SCRIPTS.glob("*.py")), ids=lambda p: p.name)
def test_scripts_share_code_through_the_harness_only(path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "path" and \
                isinstance(node.value, ast.Name) and node.value.id == "sys":
            pytest.fail(f"{path.name}:{node.lineno} uses sys.path")
        if isinstance(node, ast.ImportFrom) and node.module:
            top, _, rest = node.module.partition(".")
            if top == "scripts":
                assert rest == "harness", f"{path.name} imports {node.module}"
            assert node.level == 0, f"{path.name}: a relative import"
        if isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name.split(".")[0] != "scripts" or alias.name == "scripts.harness"

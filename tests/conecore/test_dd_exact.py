"""The pure-Python exact double description (``conecore.dd_exact``) and the choice of backend.

The fallback must give *exactly* what pycddlib gives: the same set of primitive integer rays and
the same redundant rows. It is checked against pycddlib (where installed) and, everywhere,
against the definitions: the teaching implementation in ``ddsteps.py`` (Fractions, a different
code path) for the rays, and "removing the row leaves the cone unchanged", examined from the last
row to the first, for the redundant rows.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import conecore as cc
from conecore import cdd_backend, dd_exact
from conecore.cdd_backend import (
    BACKEND_ENV,
    BackendError,
    BackendUnavailableError,
    Limits,
    resolve_backend,
)
from conecore.ddsteps import double_description
from conecore.exact import echelon_pivots

ROOT = Path(__file__).resolve().parents[2]
needs_cdd = pytest.mark.skipif(not cdd_backend.cddlib_available(),
                               reason="pycddlib is not installed")


# ---------------------------------------------------------------------- strategies and oracles
@st.composite
def matrices(draw, max_dim=5, max_rows=9):
    """Small integer matrices, with the troublesome cases made likely: repeated rows, positive
    multiples, opposite rows (equalities), zero rows, 1-D and 2-D problems."""
    d = draw(st.integers(1, max_dim))
    hi = draw(st.sampled_from([1, 2, 3, 7]))
    row = st.lists(st.integers(-hi, hi), min_size=d, max_size=d)
    rows = draw(st.lists(row, min_size=1, max_size=max_rows))
    extras = draw(st.lists(st.tuples(st.integers(0, len(rows) - 1),
                                     st.sampled_from([1, 2, -1, -3, 0])), max_size=3))
    for i, k in extras:
        rows.append([k * v for v in rows[i]])
    order = draw(st.permutations(range(len(rows))))
    return [rows[i] for i in order]


def reduce(rows: list[list[int]]) -> tuple[list[list[int]], int]:
    """``cone.py``'s reduction: the columns of a basis, so the problem is pointed."""
    _, cols = echelon_pivots(rows, len(rows[0]))
    return [[row[j] for j in cols] for row in rows], len(cols)


def dot(a, x) -> int:
    return sum(u * v for u, v in zip(a, x))


def rank(rows) -> int:
    return len(echelon_pivots([list(r) for r in rows], len(rows[0]))[1]) if rows else 0


def check_rays(rows: list[list[int]], rays: list[list[int]], r: int) -> None:
    """Each ray is a primitive integer vector in the cone, extreme, and none repeats."""
    assert len({tuple(x) for x in rays}) == len(rays)
    for ray in rays:
        assert all(isinstance(v, int) for v in ray)
        assert math.gcd(*ray) == 1
        assert all(dot(b, ray) <= 0 for b in rows)
        assert rank([b for b in rows if dot(b, ray) == 0]) == r - 1


def redundant_by_definition(rows: list[list[int]]) -> list[int]:
    """From the last row to the first: a row is redundant when the cone of the other rows still
    kept satisfies it (every ray and line of that cone, from ``ddsteps``), and is then dropped."""
    kept = [i for i, row in enumerate(rows) if any(row)]
    found = [i for i, row in enumerate(rows) if not any(row)]
    for i in reversed(kept[:]):
        others = [rows[j] for j in kept if j != i]
        if others:
            dd = double_description(others)
            gens, lines = dd.rays, dd.lines
        else:
            gens, lines = [], [tuple(int(j == k) for k in range(len(rows[i])))
                               for j in range(len(rows[i]))]
        if all(dot(rows[i], g) <= 0 for g in gens) and all(dot(rows[i], v) == 0 for v in lines):
            found.append(i)
            kept.remove(i)
    return sorted(found)


def as_set(rays) -> set[tuple[int, ...]]:
    return {tuple(x) for x in rays}


# ---------------------------------------------------------------------- against pycddlib
@needs_cdd
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matrices())
def test_the_backends_agree_exactly(rows):
    B, r = reduce(rows)
    if r == 0:
        return
    py = cdd_backend.extreme_rays(B, r, backend="python")
    cd = cdd_backend.extreme_rays(B, r, backend="cddlib")
    assert as_set(py) == as_set(cd)
    check_rays(B, py, r)
    # The same problem with every row an inequality (no linearity set).
    nonzero = [b for b in B if any(b)]
    from conecore import _cdd_worker

    assert as_set(dd_exact.extreme_rays(nonzero)) == as_set(_cdd_worker.extreme_rays(nonzero))
    # Redundant rows: on the reduced rows (cone.py's path) and on the rows as given.
    assert (cdd_backend.redundant_rows(B, backend="python")
            == cdd_backend.redundant_rows(B, backend="cddlib"))
    assert (cdd_backend.redundant_rows(rows, backend="python")
            == cdd_backend.redundant_rows(rows, backend="cddlib"))


@needs_cdd
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matrices(max_dim=7, max_rows=16))
def test_the_backends_agree_on_larger_degenerate_cones(rows):
    B, r = reduce(rows)
    if r == 0:
        return
    assert (as_set(cdd_backend.extreme_rays(B, r, backend="python"))
            == as_set(cdd_backend.extreme_rays(B, r, backend="cddlib")))
    assert (cdd_backend.redundant_rows(B, backend="python")
            == cdd_backend.redundant_rows(B, backend="cddlib"))


@needs_cdd
@pytest.mark.parametrize("name", ["checkerboard-8", "ice-cream", "octahedral", "pyramid",
                                  "redundant-pyramid", "monotone", "wedge-line", "only-origin"])
def test_presets_give_the_same_cone_with_either_backend(name):
    A = cc.preset(name)
    a = cc.Cone.from_inequalities(A, limits=Limits(backend="cddlib"))
    b = cc.Cone.from_inequalities(A, limits=Limits(backend="python"))
    assert as_set(a._rays_int) == as_set(b._rays_int)
    assert b.same_as(a)


# ---------------------------------------------------------------------- against the definitions
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matrices(max_dim=4, max_rows=7))
def test_rays_match_the_teaching_implementation_and_redundancy_its_definition(rows):
    B, r = reduce(rows)
    if r == 0:
        return
    rays = cdd_backend.extreme_rays(B, r, backend="python")
    check_rays(B, rays, r)
    reference = double_description(B)
    assert not reference.lines  # the reduced problem is pointed
    assert as_set(rays) == as_set(reference.rays)
    assert cdd_backend.redundant_rows(rows, backend="python") == redundant_by_definition(rows)


def test_redundancy_keeps_the_first_of_equal_rows_and_handles_equalities():
    red = dd_exact.redundant_rows
    assert red([[1, 0], [1, 0], [2, 0]]) == [1, 2]
    # The facets of x >= 0, -2x <= y <= -x/3 are rows 1 and 2.
    assert red([[-1, 0], [-2, -1], [1, 3], [-2, 3], [-1, 0]]) == [0, 3, 4]
    # Only the origin: the rows are implicit equalities and must keep spanning positively.
    assert red([[1, 0], [-1, 0], [0, 1], [0, -1]]) == []
    assert red([[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1]]) == [4]
    assert red([[1, 1], [1, 0], [-1, 0], [0, 1]]) == [3]


def test_simplicial_and_equality_cases():
    # The positive orthant of R^3 written as -y <= 0.
    assert as_set(dd_exact.extreme_rays([[-1, 0, 0], [0, -1, 0], [0, 0, -1]])) == {
        (1, 0, 0), (0, 1, 0), (0, 0, 1)}
    # y1 = y2 (an equality, listed first), y >= 0: a single ray.
    assert dd_exact.extreme_rays([[1, -1], [-1, 0], [0, -1]], equalities=1) == [[1, 1]]
    # The cone over a square, with big entries: the rays are reduced to coprime integers.
    sq = [[6, 0, -6], [-6, 0, -6], [0, 10, -10], [0, -10, -10]]
    assert as_set(dd_exact.extreme_rays(sq)) == {(s, t, 1) for s in (1, -1) for t in (1, -1)}
    with pytest.raises(ValueError, match="pointed"):
        dd_exact.extreme_rays([[1, 0], [2, 0]])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matrices(max_dim=6, max_rows=7), st.sampled_from([1, 10**25]))
def test_the_pure_python_linear_algebra_of_the_child(rows, scale):
    """``exact_pure`` (what the child process runs): the same pivots as the int64 elimination,
    a primitive basis of the kernel with x[t] > 0, and projections onto the row space."""
    from conecore import exact_pure

    rows = [[v * scale + (i % 2 if v else 0) for v in row] for i, row in enumerate(rows)]
    d = len(rows[0])
    pivot_rows, pivot_cols = exact_pure.echelon_pivots(rows, d)
    if scale == 1:
        assert (pivot_rows, pivot_cols) == echelon_pivots(rows, d)  # numpy int64 there
    assert rank([[rows[i][j] for j in pivot_cols] for i in pivot_rows]) == len(pivot_cols) \
        == rank(rows)
    basis = exact_pure.nullspace_basis(rows, pivot_rows, pivot_cols, d)
    assert len(basis) == d - len(pivot_cols)
    free = [t for t in range(d) if t not in pivot_cols]
    for t, x in zip(free, basis):
        assert x[t] > 0 and math.gcd(*x) == 1
        assert all(x[u] == 0 for u in free if u != t)
        assert all(sum(a * b for a, b in zip(row, x)) == 0 for row in rows)
    X = [[(3 * i + j) % 5 - 2 for j in range(d)] for i in range(3)]
    for x, p in zip(X, exact_pure.project_to_rowspace(rows, pivot_rows, X)):
        # p lies in the row space (orthogonal to the kernel) and x - p / s in the kernel.
        assert all(sum(a * b for a, b in zip(p, k)) == 0 for k in basis)
        if any(p):
            assert math.gcd(*p) == 1
            scale_p = sum(a * b for a, b in zip(p, p))
            dot = sum(a * b for a, b in zip(x, p))
            # x . p = |p|^2 / s for the positive s with P x = p / s: so x . p > 0.
            assert dot > 0 and scale_p > 0


def test_independent_rows_are_chosen_in_order_with_a_nonsingular_block():
    rows = [[0, 0, 0], [1, 2, 3], [2, 4, 6], [0, 1, 1], [5, 5, 5]]
    basis, cols = dd_exact.independent_rows(rows, 3)
    assert basis == [1, 3, 4]
    assert rank([[rows[i][j] for j in cols] for i in basis]) == 3


# ---------------------------------------------------------------------- choosing the backend
def test_the_environment_variable_and_the_argument_choose(monkeypatch):
    monkeypatch.setenv(BACKEND_ENV, "python")
    assert resolve_backend() == "python"
    monkeypatch.setenv(BACKEND_ENV, " Pure ")
    assert resolve_backend() == "python"
    monkeypatch.setenv(BACKEND_ENV, "bogus")
    with pytest.raises(BackendError, match="CONECORE_BACKEND=bogus"):
        resolve_backend()
    with pytest.raises(cc.ConeError, match="unknown double description backend"):
        cc.Cone.from_inequalities([[1, 0]])
    assert resolve_backend("python") == "python"  # the argument wins over the variable
    monkeypatch.delenv(BACKEND_ENV)
    assert resolve_backend() == ("cddlib" if cdd_backend.cddlib_available() else "python")


def test_forcing_cddlib_without_pycddlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "cdd", None)  # import cdd now fails
    monkeypatch.setitem(sys.modules, "cdd.gmp", None)
    monkeypatch.setenv(BACKEND_ENV, "auto")
    assert resolve_backend() == "python"
    cone = cc.Cone.from_inequalities([[1, 0], [1, 0], [0, -1]])
    assert cone.redundant_rows == (1,)
    for how in ({"limits": Limits(backend="cddlib")}, {}):
        monkeypatch.setenv(BACKEND_ENV, "cddlib" if not how else "auto")
        with pytest.raises(BackendUnavailableError) as info:
            cc.Cone.from_inequalities([[1, 0], [0, 1]], **how)
        assert 'pip install "conecore[cdd]"' in str(info.value)
        assert "libcdd-dev libgmp-dev" in str(info.value)
        assert isinstance(info.value, ImportError) and isinstance(info.value, cc.ConeError)
    # The limits' backend wins over the variable.
    assert len(cc.Cone.from_inequalities([[1, 0], [0, 1]],
                                         limits=Limits(backend="python")).rays) == 2


def test_without_pycddlib_conecore_installs_and_gives_exact_cones(tmp_path):
    """A fresh interpreter where ``import cdd`` fails (a module on PYTHONPATH that raises, so
    the double description's child process cannot import it either): conecore imports, picks
    the pure-Python backend, and computes exact cones in the process and in the child."""
    (tmp_path / "cdd.py").write_text("raise ImportError('pycddlib is blocked for this test')\n")
    script = textwrap.dedent("""
        import itertools, json
        import conecore as cc
        from conecore.cdd_backend import Limits, resolve_backend
        try:
            import cdd  # noqa: F401
            blocked = False
        except ImportError:
            blocked = True
        A = [[*s, -1] for s in itertools.product((1, -1), repeat=3)]  # over the octahedron
        here = cc.Cone.from_inequalities(A)
        there = cc.Cone.from_inequalities(A, limits=Limits(in_process_seconds=0))  # the child
        try:
            cc.Cone.from_inequalities(A, limits=Limits(backend="cddlib"))
            forced = ""
        except cc.ConeError as exc:
            forced = str(exc)
        print(json.dumps({
            "blocked": blocked, "backend": resolve_backend(),
            "here": sorted(here.rays_exact.tolist()), "there": sorted(there.rays_exact.tolist()),
            "redundant": list(cc.Cone.from_inequalities(A + [A[0]]).redundant_rows),
            "forced": forced}))
    """)
    env = {k: v for k, v in os.environ.items() if k != BACKEND_ENV}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT)])
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, text=True,
                         capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["blocked"] and got["backend"] == "python"
    octahedron = sorted([[s if i == j else 0 for j in range(3)] + [1]
                         for i in range(3) for s in (1, -1)])
    assert got["here"] == got["there"] == octahedron
    assert got["redundant"] == [8]
    assert 'pip install "conecore[cdd]"' in got["forced"]


@pytest.mark.parametrize("backend", ["python", pytest.param("cddlib", marks=needs_cdd)])
def test_the_worker_script_runs_either_backend(backend):
    """The child process reads its job on stdin (a JSON header, then matrices as hex rows) and
    writes everything asked for in one answer; with the python backend it imports only
    ``dd_exact`` and ``exact_pure`` (next to it), not conecore (so not numpy) nor pycddlib."""
    import io

    from conecore import _cdd_worker

    job = io.StringIO()
    _cdd_worker.write_message(
        job, {"ncols": 3, "backend": backend,
              "want": ["pivots", "rays", "redundant", "rays_exact", "lines_exact"]},
        {"rows": [[1, -1, 0], [-1, 1, 0], [-1, 0, 0], [0, -1, 0], [-2, 0, 0]]})
    probe = ("import runpy, sys; sys.argv = sys.argv[1:]; "
             "runpy.run_path(sys.argv[0], run_name='__main__'); "
             "bad = sorted(m for m in ('numpy', 'conecore', 'cdd') if m in sys.modules); "
             "print(bad, file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", probe, _cdd_worker.__file__, str(2**30)],
                         input=job.getvalue(), text=True, capture_output=True, timeout=60,
                         cwd=os.path.dirname(_cdd_worker.__file__))
    assert out.returncode == 0, out.stderr
    header, matrices = _cdd_worker.read_message(iter(out.stdout.splitlines()))
    assert header == {"pivot_rows": [0, 2], "pivot_cols": [0, 1], "redundant": [3, 4]}
    assert matrices == {"rays": [[1, 1]], "rays_exact": [[1, 1, 0]],
                        "lines_exact": [[0, 0, 1]]}
    if backend == "python":
        assert out.stderr.strip().splitlines()[-1] == "[]"


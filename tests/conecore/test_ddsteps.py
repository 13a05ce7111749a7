"""The step-by-step double description agrees with pycddlib, and its steps are consistent."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import conecore as cc
from conecore.ddsteps import double_description, polyhedron_steps


def same_cone_as_library(A) -> None:
    dd = double_description(A)
    cone = cc.Cone.from_inequalities(A)
    assert len(dd.lines) == len(cone.lines)
    rays = np.array(dd.rays, dtype=float).reshape(-1, cone.dim)
    if len(cone.lines):
        rays = rays - (rays @ cone.lines.T) @ cone.lines  # the library's rays are orthogonal
    if len(rays):
        rays = rays / np.linalg.norm(rays, axis=1, keepdims=True)
    assert cc.Cone.from_generators(rays, np.array(dd.lines, dtype=float).reshape(
        -1, cone.dim)).same_as(cone)
    assert len(rays) == len(cone.rays)  # no redundant rays survive


@pytest.mark.parametrize("name", [n for n in cc.PRESETS if cc.preset(n).shape[1] <= 6])
def test_presets_agree_with_pycddlib(name):
    same_cone_as_library(cc.preset(name))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(-3, 3), min_size=3, max_size=3), min_size=1, max_size=7),
       st.randoms(use_true_random=False))
def test_random_cones_and_orders_agree(rows, rnd):
    same_cone_as_library(rows)
    order = list(range(len(rows)))
    rnd.shuffle(order)
    dd = double_description(rows, order)
    assert cc.Cone.from_generators(np.array(dd.rays, dtype=float).reshape(-1, 3),
                                   np.array(dd.lines, dtype=float).reshape(-1, 3)).same_as(
        cc.Cone.from_inequalities(rows))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(-3, 3), min_size=4, max_size=4), min_size=1, max_size=7))
def test_every_kept_ray_satisfies_every_constraint_so_far(rows):
    dd = double_description(rows)
    seen = []
    for step in dd.steps:
        seen.append(np.array(step.normal))
        for r in step.rays:
            assert all(a @ np.array(r) <= 0 for a in seen)
        for ell in step.lines:
            assert all(a @ np.array(ell) == 0 for a in seen)
        for (p, n), born in zip(step.parents, step.born):
            assert np.array(step.normal) @ np.array(born) == 0
            assert p in step.dropped and n in step.kept
        assert step.sentence()


def test_bounds_are_refused_with_a_message():
    with pytest.raises(cc.ConeTooLargeError, match="d = 7"):
        double_description(np.eye(7))
    with pytest.raises(cc.ConeTooLargeError, match="permutation"):
        double_description([[1, 0], [0, 1]], order=[0, 0])




# ---------------------------------------------------------------------- polyhedra
def cube(d: int):
    A = [[s * int(i == j) for j in range(d)] for i in range(d) for s in (1, -1)]
    return A, [1] * (2 * d)


def same_polyhedron_at_every_step(A, b, equalities=None) -> None:
    steps = polyhedron_steps(A, b, equalities)
    for k, step in enumerate(steps.steps):
        rows = np.array(steps.A[:k], dtype=object).reshape(k, steps.dim)
        want = cc.Polyhedron.from_inequalities(rows if k else np.zeros((0, steps.dim), int),
                                               list(steps.b[:k]))
        assert len(step.vertices) == len(want.vertices), k
        assert len(step.rays) == len(want.rays) and len(step.lines) == len(want.lines), k
        if want.is_empty:
            assert step.is_empty
            continue
        got = cc.Polyhedron.from_parts(rows if k else np.zeros((0, steps.dim), int),
                                       list(steps.b[:k]),
                                       np.array(step.vertices, dtype=object),
                                       np.array(step.rays, dtype=object).reshape(-1, steps.dim),
                                       np.array(step.lines, dtype=object).reshape(-1, steps.dim))
        assert got.same_as(want), k


@pytest.mark.parametrize("d", [2, 3, 4, 5])
def test_cube_vertex_counts_by_formula_at_every_step(d):
    # Rows +-e_1, +-e_2, ...: after 2j rows, a prism with 2^j vertices and d - j lines; after
    # 2j + 1, one more ray (the half-space of the last axis) and 2^j vertices.
    steps = polyhedron_steps(*cube(d))
    assert len(steps.steps) == 2 * d + 1
    for k, step in enumerate(steps.steps):
        j = k // 2
        assert len(step.vertices) == 2 ** j, k
        assert len(step.rays) == k % 2 and len(step.lines) == d - j - k % 2, k
    assert {tuple(v) for v in steps.steps[-1].vertices} == {
        tuple(int(bit) * 2 - 1 for bit in f"{n:0{d}b}") for n in range(2 ** d)}
    same_polyhedron_at_every_step(*cube(min(d, 3)))


@pytest.mark.parametrize("d", [2, 3, 4])
def test_simplex_grows_one_vertex_per_facet(d):
    # x_i >= 0 one at a time (a shifted orthant, 1 vertex), then sum x <= 1 cuts the d rays
    # and gives d new vertices: d + 1 in all.
    A = [[-int(i == j) for j in range(d)] for i in range(d)] + [[1] * d]
    steps = polyhedron_steps(A, [0] * d + [1])
    assert [len(s.vertices) for s in steps.steps] == [1] * (d + 1) + [d + 1]
    last = steps.steps[-1]
    assert len(last.dropped_rays) == d and len(last.born_vertices) == d
    assert "cuts off" in last.sentence() and f"{d} vertices are born" in last.sentence()


def test_polyhedron_steps_equalities_are_two_rows_and_emptiness_shows():
    steps = polyhedron_steps([[1, 1, 1], [-1, 0, 0], [0, -1, 0], [0, 0, -1]], [1, 0, 0, 0],
                             equalities=[0])
    assert steps.labels[:2] == ["row 1 (=, the ≤ half)", "row 1 (=, the ≥ half)"]
    assert len(steps.steps[-1].vertices) == 3 and len(steps.steps) == 6
    same_polyhedron_at_every_step([[1, 1, 1], [-1, 0, 0], [0, -1, 0], [0, 0, -1]],
                                  [1, 0, 0, 0], [0])
    contradiction = polyhedron_steps([[1, 0], [-1, 0], [0, 1]], [-1, -1, 3])
    assert [s.is_empty for s in contradiction.steps] == [False, False, True, True]
    assert "empty" in contradiction.steps[2].sentence()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(-3, 3), min_size=3, max_size=3), min_size=1, max_size=6),
       st.data())
def test_random_polyhedra_agree_with_the_library_at_every_step(rows, data):
    A = [r[:2] for r in rows] if data.draw(st.booleans()) else rows
    b = data.draw(st.lists(st.integers(-3, 3), min_size=len(A), max_size=len(A)))
    same_polyhedron_at_every_step(A, b)


def test_polyhedron_steps_are_bounded():
    with pytest.raises(cc.ConeTooLargeError, match="small polyhedra"):
        polyhedron_steps(*cube(6))
    with pytest.raises(cc.ConeTooLargeError, match="small polyhedra"):
        polyhedron_steps([[1, 0]] * 30, [1] * 30)

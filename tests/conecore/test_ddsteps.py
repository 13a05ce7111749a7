"""The step-by-step double description agrees with pycddlib, and its steps are consistent."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import conecore as cc
from conecore.ddsteps import double_description


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



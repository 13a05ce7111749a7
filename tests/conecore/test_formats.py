"""Writers and readers agree: every format written by conecore reads back to the same cone."""

from __future__ import annotations

import json
import sys
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import conecore as cc

CONES = ["pyramid", "wedge-line", "half-space", "only-origin", "whole-space", "ice-cream",
         "checkerboard-8", "octahedral"]


@pytest.mark.parametrize("name", CONES)
def test_ine_round_trip(name):
    cone = cc.Cone.from_inequalities(cc.preset(name))
    text = cc.to_ine(cone)
    assert "H-representation" in text and text.rstrip().endswith("end")
    A = cc.parse_matrix(text)
    if cone.is_rational:
        assert A.dtype.kind == "i" and np.array_equal(A, cc.preset(name))
    else:
        assert np.array_equal(A, cone.A)
    assert cc.Cone.from_inequalities(A).same_as(cone)


@pytest.mark.parametrize("name", CONES)
def test_ext_round_trip(name):
    cone = cc.Cone.from_inequalities(cc.preset(name))
    rays, lines = cc.parse_generators(cc.to_ext(cone))
    assert rays.shape == cone.rays.shape and lines.shape == cone.lines.shape
    assert cc.Cone.from_generators(rays, lines).same_as(cone)


@pytest.mark.parametrize("name", CONES)
def test_csv_round_trip(name):
    cone = cc.Cone.from_inequalities(cc.preset(name))
    A = cc.parse_matrix(cc.to_csv(cone))
    assert np.allclose(np.asarray(A, dtype=float), cone.A)


def test_rational_cone_is_written_exactly():
    A = [[Fraction(1, 2), -1], [-1, Fraction(1, 3)]]
    cone = cc.Cone.from_inequalities(A)
    text = cc.to_ine(cone)
    assert "rational" in text and "-1/2" in text
    back = cc.parse_matrix(text)
    assert back.dtype == object and back[0, 0] == Fraction(1, 2)
    assert cc.to_csv(A).splitlines()[0] == "1/2,-1"


@pytest.mark.parametrize("name", CONES)
def test_json_round_trip_needs_no_double_description(name, monkeypatch):
    cone = cc.Cone.from_inequalities(cc.preset(name))
    text = cc.cone_to_json(cone)
    doc = json.loads(text)
    assert doc["kind"] == str(cone.kind) and doc["dim"] == cone.dim
    # Loading must not run cddlib: make importing it fail.
    monkeypatch.setitem(sys.modules, "cdd", None)
    back = cc.cone_from_json(text)
    assert back.same_as(cone)
    assert np.array_equal(back.A, cone.A)
    if cone.rays_exact is not None:
        assert np.array_equal(back.rays_exact, cone.rays_exact)


def test_json_with_only_A_computes_the_cone():
    back = cc.cone_from_json('{"A": [[1, 0, -1], [-1, 0, -1], [0, 1, -1], [0, -1, -1]]}')
    assert back.rays.shape == (4, 3)


@pytest.mark.parametrize(
    "text, match",
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "object with a field 'A'"),
        ('{"A": [[1, 0]], "rays": [[1, 0]], "lines": []}', "'rays': some rays violate"),
        ('{"A": [[1, 0]], "rays": [[0, -1, 3]], "lines": []}', "rows of length 2"),
        ('{"A": [[1, 0]], "rays": [[-1, 0]], "lines": [[1, 0]]}', "'lines': some lines"),
        ('{"A": [[1, "x"]], "rays": [], "lines": []}', "numbers or 'p/q' strings"),
    ],
)
def test_json_errors_name_the_field(text, match):
    with pytest.raises(cc.ConeInputError, match=match):
        cc.cone_from_json(text)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(-4, 4), min_size=3, max_size=3), min_size=1, max_size=6))
def test_every_writer_round_trips_random_cones(rows):
    cone = cc.Cone.from_inequalities(rows)
    assert cc.Cone.from_inequalities(cc.parse_matrix(cc.to_ine(cone))).same_as(cone)
    assert cc.Cone.from_inequalities(cc.parse_matrix(cc.to_csv(cone))).same_as(cone)
    assert cc.Cone.from_generators(*cc.parse_generators(cc.to_ext(cone))).same_as(cone)
    assert cc.cone_from_json(cc.cone_to_json(cone)).same_as(cone)

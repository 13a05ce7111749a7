"""Tests of conecore.formats.cone_json: the JSON objects parse_matrix and parse_generators read,
and a stored cone (cone_to_json) rebuilt without the double description (cone_from_json)."""

from __future__ import annotations

import json
import sys
from fractions import Fraction

import numpy as np
import pytest
import torch

import conecore as cc
from conecore.errors import ConeInputError
from conecore.formats import parse_generators, parse_matrix
from tests.conecore.matrices import assert_matrix

CONES = ["pyramid", "wedge-line", "half-space", "only-origin", "whole-space", "ice-cream",
         "checkerboard-8", "octahedral"]


def test_json_object_with_key_a() -> None:
    text = '# written by hand\n{"name": "quadrant", "A": [[-1, 0], [0, "-1/2"]]}'
    assert_matrix(
        parse_matrix(text), [[Fraction(-1), Fraction(0)], [Fraction(0), Fraction(-1, 2)]], object
    )
    assert_matrix(parse_matrix('{"A": [1.5, 2]}'), [[1.5, 2.0]], np.float64)


def test_json_object_without_key_a_names_the_keys() -> None:
    with pytest.raises(ConeInputError, match=r"no key 'A' \(keys found: 'rays', 'lines'\)"):
        parse_matrix('{"rays": [[1]], "lines": []}')


def test_generators_from_json() -> None:
    rays, lines = parse_generators('{"rays": [[1, 0, 0], [0, 1, 0]], "lines": [[0, 0, "1/3"]]}')
    F = Fraction
    assert_matrix(rays, [[F(1), F(0), F(0)], [F(0), F(1), F(0)]], object)
    assert_matrix(lines, [[F(0), F(0), F(1, 3)]], object)


def test_generators_from_json_lines_optional_and_empty_rays() -> None:
    rays, lines = parse_generators('{"rays": [[1, 2]]}')
    assert_matrix(rays, [[1, 2]], np.int64)
    assert lines.shape == (0, 2)
    rays, lines = parse_generators('{"rays": [], "lines": [[1.5, 0]]}')
    assert rays.shape == (0, 2)
    assert rays.dtype == np.float64
    assert_matrix(lines, [[1.5, 0.0]], np.float64)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ('{"A": [[1]]}', r"no key 'rays' \(keys found: 'A'\)"),
        ('{"rays": []}', r"no rays and no lines"),
        ('{"rays": [[1, 2]], "lines": [[1]]}', r"lines row 1 has 1 entry but rays row 1 has 2"),
        ('{"rays": [[1, "x"]]}', r"rays row 1, column 2: 'x' is not a number"),
        ('{"rays": [[1]], "lines": null}', r"'lines' must be a list of rows, not null"),
    ],
)
def test_generators_json_errors(text: str, pattern: str) -> None:
    with pytest.raises(ConeInputError, match=pattern):
        parse_generators(text)


# ---------------------------------------------------------------------------------------------
# cone_to_json and cone_from_json


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


@pytest.mark.parametrize("d", [1, 3])
@pytest.mark.parametrize("generators", [True, False])
def test_the_whole_space_with_no_rows_round_trips(d, generators):
    """A cone with no rows of A (the whole space: from_inequalities of a (0, d) matrix, or
    from_generators with lines only) was written as "A": [] and then refused ("'A' is empty:
    there are no rows"): the dimension is in "dim"."""
    for cone in (cc.Cone.from_inequalities(np.zeros((0, d))),
                 cc.Cone.from_generators(np.zeros((0, d)), np.eye(d))):
        back = cc.cone_from_json(cc.cone_to_json(cone, generators=generators))
        assert back.dim == d and back.A.shape == (0, d) and back.same_as(cone)
        assert back.lines.shape == (d, d) and back.rays.shape == (0, d)
    for doc in ('{"A": []}', '{"A": [], "dim": 0}', '{"A": [], "dim": true}',
                '{"A": [], "dim": "3"}'):
        with pytest.raises(cc.ConeInputError, match="'A' is empty and 'dim' does not give"):
            cc.cone_from_json(doc)


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
        # huge entries: the norms in the check overflowed to inf and accepted this ray
        ('{"A": [[0, -1]], "rays": [[1e200, -1e200]], "lines": []}', "'rays': some rays violate"),
        ('{"A": [[0, -1]], "rays": [[0, 0]], "lines": []}', "'rays': ray 1 is zero"),
        ('{"A": [[0, 0, -1]], "rays": [[0, 0, 1]], "lines": [[1, 0, 0], [3, 0, 0]]}',
         "'lines': line 2 is a combination"),
        ('{"A": [[0, -1]], "rays": [[1, 1]], "lines": [[1, 0]]}',
         "'rays': ray 1 is not orthogonal to the lines"),
    ],
)
def test_json_errors_name_the_field(text, match):
    with pytest.raises(cc.ConeInputError, match=match):
        cc.cone_from_json(text)


def test_stored_parts_are_made_unit_and_orthonormal():
    """A hand-written (or another tool's) file with rays of any length, lines of any basis: the
    cone holds unit rays and orthonormal lines, as a computed one; entries past 1e154 (whose
    plain norms overflow) included. A file cone_to_json wrote is kept bit for bit."""
    text = json.dumps({"A": [[0, -1, 0, 0], [0, 0, -1, 0]],
                       "rays": [[0, 1e300, 0, 0], [0, 0, 2.5, 0]],
                       "lines": [[3e200, 0, 0, 3e200], [0, 0, 0, 7]]})
    cone = cc.cone_from_json(text)
    assert np.array_equal(cone.rays, [[0, 1, 0, 0], [0, 0, 1, 0]])
    assert np.allclose(cone.lines @ cone.lines.T, np.eye(2), atol=1e-15)
    # Gram-Schmidt in the given order, each line keeping its sense: (1, 0, 0, 1) / sqrt(2), then
    # e4 minus its part along the first, normalised
    assert np.allclose(cone.lines, [[2 ** -0.5, 0, 0, 2 ** -0.5], [-(2 ** -0.5), 0, 0, 2 ** -0.5]])
    assert cone.same_as(cc.Cone.from_inequalities([[0, -1, 0, 0], [0, 0, -1, 0]]))
    layer_rays = cc.ConeLayer(cone, 3)._buffers["rays"]
    assert bool(torch.isfinite(layer_rays).all()) and float(layer_rays.abs().max()) == 1.0
    for name in CONES:
        stored = cc.Cone.from_inequalities(cc.preset(name))
        back = cc.cone_from_json(cc.cone_to_json(stored))
        assert np.array_equal(back.rays, stored.rays) and np.array_equal(back.lines, stored.lines)


def test_contains_at_every_scale():
    """Points with entries past 1e154 squared to inf in the norm, and every such point was
    inside; a point with inf or NaN is in no cone."""
    cone = cc.Cone.from_inequalities([[0, -1]])
    points = np.array([[1e200, -1e200], [1.7e308, -1.7e308], [1e200, 1e200], [5e-324, -5e-324],
                       [np.inf, 1], [np.nan, 1], [1, -1e-10], [1, -1e-8], [0, 0]])
    assert cone.contains(points).tolist() == [False, False, True, True, False, False, True,
                                              False, True]

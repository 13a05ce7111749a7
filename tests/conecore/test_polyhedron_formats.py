"""Polyhedra as JSON, CSV and uploaded files (cddlib's .ine/.ext: test_formats_cddlib.py)."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

import conecore as cc
from conecore.formats import cone_json

F = Fraction

POLYHEDRA = {
    "square": ([[1, 0], [-1, 0], [0, 1], [0, -1]], [1, 1, 1, 1], None),
    "segment": ([[1, 1], [-1, 0], [0, -1]], [F(1, 2), 0, 0], [0]),
    "shifted orthant": ([[-1, 0, 0], [0, -1, 0], [0, 0, -1]], [-1, -2, -3], None),
    "slab": ([[1, 0, 0], [-1, 0, 0]], [1, 1], None),
    "float": ([[0.5, 1.25], [-1.0, 0.0], [0.0, -1.0]], [1.1, 0.0, 0.0], None),
    "empty": ([[1, 0], [-1, 0]], [-1, -1], None),
    "whole": (np.zeros((0, 2), dtype=int), [], None),
}


def build(name: str) -> cc.Polyhedron:
    A, b, eq = POLYHEDRA[name]
    return cc.Polyhedron.from_inequalities(A, b, equalities=eq)


@pytest.mark.parametrize("name", POLYHEDRA)
@pytest.mark.parametrize("generators", [True, False])
def test_json_round_trip(name, generators):
    P = build(name)
    text = cc.polyhedron_to_json(P, generators=generators)
    doc = json.loads(text)
    assert doc["format"] == "conecore.polyhedron/1" and doc["kind"] == str(P.kind)
    assert ("vertices" in doc) == (generators and not P.is_empty)
    back = cc.polyhedron_from_json(text)
    assert back.same_as(P) and back.equalities == P.equalities
    assert np.array_equal(back.A, P.A) and np.array_equal(back.b, P.b)
    if P.is_rational and not P.is_empty:
        assert sorted(back.vertices_exact.tolist()) == sorted(P.vertices_exact.tolist())


def test_json_keeps_fractions_exact_and_needs_no_double_description(monkeypatch):
    P = build("segment")
    doc = json.loads(cc.polyhedron_to_json(P))
    assert doc["b"] == ["1/2", 0, 0] and doc["equalities"] == [0]
    assert sorted(doc["vertices"], key=str) == [["1/2", 0], [0, "1/2"]]

    def refuse(*args, **kwargs):
        raise AssertionError("no double description expected")

    monkeypatch.setattr(cc.Cone, "from_inequalities", refuse)
    back = cc.polyhedron_from_json(json.dumps(doc))
    assert back.vertices_exact is not None and back.same_as(P)


def test_json_large_polyhedra_store_only_their_inequalities(monkeypatch):
    monkeypatch.setattr(cone_json, "MAX_STORED_ENTRIES", 3)
    doc = json.loads(cc.polyhedron_to_json(build("square")))
    assert "vertices" not in doc
    assert cc.polyhedron_from_json(json.dumps(doc)).same_as(build("square"))


def test_json_written_by_hand():
    P = cc.polyhedron_from_json('{"A": [[1, 0], [0, 1], [-1, -1]], "b": [1, 1, "1/2"]}')
    assert P.kind == "polytope" and len(P.vertices) == 3
    Q = cc.polyhedron_from_json('{"vertices": [[0, 0], [1, 0]], "rays": [[0, 1]]}')
    assert Q.kind == "unbounded" and len(Q.rays) == 1
    W = cc.polyhedron_from_json('{"A": [], "b": [], "dim": 3}')
    assert W.kind == "whole space"


@pytest.mark.parametrize(("text", "pattern"), [
    ("[1, 2]", r"fields 'A' and 'b'"),
    ("{", r"not valid JSON"),
    ('{"A": [[1, 0]]}', r"field 'b' is missing"),
    ('{"A": [[1, 0]], "b": [1, 2]}', r"'b' has 2 entries but 'A' has 1 rows"),
    ('{"A": [[1, "x"]], "b": [1]}', r"JSON field 'A' must hold numbers"),
    ('{"A": [], "b": []}', r"'dim' does not give the dimension"),
    ('{"A": [[1, 0]], "b": [1], "equalities": ["0"]}', r"'equalities' must be a list"),
    ('{"A": [[1, 0]], "b": [1], "vertices": [[2, 0]]}', r"JSON field 'vertices': vertex 1"),
    ('{"A": [[1, 0]], "b": [1], "vertices": [[0, 0]], "rays": "x"}',
     r"JSON field 'rays' must be a list"),
])
def test_json_errors(text, pattern):
    with pytest.raises(cc.ConeInputError, match=pattern):
        cc.polyhedron_from_json(text)


@pytest.mark.parametrize("name", POLYHEDRA)
def test_csv_round_trip(name):
    P = build(name)
    text = cc.polyhedron_to_csv(P)
    assert text.startswith("# A x <= b")
    back = cc.polyhedron_from_csv(text)
    assert back.same_as(P)
    if name == "segment":  # the equality as two opposite rows
        assert "1,1,1/2" in text and "-1,-1,-1/2" in text


def test_csv_needs_two_columns():
    with pytest.raises(cc.ConeInputError, match="at least 2 columns"):
        cc.polyhedron_from_csv("1\n2")


@pytest.mark.parametrize(("name", "writer"), [
    ("p.ine", cc.polyhedron_to_ine), ("p.ext", cc.polyhedron_to_ext),
    ("p.json", cc.polyhedron_to_json), ("p.csv", cc.polyhedron_to_csv),
    ("p.txt", cc.polyhedron_to_ine), ("p.txt", cc.polyhedron_to_ext),
    ("p.txt", cc.polyhedron_to_json), ("p.txt", cc.polyhedron_to_csv),
])
def test_every_download_loads_back_as_an_upload(name, writer):
    for key in ("square", "slab", "segment", "shifted orthant"):
        P = build(key)
        back = cc.read_polyhedron_file(name, writer(P).encode())
        assert back.same_as(P), (key, name)


def test_upload_errors_are_input_errors():
    with pytest.raises(cc.ConeInputError):
        cc.read_polyhedron_file("p.csv", b"\xff\xfe")
    with pytest.raises(cc.ConeInputError):
        cc.read_polyhedron_file("p.ine", b"begin\n1 3 integer\n1 0\nend")
    with pytest.raises(TypeError):
        cc.read_polyhedron_file("p.csv", "text")  # type: ignore[arg-type]

"""Polyhedra as JSON, CSV and uploaded files (cddlib's .ine/.ext: test_formats_cddlib.py)."""

from __future__ import annotations

import json
import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# ---------------------------------------------------------------------- typed text
def test_text_reads_bare_rows_in_cddlibs_order_b_then_minus_a():
    # 1 - x >= 0, 1 + x >= 0, 1/2 - y >= 0, y >= 0: [-1, 1] x [0, 1/2], exact.
    P = cc.polyhedron_from_text("1 -1 0\n1 1 0\n1/2 0 -1\n0 0 1")
    assert P.same_as(cc.Polyhedron.from_inequalities(
        [[1, 0], [-1, 0], [0, 1], [0, -1]], [1, 1, F(1, 2), 0]))
    assert {tuple(v) for v in P.vertices_exact.tolist()} == {
        (1, 0), (-1, 0), (1, F(1, 2)), (-1, F(1, 2))}
    assert P.b.tolist() == [1, 1, 0.5, 0]


@pytest.mark.parametrize("name", ["square", "segment", "shifted orthant", "slab"])
def test_text_reads_whole_cddlib_files_as_they_are(name):
    P = build(name)
    assert cc.polyhedron_from_text(cc.polyhedron_to_ine(P)).same_as(P)
    assert cc.polyhedron_from_text(cc.polyhedron_to_ext(P)).same_as(P)


@pytest.mark.parametrize("text, message", [
    ("1 -1 0; 1 x 0", "line 1 (row 2), column 2: 'x' is not a number"),
    ("1\n2", "at least 2 columns, not 1"),
    ("   ", "empty"),
])
def test_text_errors_name_where(text, message):
    with pytest.raises(cc.ConeInputError, match=re.escape(message)):
        cc.polyhedron_from_text(text)


def test_a_and_b_apart_b_as_a_column_a_row_or_nothing():
    A = "1 0; -1 0; 0 1; 0 -1"
    square = build("square")
    for b in ("1 1 1 1", "1\n1\n1\n1", "[1, 1, 1, 1]", "[[1], [1], [1], [1]]"):
        assert cc.polyhedron_from_A_b(A, b).same_as(square)
    cone = cc.polyhedron_from_A_b("-1 0; 0 -1", "")  # b = 0: the orthant, a cone
    assert cone.b.tolist() == [0, 0] and cone.kind == "unbounded"
    assert cone.vertices.tolist() == [[0, 0]] and len(cone.rays) == 2
    assert cc.polyhedron_from_A_b("1 0", "1/3").vertices_exact is not None


@pytest.mark.parametrize("A, b, message", [
    ("1 0; 0 x", "1 1", "^A: line 1 \\(row 2\\), column 2: 'x' is not a number"),
    ("1 0; 0 1", "1 y", "^b: line 1 \\(row 1\\), column 2: 'y' is not a number"),
    ("1 0; 0 1; 1 1", "1 1", "^b: 2 entries for 3 rows of A \\(row 3 of A has no b\\)"),
    ("1 0", "1 2", "^b: 2 entries for 1 rows of A \\(entry 2 of b has no row of A\\)"),
    ("1 0; 0 1", "1 2; 3 4", "^b: one number per row of A is needed \\(2\\)"),
])
def test_a_and_b_errors_say_which_text_and_where(A, b, message):
    with pytest.raises(cc.ConeInputError, match=message):
        cc.polyhedron_from_A_b(A, b)


def test_a_cone_reader_refuses_b_with_the_polyhedron_error():
    text = cc.polyhedron_to_ine(build("square"))
    with pytest.raises(cc.PolyhedronInputError, match="b = 1 is not 0"):
        cc.parse_matrix(text)
    assert cc.parse_matrix(text, homogenize=True).shape == (5, 3)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="0123456789 -/.,;\n[]xe", max_size=40),
       st.text(alphabet="0123456789 -/.,;\n[]", max_size=12))
def test_any_typed_text_gives_a_polyhedron_or_an_input_error(text, b):
    for read in (lambda: cc.polyhedron_from_text(text), lambda: cc.polyhedron_from_A_b(text, b)):
        try:
            P = read()
        except cc.ConeError:
            continue
        assert isinstance(P, cc.Polyhedron)


@pytest.mark.parametrize("name", ["square", "segment", "shifted orthant", "slab", "float",
                                  "empty", "whole"])
def test_url_text_is_cddlib_rows_and_reads_back(name):
    P = build(name)
    text = cc.polyhedron_to_url_text(P)
    assert "\n" not in text and " " not in text
    assert cc.polyhedron_from_text(text).same_as(P)
    if name == "square":
        assert text == "1,-1,0;1,1,0;1,0,-1;1,0,1"

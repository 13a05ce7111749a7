"""Tests of conecore.formats.text: plain rows (a row ends at a newline or ``;``), bracketed
MATLAB/NumPy-style matrices, and the text writers (CSV, table cells, the URL form)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import conecore as cc
from conecore.errors import ConeInputError
from conecore.formats import parse_generators, parse_matrix
from tests.conecore.matrices import INT64_MAX, assert_matrix

CONES = ["pyramid", "wedge-line", "half-space", "only-origin", "whole-space", "ice-cream",
         "checkerboard-8", "octahedral"]


# ---------------------------------------------------------------------------------------------
# Plain rows


def test_plain_integers_give_int64() -> None:
    assert_matrix(parse_matrix("1 2 3\n4 5 -6"), [[1, 2, 3], [4, 5, -6]], np.int64)


def test_plain_separators_can_be_mixed_and_trail() -> None:
    text = "1, 2 3\t4,\n5 ,6 \t 7,8,\n+9\t,\t10 , 11  12"
    assert_matrix(parse_matrix(text), [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], np.int64)


def test_plain_comments_and_blank_lines_are_ignored() -> None:
    text = "# a header\n\n  1 2  # trailing comment\n   \n\t# indented comment\n3 4\n\n"
    assert_matrix(parse_matrix(text), [[1, 2], [3, 4]], np.int64)


def test_generators_from_plain_rows_and_lists() -> None:
    for text in ("1 0\n0 1", "[[1, 0], [0, 1]]"):
        rays, lines = parse_generators(text)
        assert_matrix(rays, [[1, 0], [0, 1]], np.int64)
        assert lines.shape == (0, 2)
        assert lines.dtype == np.int64


# ---------------------------------------------------------------------------------------------
# Writers


@pytest.mark.parametrize("name", CONES)
def test_csv_round_trip(name):
    cone = cc.Cone.from_inequalities(cc.preset(name))
    A = cc.parse_matrix(cc.to_csv(cone))
    assert np.allclose(np.asarray(A, dtype=float), cone.A)


def test_matrix_cells_and_the_url_form_are_exact() -> None:
    F = Fraction
    A = [[F(1, 2), -1], [-3, F(2, 3)]]
    assert cc.matrix_cells(A) == [["1/2", "-1"], ["-3", "2/3"]]
    assert cc.to_url_text(A) == "1/2,-1;-3,2/3"
    assert cc.to_csv(A) == "1/2,-1\n-3,2/3\n"
    assert_matrix(cc.from_url_text("1/2,-1;-3,2/3"), [[F(1, 2), F(-1)], [F(-3), F(2, 3)]], object)
    assert cc.matrix_cells([[0.1, -1.5]]) == [["0.1", "-1.5"]]


def test_from_url_text_errors_are_cone_input_errors() -> None:
    with pytest.raises(ConeInputError, match=r"line 1: row 2 has 1 entry but row 1 has 2"):
        cc.from_url_text("1,2;3")
    with pytest.raises(TypeError, match="expected str or bytes"):
        cc.from_url_text(None)  # type: ignore[arg-type]


EXACT = st.one_of(st.integers(-(10**20), 10**20), st.fractions(max_denominator=10**6))


@settings(deadline=None)
@given(st.integers(1, 5).flatmap(
    lambda d: st.lists(st.lists(EXACT, min_size=d, max_size=d), min_size=1, max_size=6)))
def test_the_url_form_reads_back_exactly(rows: list[list[object]]) -> None:
    text = cc.to_url_text(rows)
    for back in (cc.from_url_text(text), parse_matrix(text), parse_matrix(cc.to_csv(rows))):
        assert [[Fraction(v) for v in row] for row in back.tolist()] == [
            [Fraction(v) for v in row] for row in rows
        ]


# ---------------------------------------------------------------------------------------------
# ';' ends a row (issue 14, item 1)

SQUARE = [[1, 2, 3], [-1, 0, 2], [0, -1, -1]]


@pytest.mark.parametrize(
    "text",
    [
        "1 2 3; -1 0 2; 0 -1 -1",
        "1 2 3;-1 0 2;0 -1 -1;",
        "1, 2, 3; -1, 0, 2; 0, -1, -1",
        "1 2 3;\n-1 0 2;\n0 -1 -1;\n",
        "1 2 3; -1 0 2\n0 -1 -1",
        "; 1 2 3;; -1 0 2 ;\n\n;0 -1 -1 ; ;",
        "1 2 3; -1 0 2  # a comment; not a row\n0 -1 -1",
    ],
)
def test_a_semicolon_ends_a_row(text: str) -> None:
    assert_matrix(parse_matrix(text), SQUARE, np.int64)


def test_the_url_form_pasted_as_text_is_a_matrix() -> None:
    assert_matrix(parse_matrix("1,-2;-3,1"), [[1, -2], [-3, 1]], np.int64)
    assert_matrix(cc.from_url_text("1,-2;-3,1"), [[1, -2], [-3, 1]], np.int64)


def test_semicolon_rows_keep_the_dtype_rules() -> None:
    assert_matrix(parse_matrix("1/2 1; 0.5 2"),
                  [[Fraction(1, 2), Fraction(1)], [Fraction(1, 2), Fraction(2)]], object)
    assert_matrix(parse_matrix("1.5 1; 0 2"), [[1.5, 1.0], [0.0, 2.0]], np.float64)


@pytest.mark.parametrize(
    "text",
    [
        "[1 2 3; -1 0 2]",
        "[1, 2, 3; -1, 0, 2]",
        "[1 2 3; -1 0 2];",
        "[1 2 3; -1 0 2;]",
        "  [ 1  2  3 ;\n   -1  0  2 ]\n",
        "[1 2 3\n -1 0 2]",
        "# MATLAB\n[1 2 3;  # first row\n -1 0 2]  # second row\n",
        "[1,2,3;-1,0,2]",
    ],
)
def test_bracketed_matlab_and_numpy_matrices(text: str) -> None:
    assert_matrix(parse_matrix(text), [[1, 2, 3], [-1, 0, 2]], np.int64)


def test_a_bracketed_row_with_spaces_is_one_row() -> None:
    assert_matrix(parse_matrix("[1 2 3]"), [[1, 2, 3]], np.int64)
    assert_matrix(parse_matrix("[1; 2]"), [[1], [2]], np.int64)


def test_python_and_json_lists_still_work() -> None:
    assert_matrix(parse_matrix("[[1,2],[3,4]]"), [[1, 2], [3, 4]], np.int64)
    assert_matrix(parse_matrix("[1, 2, 3]"), [[1, 2, 3]], np.int64)
    assert_matrix(parse_matrix("[1,\n 2,\n 3]"), [[1, 2, 3]], np.int64)  # one row, as Python
    assert_matrix(parse_matrix("[\n  1,\n  2\n]"), [[1, 2]], np.int64)
    assert_matrix(parse_matrix("[[1, 2],\n [3, 4]];"[:-1]), [[1, 2], [3, 4]], np.int64)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("1 2; 3 x", r"line 1 \(row 2\), column 2: 'x' is not a number"),
        ("1 2 3; 4 5", r"line 1: row 2 has 2 entries but row 1 has 3 entries"),
        ("1 2\n3 4; 5 6; 7", r"line 2: row 4 has 1 entry but row 1 has 2 entries"),
        ("[1 2; 3 x]", r"line 1 \(row 2\), column 2: 'x' is not a number"),
        ("[1 2\n 3 x]", r"line 2 \(row 2\), column 2: 'x' is not a number"),
        ("[1 2 3; 4 5]", r"line 1: row 2 has 2 entries but row 1 has 3"),
        ("1 2;,3", r"line 1 \(row 2\), column 1: empty entry"),
        (";", r"empty"),
        (" ; ;\n;", r"empty"),
        ("[;]", r"empty"),
        ("1 2; [3 4]", r"line 1: '\[' mixes list syntax and plain rows"),
        ("[1 2; 3 4] [5 6]", r"broken list syntax"),
        ("[1 2; [3, 4]]", r"broken list syntax"),
    ],
)
def test_semicolon_and_bracket_errors_name_the_place(text: str, pattern: str) -> None:
    with pytest.raises(ConeInputError, match=pattern):
        parse_matrix(text)


INT_MATRICES = st.integers(1, 5).flatmap(
    lambda d: st.lists(st.lists(st.integers(-(10**25), 10**25), min_size=d, max_size=d),
                       min_size=1, max_size=6)
)


@settings(deadline=None)
@given(
    INT_MATRICES,
    st.sampled_from([" ", ",", ", ", "\t", " , "]),
    st.sampled_from([";", "; ", " ;", ";\n", "\n", ";\n\n"]),
    st.booleans(),
    st.booleans(),
)
def test_any_integer_matrix_written_with_semicolons_reads_back(
    rows: list[list[int]], entry_sep: str, row_sep: str, brackets: bool, trailing: bool
) -> None:
    text = row_sep.join(entry_sep.join(map(str, row)) for row in rows)
    if trailing:
        text += ";"
    if brackets:
        text = f"[{text}]"
    fits = all(-(2**63) <= v <= INT64_MAX for row in rows for v in row)
    assert_matrix(parse_matrix(text), rows, np.int64 if fits else object)

"""Tests of conecore.formats.parse, the one entry for reading: every family is told apart, every
error names where and why, nothing but a ConeInputError escapes, and every writer's output
reads back."""

from __future__ import annotations

import doctest
import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import conecore as cc
from conecore.errors import ConeInputError
from conecore.formats import parse, parse_generators, parse_matrix
from tests.conecore.matrices import INT64_MAX, assert_matrix


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        # empty
        ("", r"empty"),
        ("  \n\t\n# only a comment\n", r"empty"),
        (b"", r"empty"),
        # ragged rows
        ("1 2 3\n4 5\n6 7 8", r"line 2: row 2 has 2 entries but row 1 has 3 entries"),
        ("1 2\n\n# c\n3 4\n5 6 7", r"line 5: row 3 has 3 entries but row 1 has 2"),
        ("[[1, 2, 3], [4, 5, 6], [7, 8]]", r"^row 3 has 2 entries but row 1 has 3 entries"),
        # not a number
        ("1 2\n3 abc", r"line 2 \(row 2\), column 2: 'abc' is not a number"),
        ("0x10", r"line 1 \(row 1\), column 1: '0x10' is not a number"),
        ("1 1_000", r"column 2: '1_000' is not a number"),
        ("1/2/3", r"'1/2/3' is not a number"),
        ("--1 2", r"'--1' is not a number"),
        ("1e 2", r"'1e' is not a number"),
        (". 2", r"'\.' is not a number"),
        ("x" * 50, r"'x{20}'\.\.\. is not a number"),
        ("[[1, 2], [3, 'four']]", r"^row 2, column 2: 'four' is not a number"),
        ('{"A": [[1, true]]}', r"^row 1, column 2: expected a number, got true"),
        ('{"A": [[1, null]]}', r"^row 1, column 2: expected a number, got null"),
        # NaN and infinity
        ("1 nan", r"column 2: 'nan' is NaN or infinity"),
        ("inf 1", r"column 1: 'inf' is NaN or infinity"),
        ("1\n-Infinity", r"line 2 \(row 2\), column 1: '-Infinity' is NaN or infinity"),
        ("[[1, NaN]]", r"row 1, column 2: 'NaN' is NaN or infinity"),
        ('{"A": [[Infinity]]}', r"row 1, column 1: 'Infinity' is NaN or infinity"),
        # overflow and underflow
        ("1 1e400", r"column 2: '1e400' overflows"),
        ("1e308", r"'1e308' overflows"),
        ("-" + "9" * 400, r"'-9{19}'\.\.\. overflows"),
        ("1e300/1e-300", r"overflows"),
        ("1 1e-400", r"column 2: '1e-400' underflows"),
        ("1 1e-300/1e300 3", r"column 2: '1e-300/1e300' underflows"),
        ("1e99999999999999999999", r"overflows"),
        # division by zero
        ("1 1/0", r"line 1 \(row 1\), column 2: '1/0' divides by zero"),
        ("[[1, 2/0.0]]", r"row 1, column 2: '2/0\.0' divides by zero"),
        # broken list syntax
        ("[[1, 2], [3, 4]", r"broken list syntax at character 16 .*never|missing '\]'"),
        ("[[1, 2] [3, 4]]", r"broken list syntax at character 9 .*missing comma"),
        ("[[1 2]]", r"broken list syntax at character 5 \(line 1\): expected ',' or '\]'"),
        ("[[1, 2]]]", r"character 9 .*unbalanced '\]'"),
        ("[1, 2)", r"character 6 .*'\)' does not match the '\[' at character 1"),
        ("[1, , 2]", r"character 5 .*expected a value but found ','"),
        ("[1, 'x]", r"unterminated string"),
        ("[[1], [2]] [[3]]", r"another list starts after the outer list"),
        ('{"A": [[1, 2]', r"broken JSON at character \d+"),
        # nesting deeper than a matrix
        ("[[[1]]]", r"character 3 \(line 1\): nesting deeper than a matrix"),
        ("[[1, (2, 3)]]", r"character 6 .*nesting deeper than a matrix"),
        ('{"A": [[1, [2]]]}', r"^row 1, column 2: nesting deeper than a matrix"),
        ("[" * 10_000 + "]" * 10_000, r"nesting deeper than a matrix"),
        ('{"A": ' + "[" * 100_000 + "]" * 100_000 + "}", r"nested|nesting"),
        ("[1, [2]]", r"element 1 is a number but element 2 is a list"),
        # mixing list syntax and plain rows
        ("[1, 2]\n3 4", r"character 8 \(line 2\): text after the list: mixing list syntax"),
        ("1 2\n[3, 4]", r"line 2: '\[' mixes list syntax and plain rows"),
        ("1 2\n3 (4)", r"line 2: '\(' mixes list syntax and plain rows"),
        # binary data
        (b"1 2\n\xff 3", r"not UTF-8 text: byte 0xff at byte offset 4"),
        (b"\x80", r"byte offset 0"),
        ("1 \x00 2", r"binary data at character 3 \(U\+0000\)"),
        (b"1 2\n3 \x07", r"binary data at character 7"),
        ("1 2\x0c", r"binary data at character 4"),
        ("1 \ud800", r"binary data at character 3"),
        # empty entries and zero columns
        ("1,,2", r"line 1 \(row 1\), column 2: empty entry"),
        ("1 2\n, 3 4", r"line 2 \(row 2\), column 1: empty entry"),
        ("[[], []]", r"0 columns"),
        ("[]", r"empty"),
        ('{"A": []}', r"empty"),
        ('{"A": "1 2"}', r"'A' must be a list of rows"),
    ],
)
def test_errors_name_the_place_and_the_cause(text: str | bytes, pattern: str) -> None:
    with pytest.raises(ConeInputError, match=pattern):
        parse_matrix(text)


def test_non_text_arguments_are_a_type_error() -> None:
    with pytest.raises(TypeError, match="expected str or bytes"):
        parse_matrix([[1, 2]])  # type: ignore[arg-type]


def test_internal_failures_become_cone_input_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(parse, "_family", explode)
    with pytest.raises(ConeInputError, match=r"could not read the input \(RecursionError"):
        parse_matrix("1 2")


def test_a_400_by_100_matrix_of_full_floats_parses_in_every_form() -> None:
    # 400 rows (the app's cap) of 100 floats at full precision: about 0.8 MB, under the 1 MB cap.
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(400, 100))
    texts = [
        "\n".join(" ".join(repr(float(v)) for v in row) for row in matrix),
        "\n".join(", ".join(repr(float(v)) for v in row) for row in matrix),
        repr(matrix.tolist()),
        json.dumps({"A": matrix.tolist()}),
    ]
    for text in texts:  # speed: python -m conecore.bench; no timed assertion here
        np.testing.assert_array_equal(parse_matrix(text), matrix)


def test_docstring_examples() -> None:
    result = doctest.testmod(parse)
    assert result.attempted > 0
    assert result.failed == 0


# ---------------------------------------------------------------------------------------------
# Property tests: round trips and fuzzing


SEPARATORS = st.sampled_from([" ", "  ", "\t", ",", ", ", " , "])  # ';' ends a row


def shaped(elements: st.SearchStrategy[object]) -> st.SearchStrategy[list[list[object]]]:
    return st.integers(1, 5).flatmap(
        lambda d: st.lists(st.lists(elements, min_size=d, max_size=d), min_size=1, max_size=6)
    )


def write_plain(rows: list[list[str]], separator: str) -> str:
    return "\n".join(separator.join(row) for row in rows) + "\n"


def write_list(rows: list[list[str]]) -> str:
    return "[" + ", ".join("(" + ", ".join(row) + ",)" for row in rows) + "]"


def check_all_formats(
    rows: list[list[object]],
    texts: list[list[str]],
    json_rows: object,
    separator: str,
    dtype: object,
) -> None:
    for text in (
        write_plain(texts, separator),
        write_list(texts),
        json.dumps(json_rows),
        json.dumps({"A": json_rows}),
    ):
        assert_matrix(parse_matrix(text), rows, dtype)


@settings(deadline=None)
@given(shaped(st.integers(-(10**30), 10**30)), SEPARATORS)
def test_round_trip_integers(rows: list[list[int]], separator: str) -> None:
    fits = all(-(2**63) <= v <= INT64_MAX for row in rows for v in row)
    texts = [[str(v) for v in row] for row in rows]
    check_all_formats(rows, texts, rows, separator, np.int64 if fits else object)


@settings(deadline=None)
@given(
    shaped(st.fractions(min_value=-(10**12), max_value=10**12, max_denominator=10**9)), SEPARATORS
)
def test_round_trip_fractions(rows: list[list[Fraction]], separator: str) -> None:
    texts = [[f"{v.numerator}/{v.denominator}" for v in row] for row in rows]
    check_all_formats(rows, texts, texts, separator, object)


FLOATS = st.floats(-1e307, 1e307, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@settings(deadline=None)
@given(shaped(FLOATS), SEPARATORS)
def test_round_trip_floats(rows: list[list[float]], separator: str) -> None:
    texts = [[repr(v) for v in row] for row in rows]
    check_all_formats(rows, texts, rows, separator, np.float64)


def check_outcome(text: str | bytes) -> None:
    """Either a matrix with at least one column, or a ConeInputError that names a real cause
    (not a wrapped internal failure); nothing else."""
    for call in (parse_matrix, lambda t: parse_matrix(t, homogenize=True)):
        try:
            result = call(text)
        except ConeInputError as exc:
            assert not str(exc).startswith("could not read the input")
            continue
        assert isinstance(result, np.ndarray)
        assert result.ndim == 2
        assert result.shape[1] >= 1
        assert result.dtype in (np.int64, np.float64, object)
    try:
        rays, lines = parse_generators(text)
    except ConeInputError as exc:
        assert not str(exc).startswith("could not read the input")
        return
    assert rays.ndim == lines.ndim == 2
    assert rays.shape[1] == lines.shape[1] >= 1


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_fuzz_any_text(text: str) -> None:
    check_outcome(text)


@settings(max_examples=300, deadline=None)
@given(st.binary())
def test_fuzz_any_bytes(data: bytes) -> None:
    check_outcome(data)


PIECES = st.sampled_from(
    [
        "0",
        "1",
        "-2",
        "3.",
        ".5",
        "e",
        "E",
        "+",
        "/",
        "/0",
        "1e400",
        "nan",
        " ",
        ",",
        ";",
        "\t",
        "\n",
        "\r",
        "#",
        "[",
        "]",
        "(",
        ")",
        "{",
        "}",
        '"',
        "'",
        ":",
        '"A"',
        '"rays"',
        '"lines"',
        "*",
        "begin",
        "end",
        "H-representation",
        "V-representation",
        "linearity",
        "integer",
        "rational",
        "real",
        "2 3 integer",
        "\n0 1 0",
        "\n1 0 0",
        "true",
        "null",
        "\x00",
        "\xff",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(PIECES, max_size=40).map("".join))
def test_fuzz_structured_text(text: str) -> None:
    check_outcome(text)


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=8),
    st.sampled_from(["1/2", "1/0", "nan", " 3 ", "1e999"]),
)


JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["A", "rays", "lines", "x"]), inner, max_size=3)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.sampled_from(["A", "rays", "lines"]), st.booleans())
def test_fuzz_json_and_python_structures(value: object, key: str, wrap: bool) -> None:
    check_outcome(json.dumps({key: value} if wrap else value))
    check_outcome(repr(value))


CDD_LINES = st.sampled_from(
    [
        "begin",
        "end",
        "H-representation",
        "V-representation",
        "linearity 1 1",
        "linearity 2 1 2",
        "linearity 0",
        "2 3 integer",
        "1 3 rational",
        "2 3 real",
        "0 3 integer",
        "0 1 0",
        "1 0 0",
        "1 1 1",
        "0 1/2 -1",
        "0 0",
        "* comment",
        "",
        "a name",
        "1e400 1 1",
        "0 0 0",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(CDD_LINES, max_size=12))
def test_fuzz_cdd_files(lines: list[str]) -> None:
    check_outcome("\n".join(lines))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(-4, 4), min_size=3, max_size=3), min_size=1, max_size=6))
def test_every_writer_round_trips_random_cones(rows):
    cone = cc.Cone.from_inequalities(rows)
    assert cc.Cone.from_inequalities(cc.parse_matrix(cc.to_ine(cone))).same_as(cone)
    assert cc.Cone.from_inequalities(cc.parse_matrix(cc.to_csv(cone))).same_as(cone)
    assert cc.Cone.from_generators(*cc.parse_generators(cc.to_ext(cone))).same_as(cone)
    assert cc.cone_from_json(cc.cone_to_json(cone)).same_as(cone)

"""Tests of conecore.parsing: every input format, the dtype rules, each error and the caps."""

from __future__ import annotations

import doctest
import json
import time
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conecore import parsing
from conecore.errors import ConeInputError
from conecore.parsing import MAX_ENTRIES, MAX_TEXT_CHARS, parse_generators, parse_matrix

INT64_MAX = 2**63 - 1


def assert_matrix(result: np.ndarray, expected: list[list[object]], dtype: object) -> None:
    """Same dtype, shape and values; object arrays also keep the Python type of each value."""
    assert result.dtype == dtype
    assert result.shape == (len(expected), len(expected[0]))
    assert result.tolist() == expected
    if result.dtype == object:
        for got, want in zip(result.ravel(), (v for row in expected for v in row)):
            assert type(got) is type(want)


# ---------------------------------------------------------------------------------------------
# Plain rows


def test_plain_integers_give_int64() -> None:
    assert_matrix(parse_matrix("1 2 3\n4 5 -6"), [[1, 2, 3], [4, 5, -6]], np.int64)


def test_plain_separators_can_be_mixed_and_trail() -> None:
    text = "1, 2;3\t4,\n5 ,6 ; 7;8;\n+9\t,\t10 ;11  12"
    assert_matrix(parse_matrix(text), [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], np.int64)


def test_plain_comments_and_blank_lines_are_ignored() -> None:
    text = "# a header\n\n  1 2  # trailing comment\n   \n\t# indented comment\n3 4\n\n"
    assert_matrix(parse_matrix(text), [[1, 2], [3, 4]], np.int64)


def test_windows_and_old_mac_line_endings() -> None:
    assert_matrix(parse_matrix("1 2\r\n3 4\r\n"), [[1, 2], [3, 4]], np.int64)
    assert_matrix(parse_matrix("1 2\r3 4"), [[1, 2], [3, 4]], np.int64)


def test_bytes_and_a_utf8_bom_are_read() -> None:
    assert_matrix(parse_matrix(b"\xef\xbb\xbf1 2\n3 4"), [[1, 2], [3, 4]], np.int64)
    assert_matrix(parse_matrix(bytearray(b"1.5")), [[1.5]], np.float64)


def test_decimals_give_float64() -> None:
    text = "1.5 -2e-1 3.\n.5 +1E5 -7"
    assert_matrix(parse_matrix(text), [[1.5, -0.2, 3.0], [0.5, 1e5, -7.0]], np.float64)


def test_integers_beyond_int64_give_python_ints() -> None:
    big = 10**300
    result = parse_matrix(f"{INT64_MAX + 1} 1\n-{big} 0")
    assert_matrix(result, [[INT64_MAX + 1, 1], [-big, 0]], object)


def test_integers_at_the_int64_bounds_stay_int64() -> None:
    text = f"{INT64_MAX} -{INT64_MAX + 1}\n0000000000000000000000000001 2"
    assert_matrix(parse_matrix(text), [[INT64_MAX, -INT64_MAX - 1], [1, 2]], np.int64)


def test_fractions_make_every_entry_an_exact_fraction() -> None:
    result = parse_matrix("1/2 0.1 3\n-3/4 1.5/2 2e-3")
    expected = [
        [Fraction(1, 2), Fraction(1, 10), Fraction(3)],
        [Fraction(-3, 4), Fraction(3, 4), Fraction(1, 500)],
    ]
    assert_matrix(result, expected, object)


def test_fraction_signs_and_reduction() -> None:
    assert_matrix(
        parse_matrix("3/-6 +4/2 -0/5"), [[Fraction(-1, 2), Fraction(2), Fraction(0)]], object
    )


# ---------------------------------------------------------------------------------------------
# Python and JSON lists


def test_python_list_of_lists() -> None:
    assert_matrix(parse_matrix("[[1, 2], [3., -2e-1]]"), [[1.0, 2.0], [3.0, -0.2]], np.float64)


def test_tuples_trailing_commas_newlines_and_comments() -> None:
    text = "(\n  (1, 2),  # first row\n  [3, 4,],\n)\n# done\n"
    assert_matrix(parse_matrix(text), [[1, 2], [3, 4]], np.int64)


def test_flat_list_is_a_single_row() -> None:
    assert_matrix(parse_matrix("[1, 2, 3]"), [[1, 2, 3]], np.int64)
    assert_matrix(parse_matrix("(1/2,)"), [[Fraction(1, 2)]], object)


def test_fractions_in_lists_bare_or_quoted() -> None:
    expected = [[Fraction(1, 2), Fraction(2)], [Fraction(-3, 4), Fraction(1, 10)]]
    assert_matrix(parse_matrix("[[1/2, 2], [-3/4, 0.1]]"), expected, object)
    assert_matrix(parse_matrix('[["1/2", 2], [" -3/4 ", "0.1"]]'), expected, object)
    assert_matrix(parse_matrix("[['1/2', 2], ['-3/4', 0.1]]"), expected, object)


def test_json_object_with_key_a() -> None:
    text = '# written by hand\n{"name": "quadrant", "A": [[-1, 0], [0, "-1/2"]]}'
    assert_matrix(
        parse_matrix(text), [[Fraction(-1), Fraction(0)], [Fraction(0), Fraction(-1, 2)]], object
    )
    assert_matrix(parse_matrix('{"A": [1.5, 2]}'), [[1.5, 2.0]], np.float64)


def test_json_object_without_key_a_names_the_keys() -> None:
    with pytest.raises(ConeInputError, match=r"no key 'A' \(keys found: 'rays', 'lines'\)"):
        parse_matrix('{"rays": [[1]], "lines": []}')


def test_list_syntax_is_never_evaluated() -> None:
    with pytest.raises(ConeInputError, match=r"broken list syntax at character 12"):
        parse_matrix("[__import__('os').getcwd()]")
    with pytest.raises(ConeInputError, match=r"row 1, column 2: '__import__' is not a number"):
        parse_matrix("[1, __import__]")


# ---------------------------------------------------------------------------------------------
# cddlib .ine


INE = """* the positive quadrant, as cddlib writes it
quadrant
H-representation
begin
 2 3 integer
 0 1 0
 0 0 1
end
incidence
"""


def test_ine_gives_minus_the_coefficients() -> None:
    assert_matrix(parse_matrix(INE), [[-1, 0], [0, -1]], np.int64)


def test_ine_without_representation_line_and_with_crlf() -> None:
    text = "begin\r\n1 4 rational\r\n0 1/2 -1 0\r\nend\r\n"
    assert_matrix(parse_matrix(text), [[Fraction(-1, 2), Fraction(1), Fraction(0)]], object)


def test_ine_real_numbertype_gives_float64() -> None:
    text = "H-representation\nbegin\n1 3 real\n0 1 -2\nend"
    assert_matrix(parse_matrix(text), [[-1.0, 2.0]], np.float64)


def test_ine_linearity_rows_are_equalities() -> None:
    text = "H-representation\nlinearity 1 2\nbegin\n3 4 integer\n0 1 0 0\n0 0 1 0\n0 0 0 1\nend"
    expected = [[-1, 0, 0], [0, -1, 0], [0, 1, 0], [0, 0, -1]]
    assert_matrix(parse_matrix(text), expected, np.int64)


def test_ine_negating_int64_min_switches_to_python_ints() -> None:
    text = f"begin\n1 3 integer\n0 -{INT64_MAX + 1} 1\nend"
    assert_matrix(parse_matrix(text), [[INT64_MAX + 1, -1]], object)


def test_ine_with_nonzero_b_is_a_polyhedron() -> None:
    text = "H-representation\nbegin\n3 3 integer\n0 1 0\n0 0 1\n2 -1 -1\nend"
    with pytest.raises(
        ConeInputError,
        match=r"line 6 \(row 3\), column 1: b = 2 is not 0, so this \.ine describes a "
        r"polyhedron, not a cone; use parse_matrix\(text, homogenize=True\)",
    ):
        parse_matrix(text)


def test_ine_homogenize_gives_the_cone_over_the_polyhedron() -> None:
    # x >= 0, y >= 0, x + y <= 2  ->  rows [a, -b] and t >= 0
    text = "H-representation\nbegin\n3 3 integer\n0 1 0\n0 0 1\n2 -1 -1\nend"
    expected = [[-1, 0, 0], [0, -1, 0], [1, 1, -2], [0, 0, -1]]
    assert_matrix(parse_matrix(text, homogenize=True), expected, np.int64)


def test_ine_homogenize_with_linearity_and_fractions() -> None:
    # x = 1/2 (an equality) and y <= 3
    text = "linearity 1 1\nbegin\n2 3 rational\n1/2 -1 0\n3 0 -1\nend"
    F = Fraction
    expected = [
        [F(1), F(0), F(-1, 2)],
        [F(-1), F(0), F(1, 2)],
        [F(0), F(1), F(-3)],
        [F(0), F(0), F(-1)],
    ]
    assert_matrix(parse_matrix(text, homogenize=True), expected, object)


def test_homogenize_does_not_change_formats_without_b() -> None:
    assert_matrix(parse_matrix("1 2", homogenize=True), [[1, 2]], np.int64)


def test_ine_v_representation_points_to_parse_generators() -> None:
    with pytest.raises(ConeInputError, match=r"holds generators.*parse_generators"):
        parse_matrix("V-representation\nbegin\n1 3 integer\n1 0 0\nend")


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("begin\n3 3 integer\n0 1 0\n0 0 1\nend", r"line 2: the header says m = 3 rows but 2 rows"),
        ("begin\n1 3 integer\n0 1 0\n0 0 1\nend", r"line 2: the header says m = 1 rows but 2 rows"),
        ("H-representation\nbegin\n1 3 integer\n0 1 0\n", r"no 'end' line"),
        ("begin\n2 3 integer\n0 1 0\n0 1\nend", r"line 4: row 2 has 2 entries but .* n = 3"),
        ("begin\n1 3 integer\n0 1 0 7\nend", r"line 3: row 1 has 4 entries but .* n = 3"),
        ("begin\n1 3 float\n0 1 0\nend", r"line 2: numbertype 'float' is not integer"),
        ("begin\n1 3\n0 1 0\nend", r"line 2: the header after 'begin' must be 'm n numbertype'"),
        ("begin\nthree 3 real\n0 1 0\nend", r"line 2: the header after 'begin' must be"),
        ("begin", r"line 1: 'begin' must be followed by the header"),
        ("H-representation\n1 2 3\n", r"no 'begin' line"),
        ("begin\n1 1 real\n0\nend", r"line 2: the header says n = 1 columns"),
        ("linearity 1 5\nbegin\n1 3 integer\n0 1 0\nend", r"line 1: linearity row 5 is not"),
        ("linearity 2 1\nbegin\n1 3 integer\n0 1 0\nend", r"line 1: the linearity line must"),
        ("begin\n1 3 integer\n0 1 x\nend", r"line 3 \(row 1\), column 3: 'x' is not a number"),
    ],
)
def test_ine_errors(text: str, pattern: str) -> None:
    with pytest.raises(ConeInputError, match=pattern):
        parse_matrix(text)


# ---------------------------------------------------------------------------------------------
# Every error names where and why


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
        ("[1 2]", r"broken list syntax at character 4 \(line 1\): expected ',' or '\]'"),
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

    monkeypatch.setattr(parsing, "_detect", explode)
    with pytest.raises(ConeInputError, match=r"could not read the input \(RecursionError"):
        parse_matrix("1 2")


# ---------------------------------------------------------------------------------------------
# Size caps and speed


def test_caps_have_the_documented_values() -> None:
    assert MAX_TEXT_CHARS == 1_000_000
    assert MAX_ENTRIES == 1_000_000


@pytest.mark.parametrize("kind", [str, bytes])
def test_text_over_the_size_cap_is_refused_at_once(kind: type) -> None:
    text = "1 " * 3_000_000  # 6 MB
    data = text if kind is str else text.encode()
    start = time.perf_counter()
    with pytest.raises(ConeInputError, match=r"6,000,000 .* the limit is 1,000,000"):
        parse_matrix(data)
    assert time.perf_counter() - start < 1.0


def test_too_many_entries_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # 1 MB of text holds at most 500,000 entries: the entry cap is a second line of defence,
    # reached here with a larger text cap.
    monkeypatch.setattr(parsing, "MAX_TEXT_CHARS", 10**7)
    with pytest.raises(ConeInputError, match=r"line 1: .*more than 1,000,000 entries"):
        parse_matrix("1 " * (MAX_ENTRIES + 1))


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("1 2 3\n4 5 6\n7 8 9\n10 11 12", r"line 4: .*more than 10 entries"),
        ("1 2 3 4 5 6 7 8 9 10 11", r"line 1: .*more than 10 entries"),
        ("[[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11]]", r"character \d+: .*more than 10"),
        ('{"A": [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11]]}', r"row 4: .*more than 10"),
        ("begin\n4 3 integer\n0 1 2\n0 1 2\n0 1 2\n0 1 2\nend", r"line 6: .*more than 10"),
    ],
)
def test_entry_cap_applies_to_every_format(
    monkeypatch: pytest.MonkeyPatch, text: str, pattern: str
) -> None:
    monkeypatch.setattr(parsing, "MAX_ENTRIES", 10)
    with pytest.raises(ConeInputError, match=pattern):
        parse_matrix(text)
    assert parse_matrix("1 2 3 4 5\n6 7 8 9 10").shape == (2, 5)


def test_size_cap_is_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsing, "MAX_TEXT_CHARS", 5)
    with pytest.raises(ConeInputError, match=r"6 characters long; the limit is 5"):
        parse_matrix("1 2 3 ")


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


# ---------------------------------------------------------------------------------------------
# parse_generators


def test_ext_drops_the_origin_vertex() -> None:
    text = "* a cone\nV-representation\nbegin\n3 3 integer\n1 0 0\n0 1 0\n0 1 1\nend\n"
    rays, lines = parse_generators(text)
    assert_matrix(rays, [[1, 0], [1, 1]], np.int64)
    assert lines.shape == (0, 2)
    assert lines.dtype == np.int64


def test_ext_linearity_rows_are_lines() -> None:
    text = (
        "V-representation\nlinearity 2 3 4\nbegin\n4 4 rational\n1 0 0 0\n0 1 0 0\n0 0 1/2 0\n"
        "0 0 0 1\nend"
    )
    rays, lines = parse_generators(text)
    F = Fraction
    assert_matrix(rays, [[F(1), F(0), F(0)]], object)
    assert_matrix(lines, [[F(0), F(1, 2), F(0)], [F(0), F(0), F(1)]], object)


def test_ext_real_numbertype_gives_float64() -> None:
    rays, lines = parse_generators("V-representation\nbegin\n1 3 real\n0 1 2.5\nend")
    assert_matrix(rays, [[1.0, 2.5]], np.float64)
    assert lines.shape == (0, 2)
    assert lines.dtype == np.float64


def test_ext_vertex_away_from_the_origin_is_not_a_cone() -> None:
    text = "V-representation\nbegin\n4 3 integer\n1 0 0\n0 1 0\n0 0 1\n1 2 3\nend"
    with pytest.raises(
        ConeInputError,
        match=r"line 7 \(row 4\): row 4 is a vertex at a point other than the origin, "
        r"so this is not a cone",
    ):
        parse_generators(text)


def test_ext_h_representation_points_to_parse_matrix() -> None:
    with pytest.raises(ConeInputError, match=r"inequalities.*parse_matrix"):
        parse_generators(INE)


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


def test_generators_from_plain_rows_and_lists() -> None:
    for text in ("1 0\n0 1", "[[1, 0], [0, 1]]"):
        rays, lines = parse_generators(text)
        assert_matrix(rays, [[1, 0], [0, 1]], np.int64)
        assert lines.shape == (0, 2)
        assert lines.dtype == np.int64


def test_docstring_examples() -> None:
    result = doctest.testmod(parsing)
    assert result.attempted > 0
    assert result.failed == 0


# ---------------------------------------------------------------------------------------------
# Property tests: round trips and fuzzing

SEPARATORS = st.sampled_from([" ", "  ", "\t", ",", ", ", ";", " ; "])


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


@settings(deadline=None)
@given(
    shaped(st.one_of(st.integers(-(10**20), 10**20), st.fractions(max_denominator=1000))),
    st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_round_trip_ine(rows: list[list[Fraction]], equalities: list[bool]) -> None:
    """Rows ``0 -a`` (equalities listed in ``linearity``) read back as ``a`` (and ``-a``)."""
    exact = any(isinstance(v, Fraction) for row in rows for v in row)
    linear = [i + 1 for i in range(len(rows)) if equalities[i]]

    def literal(value: int | Fraction) -> str:
        negated = -Fraction(value)
        return f"{negated.numerator}/{negated.denominator}" if exact else str(-value)

    body = "\n".join("0 " + " ".join(map(literal, row)) for row in rows)
    header = f"linearity {len(linear)} {' '.join(map(str, linear))}\n" if linear else ""
    text = f"{header}begin\n{len(rows)} {len(rows[0]) + 1} rational\n{body}\nend\n"
    expected = []
    for i, row in enumerate(rows):
        expected.append(row)
        if equalities[i]:
            expected.append([-v for v in row])
    if exact:
        expected = [[Fraction(v) for v in row] for row in expected]
        dtype: object = object
    else:
        fits = all(-(2**63) <= v <= INT64_MAX for row in expected for v in row)
        dtype = np.int64 if fits else object
    assert_matrix(parse_matrix(text), expected, dtype)

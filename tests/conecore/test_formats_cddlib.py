"""Tests of conecore.formats.cddlib: ``.ine`` and ``.ext`` read as cddlib reads them (a row is
the next n numbers, wherever the lines break) and written back by ``to_ine`` and ``to_ext``."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import conecore as cc
from conecore.errors import ConeInputError
from conecore.formats import parse_generators, parse_matrix
from conecore.formats.cddlib import read_polyhedron_ext, read_polyhedron_ine
from tests.conecore.matrices import INT64_MAX, assert_matrix

# ---------------------------------------------------------------------------------------------
# .ine

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
        ("begin\n3 3 integer\n0 1 0\n0 0 1\nend",
         r"line 2: the header says m = 3 rows of n = 3 numbers, 9 in all, but only 6 come "
         r"before 'end' \(line 5\): 2 full rows"),
        ("begin\n1 3 integer\n0 1 0\n0 0 1\nend",
         r"line 2: the header says m = 1 row .* but 6 come .*first extra one is '0' on line 4"),
        ("H-representation\nbegin\n1 3 integer\n0 1 0\n", r"no 'end' line"),
        ("begin\n2 3 integer\n0 1 0\n0 1\nend",
         r"line 2: the header says m = 2 rows of n = 3 numbers, 6 in all, but only 5 come "
         r"before 'end' \(line 5\): 1 full row and 2 of the 3 numbers of row 2"),
        ("begin\n1 3 integer\n0 1 0 7\nend",
         r"line 2: the header says m = 1 row of n = 3 numbers, 3 in all, but 4 come before "
         r"'end' \(line 4\); the first extra one is '7' on line 3"),
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
# .ext


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


# ---------------------------------------------------------------------------------------------
# Writers: to_ine and to_ext read back


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


def test_rational_cone_is_written_exactly():
    A = [[Fraction(1, 2), -1], [-1, Fraction(1, 3)]]
    cone = cc.Cone.from_inequalities(A)
    text = cc.to_ine(cone)
    assert "rational" in text and "-1/2" in text
    back = cc.parse_matrix(text)
    assert back.dtype == object and back[0, 0] == Fraction(1, 2)
    assert cc.to_csv(A).splitlines()[0] == "1/2,-1"


# ---------------------------------------------------------------------------------------------
# Rows that wrap over several lines (issue 14, item 2)

# Shaped like cddlib's examples-ine/kkd*.ine: long rows broken over two lines.
WRAPPED = """* rows broken over lines, as in cddlib's kkd examples
H-representation
begin
3   5   integer
0   1   -2   30
   -400
0 -1 2 -30 400
0   0
0   0   7
end
"""


def test_ine_rows_may_wrap_over_lines() -> None:
    assert_matrix(parse_matrix(WRAPPED), [[-1, 2, -30, 400], [1, -2, 30, -400], [0, 0, 0, -7]],
                  np.int64)


def test_ine_several_rows_on_one_line() -> None:
    text = "begin\n3 3 integer\n0 1 0  0 0 1\n0 1 1\nend"
    assert_matrix(parse_matrix(text), [[-1, 0], [0, -1], [-1, -1]], np.int64)


def test_ine_wrapped_polyhedron_names_the_line_of_its_b() -> None:
    text = "begin\n2 4 integer\n0 1 0 0\n3\n-1 -1 -1\nend"
    with pytest.raises(ConeInputError, match=r"line 4 \(row 2\), column 1: b = 3 is not 0"):
        parse_matrix(text)
    assert_matrix(parse_matrix(text, homogenize=True),
                  [[-1, 0, 0, 0], [1, 1, 1, -3], [0, 0, 0, -1]], np.int64)


def test_ine_wrapped_rows_with_linearity() -> None:
    text = "H-representation\nlinearity 1 2\nbegin\n2 4 rational\n0 1\n0 0 0\n0\n1/2\n0\nend"
    F = Fraction
    expected = [[F(-1), F(0), F(0)], [F(0), F(-1, 2), F(0)], [F(0), F(1, 2), F(0)]]
    assert_matrix(parse_matrix(text), expected, object)


def test_ext_rows_may_wrap_over_lines() -> None:
    text = "V-representation\nlinearity 1 3\nbegin\n3 4 integer\n1 0\n0 0 0 1 0\n0 0 0 0\n1\nend"
    rays, lines = parse_generators(text)
    assert_matrix(rays, [[1, 0, 0]], np.int64)
    assert_matrix(lines, [[0, 0, 1]], np.int64)


def test_a_bad_entry_in_a_wrapped_row_names_its_own_line() -> None:
    with pytest.raises(ConeInputError, match=r"line 4 \(row 1\), column 4: 'x' is not a number"):
        parse_matrix("begin\n1 4 integer\n0 1\n2 x\nend")


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("begin\n2 4 integer\n0 1\n0 0\n0\nend",
         r"m = 2 rows of n = 4 numbers, 8 in all, but only 5 .*: 1 full row and 1 of the 4 "
         r"numbers of row 2"),
        ("begin\n1 3 integer\nend", r"m = 1 row of n = 3 numbers, 3 in all, but only 0 come"),
        ("begin\n2 3 integer\n0 1\n0 0\n1 1 1\nend",
         r"but 7 come before 'end' \(line 6\); the first extra one is '1' on line 5"),
        ("begin\n0 3 integer\n0 0 0\nend", r"m = 0 rows .* 0 in all, but 3 come"),
    ],
)
def test_a_count_that_does_not_match_the_header_says_what_was_expected_and_found(
    text: str, pattern: str
) -> None:
    with pytest.raises(ConeInputError, match=pattern):
        parse_matrix(text)


MATRICES = st.integers(1, 5).flatmap(
    lambda d: st.lists(
        st.lists(st.one_of(st.integers(-(10**20), 10**20),
                           st.fractions(max_denominator=1000)), min_size=d, max_size=d),
        min_size=1, max_size=6)
)


def rewrap(text: str, breaks: list[bool]) -> str:
    """``text`` (a cddlib file) with its numbers between the header and 'end' re-broken: a line
    break after the k-th number when ``breaks[k]``, else one space."""
    lines = text.splitlines()
    begin = lines.index("begin")
    end = lines.index("end")
    numbers = " ".join(lines[begin + 2 : end]).split()
    body = "".join(
        number + ("\n" if breaks[k % len(breaks)] else " ") for k, number in enumerate(numbers)
    )
    return "\n".join([*lines[: begin + 2], body, *lines[end:]]) + "\n"


@settings(deadline=None)
@given(MATRICES, st.lists(st.booleans(), min_size=1, max_size=40))
def test_any_ine_rewrapped_at_random_reads_back(rows: list[list[object]],
                                                 breaks: list[bool]) -> None:
    text = cc.to_ine(rows)
    expected = parse_matrix(text)
    again = parse_matrix(rewrap(text, breaks))
    assert again.dtype == expected.dtype
    assert again.tolist() == expected.tolist()
    assert [[Fraction(v) for v in row] for row in again.tolist()] == [
        [Fraction(v) for v in row] for row in rows
    ]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.integers(-4, 4), min_size=3, max_size=3), min_size=1, max_size=6),
       st.lists(st.booleans(), min_size=1, max_size=40))
def test_any_ext_rewrapped_at_random_reads_back(rows: list[list[int]],
                                                 breaks: list[bool]) -> None:
    cone = cc.Cone.from_inequalities(rows)
    text = cc.to_ext(cone)
    rays, lines = parse_generators(rewrap(text, breaks))
    want_rays, want_lines = parse_generators(text)
    assert rays.tolist() == want_rays.tolist() and lines.tolist() == want_lines.tolist()
    assert cc.Cone.from_generators(rays, lines).same_as(cone)


@settings(deadline=None)
@given(
    MATRICES,
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


# ---------------------------------------------------------------------------------------------
# Polyhedra (issue 18): any b, any vertex; every example of cddlib loads as it is


def test_polyhedron_ine_reads_b_and_linearity() -> None:
    text = "H-representation\nlinearity 1 3\nbegin\n3 3 integer\n0 1 0\n0 0 1\n2 -1 -1\nend"
    A, b, eq = read_polyhedron_ine(text.splitlines())
    assert_matrix(A, [[-1, 0], [0, -1], [1, 1]], np.int64)
    assert b.tolist() == [0, 0, 2] and b.dtype == np.int64 and eq == (2,)
    P = cc.polyhedron_from_ine(text)  # x >= 0, y >= 0, x + y = 2: a segment
    assert P.kind == "polytope" and P.equalities == (2,)
    assert sorted(P.vertices.tolist()) == [[0.0, 2.0], [2.0, 0.0]]


def test_polyhedron_ine_of_cddlib_integralpoints_has_194_vertices() -> None:
    # The system of cddlib's examples-ine/integralpoints.ine: 7 binary variables in [0, 1]
    # and two knapsack rows; its header comment says the polytope has 194 extreme points.
    rows = [[0] + [1 if j == i else 0 for j in range(7)] for i in range(7)]
    rows += [[1] + [-1 if j == i else 0 for j in range(7)] for i in range(7)]
    rows += [[70, -40, -20, -10, -56, -28, -14, -7], [-55, 44, 22, 11, 40, 20, 10, 5]]
    text = ("* integral points\nH-representation\nbegin\n 16 8 integer\n"
            + "\n".join(" ".join(map(str, row)) for row in rows) + "\nend\nmaximize\n 0 1 1\n")
    P = cc.polyhedron_from_ine(text)
    assert len(P.vertices) == 194 and P.kind == "polytope"
    integral = [v for v in P.vertices_exact.tolist() if all(x.denominator == 1 for x in v)]
    assert len(integral) == 10  # "10 are integral (0-1) solutions"


def test_polyhedron_ine_infeasible_and_trivial_examples() -> None:
    # examples-ine/infeas.ine: the unit 6-cube with x_1 >= 2; sampleh4.ine: zero rows only.
    rows = ([[0] + [1 if j == i else 0 for j in range(6)] for i in range(6)]
            + [[1] + [-1 if j == i else 0 for j in range(6)] for i in range(6)]
            + [[-2, 1, 0, 0, 0, 0, 0]])
    text = ("H-representation\nbegin\n 13 7 integer\n"
            + "\n".join(" ".join(map(str, row)) for row in rows) + "\nend\n")
    empty = cc.polyhedron_from_ine(text)
    assert empty.kind == "empty" and empty.vertices.shape == (0, 6)
    whole = cc.polyhedron_from_ine("H-representation\nbegin\n 3 4 integer\n"
                                   + "0 0 0 0\n" * 3 + "end\nmaximize\n 0 1 1 1\n")
    assert whole.kind == "whole space" and whole.lines.shape == (3, 3)


def test_polyhedron_ine_wrapped_real_rows() -> None:
    # kkd-style wrapped rows, real numbers with exponents as in samplelp3.ine
    text = ("begin\n4 3 real\n2.618033989E+00 1\n0\n 2.618033989E+00 -1 0\n"
            "1.5 0 1\n1.5E+00 0 -1.0\nend\n")
    P = cc.polyhedron_from_ine(text)
    assert P.kind == "polytope" and len(P.vertices) == 4
    assert np.allclose(sorted(P.vertices.tolist()),
                       [[-2.618033989, -1.5], [-2.618033989, 1.5], [2.618033989, -1.5],
                        [2.618033989, 1.5]])


@pytest.mark.parametrize("n", [2, 3, 4, 6])
def test_polyhedron_ine_cross_polytope_as_cddlib_writes_it(n: int) -> None:
    # examples-ine/cross6.ine: 2^n rows "1 +-1 ... +-1"
    rows = [[1, *signs] for signs in itertools.product([1, -1], repeat=n)]
    text = (f"* {n}-dim cross polytope\nH-representation\nbegin\n{2**n}  {n + 1}  integer \n"
            + "\n".join(" ".join(map(str, row)) for row in rows) + "\nend\n")
    P = cc.polyhedron_from_ine(text)
    assert len(P.vertices) == 2 * n and P.is_bounded


def test_polyhedron_ext_reads_vertices_rays_and_lines() -> None:
    text = ("V-representation\nlinearity 1 4\nbegin\n4 4 rational\n1 1 0 0\n2 1 1 0\n"
            "0 1 0 0\n0 0 0 1\nend")
    V, R, L = read_polyhedron_ext(text.splitlines())
    F = Fraction
    assert V.tolist() == [[F(1), F(0), F(0)], [F(1, 2), F(1, 2), F(0)]]
    assert R.tolist() == [[F(1), F(0), F(0)]] and L.tolist() == [[F(0), F(0), F(1)]]
    P = cc.polyhedron_from_ext(text)
    assert (len(P.vertices), len(P.rays), len(P.lines)) == (2, 1, 1)
    assert P.kind == "contains lines"


@pytest.mark.parametrize(("text", "pattern"), [
    ("V-representation\nbegin\n1 3 integer\n-1 0 0\nend", r"t = -1 is negative"),
    ("V-representation\nlinearity 1 1\nbegin\n1 3 integer\n1 0 0\nend",
     r"listed in linearity \(a line\) but starts with t != 0"),
    ("H-representation\nbegin\n1 3 integer\n1 0 0\nend", r"polyhedron_from_ine"),
    ("begin\n1 3 integer\n1 x 0\nend", r"line 3 \(row 1\), column 2: 'x' is not a number"),
])
def test_polyhedron_ext_errors(text: str, pattern: str) -> None:
    with pytest.raises(ConeInputError, match=pattern):
        cc.polyhedron_from_ext(text)


def test_polyhedron_ine_errors() -> None:
    with pytest.raises(ConeInputError, match=r"V-representation.*polyhedron_from_ext"):
        cc.polyhedron_from_ine("V-representation\nbegin\n1 3 integer\n1 0 0\nend")
    with pytest.raises(ConeInputError, match=r"line 3 \(row 1\), column 1: 'b' is not"):
        cc.polyhedron_from_ine("begin\n1 3 integer\nb 0 0\nend")
    with pytest.raises(TypeError):
        cc.polyhedron_from_ine(3)  # type: ignore[arg-type]


POLYHEDRA = {
    "square": ([[1, 0], [-1, 0], [0, 1], [0, -1]], [1, 1, 1, 1], None),
    "segment": ([[1, 1], [-1, 0], [0, -1]], [Fraction(1, 2), 0, 0], [0]),
    "shifted orthant": ([[-1, 0, 0], [0, -1, 0], [0, 0, -1]], [-1, -2, -3], None),
    "slab": ([[1, 0, 0], [-1, 0, 0]], [1, 1], None),
    "half-space": ([[1, 2]], [3], None),
    "point": ([[1], [-1]], [Fraction(2, 3), Fraction(-2, 3)], None),
    "float": ([[0.5, 1.25], [-1.0, 0.0], [0.0, -1.0]], [1.1, 0.0, 0.0], None),
    "empty": ([[1, 0], [-1, 0]], [-1, -1], None),
    "whole": (np.zeros((0, 2), dtype=int), [], None),
}


@pytest.mark.parametrize("name", POLYHEDRA)
def test_polyhedron_ine_and_ext_round_trips(name: str) -> None:
    A, b, eq = POLYHEDRA[name]
    P = cc.Polyhedron.from_inequalities(A, b, equalities=eq)
    ine = cc.polyhedron_to_ine(P)
    assert "H-representation" in ine and ine.rstrip().endswith("end")
    back = cc.polyhedron_from_ine(ine)
    assert back.equalities == P.equalities and back.same_as(P)
    assert np.array_equal(back.A, P.A) and np.array_equal(back.b, P.b)
    if P.is_rational:
        assert back.A_exact.tolist() == P.A_exact.tolist()
        assert back.b_exact.tolist() == P.b_exact.tolist()
    ext = cc.polyhedron_to_ext(P)
    assert "V-representation" in ext
    again = cc.polyhedron_from_ext(ext)
    assert again.same_as(P)
    if P.is_rational and not P.is_empty:
        assert sorted(again.vertices_exact.tolist()) == sorted(P.vertices_exact.tolist())
    expected_type = "real" if name == "float" else ("rational" if name in (
        "segment", "point") else "integer")
    assert f" {expected_type}" in ine


def test_a_cone_file_still_refuses_b_but_loads_as_a_polyhedron() -> None:
    text = "H-representation\nbegin\n3 3 integer\n0 1 0\n0 0 1\n2 -1 -1\nend"
    with pytest.raises(ConeInputError, match="polyhedron, not a cone"):
        parse_matrix(text)
    assert cc.polyhedron_from_ine(text).kind == "polytope"
    ext = "V-representation\nbegin\n2 3 integer\n1 0 0\n1 2 3\nend"
    with pytest.raises(ConeInputError, match="not a cone"):
        parse_generators(ext)
    assert cc.polyhedron_from_ext(ext).kind == "polytope"


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.integers(-3, 3), min_size=2, max_size=2), min_size=1, max_size=5),
       st.lists(st.integers(-2, 3), min_size=5, max_size=5),
       st.lists(st.booleans(), min_size=1, max_size=40))
def test_any_polyhedron_ine_rewrapped_reads_back(rows: list[list[int]], b: list[int],
                                                 breaks: list[bool]) -> None:
    P = cc.Polyhedron.from_inequalities(rows, b[: len(rows)])
    again = cc.polyhedron_from_ine(rewrap(cc.polyhedron_to_ine(P), breaks))
    assert again.same_as(P) and np.array_equal(again.b, P.b)

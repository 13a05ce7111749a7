"""Tests of conecore.formats.numbers: literals become exact values, the dtype rules, and the
literals the writers use."""

from __future__ import annotations

import doctest
from fractions import Fraction

import numpy as np

from conecore.formats import numbers, parse_matrix
from conecore.formats.numbers import literal
from tests.conecore.matrices import INT64_MAX, assert_matrix


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


def test_literals_read_back_to_the_same_value() -> None:
    values = [3, np.int64(-7), Fraction(-2, 3), Fraction(4), 0.1, -1e-300, 2.5]
    assert [literal(v) for v in values] == ["3", "-7", "-2/3", "4", "0.1", "-1e-300", "2.5"]
    row = parse_matrix(",".join(literal(v) for v in values))[0]
    assert row.tolist() == [Fraction(v) for v in (3, -7, Fraction(-2, 3), 4)] + [
        Fraction("0.1"), Fraction("-1e-300"), Fraction("2.5")]


def test_docstring_examples() -> None:
    result = doctest.testmod(numbers)
    assert result.attempted > 0
    assert result.failed == 0

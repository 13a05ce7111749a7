"""Tests of conecore.formats.lists: Python and JSON lists of rows, read without evaluating
anything."""

from __future__ import annotations

import doctest
from fractions import Fraction

import numpy as np
import pytest

from conecore.errors import ConeInputError
from conecore.formats import lists, parse_matrix
from tests.conecore.matrices import assert_matrix


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


def test_list_syntax_is_never_evaluated() -> None:
    with pytest.raises(ConeInputError, match=r"broken list syntax at character 12"):
        parse_matrix("[__import__('os').getcwd()]")
    with pytest.raises(ConeInputError, match=r"row 1, column 2: '__import__' is not a number"):
        parse_matrix("[1, __import__]")


def test_docstring_examples() -> None:
    result = doctest.testmod(lists)
    assert result.attempted > 0
    assert result.failed == 0

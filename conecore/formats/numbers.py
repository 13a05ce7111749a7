"""Numbers in cone text: the one place where a literal becomes a value, and a value a literal.

Entries are integers (``-3``), decimals (``3.``, ``.5``, ``-2e-1``, ``+1E5``) or fractions
``p/q`` of those (``1/2``, ``1.5/2``); each number is 0 or has ``1e-308 <= |x| < 1e308``, and a
literal has at most 400 significant digits. The literals of a matrix decide its dtype:

* only integer literals: ``int64``, or an object array of Python ints when one does not fit;
* any fraction: an object array of exact :class:`fractions.Fraction` (decimals in it become the
  exact fraction of their text, ``0.1`` -> ``Fraction(1, 10)``);
* otherwise (decimals, no fractions): ``float64``.

The writers use :func:`literal` and :func:`written_rows`: exact values as integers and ``p/q``,
floats as the shortest decimal that reads back to the same float.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction
from functools import partial
from typing import Any

import numpy as np

from conecore.cone import Cone, validate_matrix
from conecore.errors import ConeInputError
from conecore.formats.source import Cell, quote

# Magnitudes: |x| >= 10**308 overflows, 0 < |x| < 10**-308 underflows.
_EXP_LIMIT = 308
# Significant digits of one literal: an exact value keeps every digit, and Python refuses to
# print an int of more than 4,300 digits, so a longer literal could not even be shown.
_MAX_DIGITS = 400
_BIG = 10**_EXP_LIMIT
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# Kinds of a literal, and of a whole matrix.
INT, DEC, FRAC = "int", "decimal", "fraction"

_NUMBER_RE = re.compile(
    r"(?P<sign>[+-]?)(?P<mant>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE](?P<exp>[+-]?[0-9]+))?"
)
_NONFINITE_RE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
# Fast-path literals: too short to overflow, underflow or leave int64.
_INT_FAST_RE = re.compile(r"[+-]?[0-9]{1,18}")
_DEC_FAST_RE = re.compile(
    r"[+-]?(?:[0-9]{1,25}\.?[0-9]{0,25}|\.[0-9]{1,25})(?:[eE][+-]?[0-9]{1,2})?"
)
_SHORT_DEC = r"[+-]?(?:[0-9]{1,18}(?:\.[0-9]{0,18})?|\.[0-9]{1,18})"
_FRAC_FAST_RE = re.compile(f"{_SHORT_DEC}(?:/{_SHORT_DEC})?")


def _digits(match: re.Match[str]) -> int:
    """Significant digits of a matched literal: those from its first non-zero digit on."""
    return len(match["mant"].replace(".", "").lstrip("0"))


def _magnitude(match: re.Match[str]) -> int | None:
    """``e`` with ``10**e <= |x| < 10**(e + 1)`` for a matched decimal, or None when it is 0."""
    int_part, _, frac_part = match["mant"].partition(".")
    digits = int_part + frac_part
    significant = digits.lstrip("0")
    if not significant:
        return None
    exponent = len(int_part) - (len(digits) - len(significant)) - 1
    if match["exp"]:
        body = match["exp"].lstrip("+-").lstrip("0")
        shift = int(body or "0") if len(body) <= 12 else 10**13
        exponent += -shift if match["exp"].startswith("-") else shift
    return exponent


def _ratio(match: re.Match[str]) -> tuple[int, int]:
    """``(p, q)``, ``q > 0`` a power of ten, with ``p / q`` the exact value of a matched
    decimal or integer literal that passed the range and digit checks."""
    int_part, _, frac_part = match["mant"].partition(".")
    p = int((int_part + frac_part).lstrip("0") or "0")
    if p == 0:
        return 0, 1
    exponent = int((match["exp"] or "0").lstrip("+-").lstrip("0") or "0")
    # |shift| <= 308 + _MAX_DIGITS: the magnitude and the digits were checked
    shift = (-exponent if (match["exp"] or "").startswith("-") else exponent) - len(frac_part)
    if match["sign"] == "-":
        p = -p
    return (p * 10**shift, 1) if shift >= 0 else (p, 10**-shift)


def _exact(match: re.Match[str]) -> Fraction:
    """The exact value of a matched (range- and digit-checked) decimal or integer literal."""
    return Fraction(*_ratio(match))


def _is_int(match: re.Match[str]) -> bool:
    return match["exp"] is None and "." not in match["mant"]


def _int_value(match: re.Match[str]) -> int:
    """The value of a matched, range-checked integer literal."""
    value = int(match["mant"].lstrip("0") or "0")
    return -value if match["sign"] == "-" else value


def number(token: str, where: Callable[[], str]) -> tuple[str, int | float | Fraction]:
    """``(kind, value)`` of one literal: an int, a float (decimal) or a Fraction.

    Raises ConeInputError, prefixed with ``where()``, for anything else.

    >>> number("-3", str), number(".5", str), number("3/-6", str)
    (('int', -3), ('decimal', 0.5), ('fraction', Fraction(-1, 2)))
    """
    head, slash, tail = token.partition("/")
    matches = [_NUMBER_RE.fullmatch(part) for part in ((head, tail) if slash else (head,))]
    if not all(matches):
        if _NONFINITE_RE.fullmatch(token):
            raise ConeInputError(
                f"{where()}: {quote(token)} is NaN or infinity; numbers must be finite"
            )
        raise ConeInputError(f"{where()}: {quote(token)} is not a number")
    for match in matches:
        exponent = _magnitude(match)
        if exponent is not None and exponent >= _EXP_LIMIT:
            raise ConeInputError(f"{where()}: {quote(token)} overflows (|x| >= 1e308)")
        if exponent is not None and exponent < -_EXP_LIMIT:
            raise ConeInputError(f"{where()}: {quote(token)} underflows (0 < |x| < 1e-308)")
        if _digits(match) > _MAX_DIGITS:
            raise ConeInputError(
                f"{where()}: {quote(token)} has more than {_MAX_DIGITS} significant digits"
            )
    if not slash:
        if _is_int(matches[0]):
            return INT, _int_value(matches[0])
        return DEC, float(token)
    if _is_int(matches[0]) and _is_int(matches[1]):
        numerator, denominator = _int_value(matches[0]), _int_value(matches[1])
        if denominator == 0:
            raise ConeInputError(f"{where()}: {quote(token)} divides by zero")
        # 1/|q| <= |p/q| <= |p| when p != 0: already in range
        return FRAC, Fraction(numerator, denominator)
    (a, b), (c, d) = _ratio(matches[0]), _ratio(matches[1])
    if c == 0:
        raise ConeInputError(f"{where()}: {quote(token)} divides by zero")
    numerator, denominator = (a * d, b * c) if c > 0 else (-a * d, -b * c)
    if abs(numerator) >= _BIG * denominator:
        raise ConeInputError(f"{where()}: {quote(token)} overflows (|x| >= 1e308)")
    if numerator and abs(numerator) * _BIG < denominator:
        raise ConeInputError(f"{where()}: {quote(token)} underflows (0 < |x| < 1e-308)")
    return FRAC, Fraction(numerator, denominator)


def read_grid(rows: list[list[str]], width: int, cell: Cell) -> tuple[str, np.ndarray]:
    """``(kind, matrix)`` of a rectangular grid of literals; ``cell(i, j)`` names an entry.

    Plain numeric grids take a fast path; anything else is read entry by entry.
    """
    shape = (len(rows), width)
    flat = [token for row in rows for token in row]
    joined = "".join(flat)
    if "/" not in joined:
        if "." not in joined and "e" not in joined and "E" not in joined:
            if all(map(_INT_FAST_RE.fullmatch, flat)):
                return INT, np.fromiter(map(int, flat), np.int64, len(flat)).reshape(shape)
        elif all(map(_DEC_FAST_RE.fullmatch, flat)):
            return DEC, np.array(list(map(float, flat)), dtype=np.float64).reshape(shape)
    elif "e" not in joined and "E" not in joined:
        fractions = _small_fractions(flat)
        if fractions is not None:
            return FRAC, object_array(fractions, shape)
    kinds: list[str] = []
    values: list[int | float | Fraction] = []
    for i, row in enumerate(rows):
        for j, token in enumerate(row):
            kind, value = number(token, partial(cell, i, j))
            kinds.append(kind)
            values.append(value)
    found = set(kinds)
    if FRAC in found:
        exact = [
            value if kind == FRAC
            else _exact(_NUMBER_RE.fullmatch(token)) if kind == DEC
            else Fraction(value)
            for kind, value, token in zip(kinds, values, flat)
        ]
        return FRAC, object_array(exact, shape)
    if DEC in found:
        return DEC, np.array(values, dtype=np.float64).reshape(shape)
    return INT, int_array(values, shape)


def _small_fractions(flat: list[str]) -> list[Fraction] | None:
    """The exact values of literals ``a`` or ``a/b`` whose parts are decimals without an
    exponent and with at most 18 digits on each side of the point (always in range), or None
    when a literal is anything else or divides by zero (the slow path names the cell)."""
    if not all(map(_FRAC_FAST_RE.fullmatch, flat)):
        return None
    values = []
    seen: dict[str, Fraction] = {}  # real matrices repeat entries (1/2, -1, 0): build each once
    for token in flat:
        known = seen.get(token)
        if known is not None:
            values.append(known)
            continue
        head, _, tail = token.partition("/")
        whole, _, digits = head.partition(".")
        p, q = int(whole + digits), 10 ** len(digits)
        if tail:  # (p / q) / (r / 10**k)
            whole, _, digits = tail.partition(".")
            r = int(whole + digits)
            if r == 0:
                return None
            p, q = p * 10 ** len(digits), q * r
        seen[token] = value = Fraction(p, q)
        values.append(value)
    return values


def object_array(values: list[Any], shape: tuple[int, ...]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array.reshape(shape)


def int_array(values: list[Any], shape: tuple[int, ...]) -> np.ndarray:
    """int64 when every value fits, else an object array of Python ints."""
    if all(INT64_MIN <= value <= INT64_MAX for value in values):
        return np.array(values, dtype=np.int64).reshape(shape)
    return object_array(values, shape)


def literal(value: Any) -> str:
    """The text of one value: ``"3"``, ``"-2/3"``, or a float's shortest ``repr``."""
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, int | np.integer):
        return str(int(value))
    return repr(float(value))


def written_rows(obj: Cone | Any) -> tuple[list[list[Any]], str]:
    """The rows of ``A`` to write (exact when they were given exactly) and cddlib's numbertype
    (``"integer"``, ``"rational"`` or ``"real"``); ``obj`` is a Cone or a matrix."""
    if isinstance(obj, Cone):
        exact = obj.A_exact
        if exact is not None:
            rows = exact.tolist()
            return rows, _numbertype(rows)
        return obj.A.tolist(), "real"
    A, given, rational = validate_matrix(obj, "A")
    if rational:
        rows = [[Fraction(v) for v in row] for row in given]
        return rows, _numbertype(rows)
    return A.tolist(), "real"


def _numbertype(rows: list[list[Any]]) -> str:
    if all(Fraction(v).denominator == 1 for row in rows for v in row):
        return "integer"
    return "rational"

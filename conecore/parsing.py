"""Read cone data from text: the matrix ``A`` of a cone ``{x : A x <= 0}``, or its generators.

:func:`parse_matrix` reads ``A``; :func:`parse_generators` reads rays and lines. Both detect the
format themselves:

* plain rows: one row per line, entries separated by spaces, tabs, commas or semicolons
  (mixtures and one trailing separator are fine); ``#`` starts a comment;
* Python or JSON nested lists such as ``[[1, 2], (3., -2e-1)]``, read by a small
  recursive-descent parser (nothing is ever evaluated), or a JSON object: ``{"A": ...}`` for a
  matrix, ``{"rays": ..., "lines": ...}`` for generators;
* cddlib ``.ine`` (H-representation) and ``.ext`` (V-representation) files.

Entries are integers (``-3``), decimals (``3.``, ``.5``, ``-2e-1``, ``+1E5``) or fractions
``p/q`` of those (``1/2``, ``1.5/2``); each number is 0 or has ``1e-308 <= |x| < 1e308``, and a
literal has at most 400 significant digits. The literals decide the dtype of the result:

* only integer literals: ``int64``, or an object array of Python ints when one does not fit;
* any fraction: an object array of exact :class:`fractions.Fraction` (decimals in it become the
  exact fraction of their text, ``0.1`` -> ``Fraction(1, 10)``);
* otherwise (decimals, no fractions): ``float64``.

Every problem with the input raises :class:`~conecore.errors.ConeInputError` whose message says
where (``line 4 (row 3), column 2: ...`` for row-based text, ``row 3, column 2: ...`` for lists)
and why. No other exception escapes for ``str`` or ``bytes`` input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Any, TypeVar

import numpy as np

from conecore.errors import ConeInputError

__all__ = ["MAX_ENTRIES", "MAX_TEXT_CHARS", "parse_generators", "parse_matrix"]

MAX_TEXT_CHARS = 1_000_000
"""Longest input accepted: characters for ``str``, bytes for ``bytes``."""

MAX_ENTRIES = 1_000_000
"""Most numbers accepted in one input."""

# Magnitudes: |x| >= 10**308 overflows, 0 < |x| < 10**-308 underflows.
_EXP_LIMIT = 308
# Significant digits of one literal: an exact value keeps every digit, and Python refuses to
# print an int of more than 4,300 digits, so a longer literal could not even be shown.
_MAX_DIGITS = 400
_BIG = 10**_EXP_LIMIT
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

# Kinds of a literal, and of a whole matrix.
_INT, _DEC, _FRAC = "int", "decimal", "fraction"

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

_BINARY_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_SEP_RE = re.compile(r"[ \t]*[,;][ \t]*|[ \t]+")
_LIST_CHAR_RE = re.compile(r"[\[\](){}]")
_COMMENT_LINE_RE = re.compile(r"^[ \t]*#[^\n]*", re.MULTILINE)

_SKIP_RE = re.compile(r"(?:[ \t\n]+|#[^\n]*)*")
_ATOM_RE = re.compile(r"[^ \t\n\[\](){},#'\"]+")
_FLAT_LIST_RE = re.compile(r"[\[(]([^\[\](){}#'\"]*)[\])]")
_SPACE_RE = re.compile(r"[ \t\n]")
_CLOSERS = {"[": "]", "(": ")"}
_LIST_SPACE = " \t\n"

_HEADER_RE = re.compile(r"([0-9]{1,9})[ \t]+([0-9]{1,9})[ \t]+(\S+)")
_COUNT_RE = re.compile(r"[0-9]{1,9}")
_NUMBERTYPES = ("integer", "rational", "real")
_REPRESENTATIONS = ("h-representation", "v-representation")

_JSON_NAMES = {dict: "an object", list: "a list", str: "a single value"}

_T = TypeVar("_T")
Cell = Callable[[int, int], str]


def parse_matrix(text: str | bytes, *, homogenize: bool = False) -> np.ndarray:
    """The matrix ``A`` (``m x d``) of the cone ``{x : A x <= 0}`` written in ``text``.

    The format (plain rows, Python/JSON lists, a JSON object with key ``"A"``, cddlib ``.ine``)
    is detected; see the module docstring for the dtype rules. A cddlib row ``b -a_1 ... -a_d``
    means ``a x <= b``, so it gives the row ``a``; rows listed in ``linearity`` are equalities
    and give ``a`` followed by ``-a``. An ``.ine`` with some ``b != 0`` describes a polyhedron:
    that is an error unless ``homogenize=True``, which returns the cone over it in dimension
    ``d + 1`` (coordinates ``(x, t)``): rows ``[a_i, -b_i]`` and a last row ``[0, ..., 0, -1]``.
    ``homogenize`` has no effect on the other formats, which describe a cone already.

    >>> parse_matrix("1 0  # x1 <= 0\\n0, 1")
    array([[1, 0],
           [0, 1]])
    >>> parse_matrix("[[1, 1/2]]")
    array([[Fraction(1, 1), Fraction(1, 2)]], dtype=object)
    >>> parse_matrix("begin\\n1 3 integer\\n2 1 0\\nend", homogenize=True)
    array([[-1,  0, -2],
           [ 0,  0, -1]])

    Raises:
        ConeInputError: for any bad input; the message names the line, row and column.
        TypeError: when ``text`` is neither ``str`` nor ``bytes``.
    """
    _check_type(text)
    return _guarded(_parse_matrix, text, homogenize)


def parse_generators(text: str | bytes) -> tuple[np.ndarray, np.ndarray]:
    """The rays and lines ``(R, L)`` (each ``k x d``) of a cone written in ``text``.

    Reads a cddlib ``.ext`` V-representation (rows ``t v_1 ... v_d``: ``t = 0`` a ray,
    ``t != 0`` a vertex, which must be the origin and is dropped; ``linearity`` rows are lines),
    a JSON object ``{"rays": [...], "lines": [...]}`` (``lines`` optional), or plain rows and
    lists (every row a ray). Both arrays share the dtype rules of :func:`parse_matrix`; an empty
    set has shape ``(0, d)``.

    >>> rays, lines = parse_generators(
    ...     "V-representation\\nlinearity 1 3\\nbegin\\n3 3 integer\\n1 0 0\\n0 1 0\\n0 0 1\\nend")
    >>> rays
    array([[1, 0]])
    >>> lines
    array([[0, 1]])

    Raises:
        ConeInputError: for any bad input, or a vertex other than the origin.
        TypeError: when ``text`` is neither ``str`` nor ``bytes``.
    """
    _check_type(text)
    return _guarded(_parse_generators, text)


# ---------------------------------------------------------------------------------------------
# Driver


def _check_type(text: object) -> None:
    if not isinstance(text, str | bytes | bytearray):
        raise TypeError(f"expected str or bytes, not {type(text).__name__}")


def _guarded(function: Callable[..., _T], *args: Any) -> _T:
    """Run ``function``; turn any unexpected failure into a ConeInputError."""
    try:
        return function(*args)
    except ConeInputError:
        raise
    except Exception as exc:  # RecursionError, MemoryError, a bug: never another exception type
        detail = str(exc)[:200]
        raise ConeInputError(f"could not read the input ({type(exc).__name__}: {detail})") from exc


def _parse_matrix(text: str | bytes, homogenize: bool) -> np.ndarray:
    source = _decode(text)
    lines = source.split("\n")
    form = _detect(source, lines)
    if form == "cdd":
        return _cone_from_cdd(_read_cdd(lines), homogenize)
    if form == "json":
        document = _json_object(source)
        if "A" not in document:
            raise ConeInputError(f"the JSON object has no key 'A' (keys found: {_keys(document)})")
        rows = _rows_from_nested(document["A"], "'A'", "", MAX_ENTRIES)
        width = _check_widths(rows, _row_name)
        return _convert(rows, width, _list_cell)[1]
    return _read_rows(source, lines, form)[1]


def _parse_generators(text: str | bytes) -> tuple[np.ndarray, np.ndarray]:
    source = _decode(text)
    lines = source.split("\n")
    form = _detect(source, lines)
    if form == "cdd":
        return _generators_from_cdd(_read_cdd(lines))
    if form == "json":
        return _generators_from_json(_json_object(source))
    rays = _read_rows(source, lines, form)[1]
    return rays, rays[:0].copy()


def _decode(text: str | bytes) -> str:
    """The text as ``str`` with ``\\n`` newlines, after the size cap, UTF-8 decoding and the
    binary-data check."""
    if len(text) > MAX_TEXT_CHARS:
        unit = "characters" if isinstance(text, str) else "bytes"
        raise ConeInputError(
            f"the input is {len(text):,} {unit} long; the limit is {MAX_TEXT_CHARS:,}"
        )
    if isinstance(text, str):
        source = text
    else:
        try:
            source = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConeInputError(
                f"the input is not UTF-8 text: byte 0x{text[exc.start]:02x} at byte offset "
                f"{exc.start} cannot be decoded"
            ) from None
    source = source.removeprefix("\ufeff")
    binary = _BINARY_RE.search(source)
    if binary is not None:
        raise ConeInputError(
            f"binary data at character {binary.start() + 1} "
            f"(U+{ord(binary.group()):04X}): the input must be text"
        )
    return source.replace("\r\n", "\n").replace("\r", "\n")


def _is_cdd_marker(line: str) -> bool:
    word = line.strip(" \t").lower()
    return word == "begin" or word.startswith(_REPRESENTATIONS)


def _detect(source: str, lines: list[str]) -> str:
    """``"cdd"``, ``"json"`` (an object), ``"list"`` or ``"plain"``."""
    lowered = source.lower()
    if ("begin" in lowered or "representation" in lowered) and any(map(_is_cdd_marker, lines)):
        return "cdd"
    for line in lines:
        body = line.strip(" \t")
        if body and not body.startswith("#"):
            return {"{": "json", "[": "list", "(": "list"}.get(body[0], "plain")
    raise ConeInputError("the input is empty (nothing but whitespace and comments)")


def _read_rows(source: str, lines: list[str], form: str) -> tuple[str, np.ndarray]:
    """(kind, matrix) of plain rows or of a Python/JSON list."""
    if form == "plain":
        rows, linenos = _plain_rows(source, lines)
        width = _check_widths(rows, _row_name, linenos)
        return _convert(rows, width, _line_cell(linenos))
    rows = _rows_from_nested(_ListParser(source).parse(), "the list", "", MAX_ENTRIES)
    width = _check_widths(rows, _row_name)
    return _convert(rows, width, _list_cell)


# ---------------------------------------------------------------------------------------------
# Numbers: the one place where a literal becomes a value


def _quote(token: str) -> str:
    """``token`` quoted for a message, cut to 20 characters."""
    return repr(token[:20]) + ("..." if len(token) > 20 else "")


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


def _number(token: str, where: Callable[[], str]) -> tuple[str, int | float | Fraction]:
    """``(kind, value)`` of one literal: an int, a float (decimal) or a Fraction.

    Raises ConeInputError, prefixed with ``where()``, for anything else.

    >>> _number("-3", str), _number(".5", str), _number("3/-6", str)
    (('int', -3), ('decimal', 0.5), ('fraction', Fraction(-1, 2)))
    """
    head, slash, tail = token.partition("/")
    matches = [_NUMBER_RE.fullmatch(part) for part in ((head, tail) if slash else (head,))]
    if not all(matches):
        if _NONFINITE_RE.fullmatch(token):
            raise ConeInputError(
                f"{where()}: {_quote(token)} is NaN or infinity; numbers must be finite"
            )
        raise ConeInputError(f"{where()}: {_quote(token)} is not a number")
    for match in matches:
        exponent = _magnitude(match)
        if exponent is not None and exponent >= _EXP_LIMIT:
            raise ConeInputError(f"{where()}: {_quote(token)} overflows (|x| >= 1e308)")
        if exponent is not None and exponent < -_EXP_LIMIT:
            raise ConeInputError(f"{where()}: {_quote(token)} underflows (0 < |x| < 1e-308)")
        if _digits(match) > _MAX_DIGITS:
            raise ConeInputError(
                f"{where()}: {_quote(token)} has more than {_MAX_DIGITS} significant digits"
            )
    if not slash:
        if _is_int(matches[0]):
            return _INT, _int_value(matches[0])
        return _DEC, float(token)
    if _is_int(matches[0]) and _is_int(matches[1]):
        numerator, denominator = _int_value(matches[0]), _int_value(matches[1])
        if denominator == 0:
            raise ConeInputError(f"{where()}: {_quote(token)} divides by zero")
        # 1/|q| <= |p/q| <= |p| when p != 0: already in range
        return _FRAC, Fraction(numerator, denominator)
    (a, b), (c, d) = _ratio(matches[0]), _ratio(matches[1])
    if c == 0:
        raise ConeInputError(f"{where()}: {_quote(token)} divides by zero")
    numerator, denominator = (a * d, b * c) if c > 0 else (-a * d, -b * c)
    if abs(numerator) >= _BIG * denominator:
        raise ConeInputError(f"{where()}: {_quote(token)} overflows (|x| >= 1e308)")
    if numerator and abs(numerator) * _BIG < denominator:
        raise ConeInputError(f"{where()}: {_quote(token)} underflows (0 < |x| < 1e-308)")
    return _FRAC, Fraction(numerator, denominator)


def _convert(rows: list[list[str]], width: int, cell: Cell) -> tuple[str, np.ndarray]:
    """``(kind, matrix)`` of a rectangular grid of literals; ``cell(i, j)`` names an entry.

    Plain numeric grids take a fast path; anything else is read entry by entry.
    """
    shape = (len(rows), width)
    flat = [token for row in rows for token in row]
    joined = "".join(flat)
    if "/" not in joined:
        if "." not in joined and "e" not in joined and "E" not in joined:
            if all(map(_INT_FAST_RE.fullmatch, flat)):
                return _INT, np.fromiter(map(int, flat), np.int64, len(flat)).reshape(shape)
        elif all(map(_DEC_FAST_RE.fullmatch, flat)):
            return _DEC, np.array(list(map(float, flat)), dtype=np.float64).reshape(shape)
    elif "e" not in joined and "E" not in joined:
        fractions = _small_fractions(flat)
        if fractions is not None:
            return _FRAC, _object_array(fractions, shape)
    kinds: list[str] = []
    values: list[int | float | Fraction] = []
    for i, row in enumerate(rows):
        for j, token in enumerate(row):
            kind, value = _number(token, partial(cell, i, j))
            kinds.append(kind)
            values.append(value)
    found = set(kinds)
    if _FRAC in found:
        exact = [
            value if kind == _FRAC
            else _exact(_NUMBER_RE.fullmatch(token)) if kind == _DEC
            else Fraction(value)
            for kind, value, token in zip(kinds, values, flat)
        ]
        return _FRAC, _object_array(exact, shape)
    if _DEC in found:
        return _DEC, np.array(values, dtype=np.float64).reshape(shape)
    return _INT, _int_array(values, shape)


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


def _object_array(values: list[Any], shape: tuple[int, ...]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array.reshape(shape)


def _int_array(values: list[Any], shape: tuple[int, ...]) -> np.ndarray:
    """int64 when every value fits, else an object array of Python ints."""
    if all(_INT64_MIN <= value <= _INT64_MAX for value in values):
        return np.array(values, dtype=np.int64).reshape(shape)
    return _object_array(values, shape)


# ---------------------------------------------------------------------------------------------
# Rows: plain text and checks shared by every format


def _row_name(i: int) -> str:
    return f"row {i + 1}"


def _list_cell(i: int, j: int) -> str:
    return f"row {i + 1}, column {j + 1}"


def _line_cell(linenos: list[int]) -> Cell:
    def cell(i: int, j: int) -> str:
        return f"line {linenos[i]} (row {i + 1}), column {j + 1}"

    return cell


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def _too_many(where: str) -> ConeInputError:
    return ConeInputError(
        f"{where}: the input has more than {MAX_ENTRIES:,} entries (the limit, MAX_ENTRIES)"
    )


def _split_line(body: str, maxsplit: int) -> list[str]:
    """Split a stripped line at separators into at most ``maxsplit + 1`` pieces (the last one
    holds the rest); two separators in a row give an empty piece."""
    if body.isascii():
        if "," not in body and ";" not in body:
            return body.split(None, maxsplit)
        pieces = [piece.strip(" \t") for piece in body.replace(";", ",").split(",", maxsplit)]
        if not any(" " in piece or "\t" in piece for piece in pieces):
            return pieces
    return _SEP_RE.split(body, maxsplit=maxsplit)


def _tokenize_line(body: str, lineno: int, row: int, budget: int) -> list[str]:
    """The literals of one non-empty, stripped line; at most ``budget`` of them."""
    if body[-1] in ",;":
        body = body[:-1].rstrip(" \t")
    tokens = _split_line(body, budget) if body and budget > 0 else [body]
    if len(tokens) > budget:
        raise _too_many(f"line {lineno}")
    if "" in tokens:
        raise ConeInputError(
            f"line {lineno} (row {row}), column {tokens.index('') + 1}: empty entry "
            "(two separators in a row, or one at the start of the line)"
        )
    return tokens


def _plain_rows(source: str, lines: list[str]) -> tuple[list[list[str]], list[int]]:
    """The literals of each row of plain text, and each row's 1-based line number."""
    rows: list[list[str]] = []
    linenos: list[int] = []
    count = 0
    check_brackets = any(bracket in source for bracket in "[](){}")
    for lineno, line in enumerate(lines, 1):
        body = (line.split("#", 1)[0] if "#" in line else line).strip(" \t")
        if not body:
            continue
        bracket = _LIST_CHAR_RE.search(body) if check_brackets else None
        if bracket is not None:
            raise ConeInputError(
                f"line {lineno}: {bracket.group()!r} mixes list syntax and plain rows; "
                "write every row the same way"
            )
        tokens = _tokenize_line(body, lineno, len(rows) + 1, MAX_ENTRIES - count)
        count += len(tokens)
        rows.append(tokens)
        linenos.append(lineno)
    return rows, linenos


def _check_widths(
    rows: list[list[str]], name: Callable[[int], str], linenos: list[int] | None = None
) -> int:
    """The common length of ``rows`` (at least 1); ``name(i)`` names row ``i`` in messages."""
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            where = f"line {linenos[i]}: " if linenos else ""
            raise ConeInputError(
                f"{where}{name(i)} has {_entries(len(row))} but {name(0)} has {_entries(width)}"
            )
    if width == 0:
        raise ConeInputError("the matrix has 0 columns (its rows are empty)")
    return width


# ---------------------------------------------------------------------------------------------
# Python and JSON lists


class _ListParser:
    """Recursive-descent reader of a Python/JSON list of rows (depth <= 2); evaluates nothing.

    ``parse`` returns nested lists of literal texts (quoted strings without their quotes).

    >>> _ListParser("[(1, '1/2'), [3, 4,],]").parse()
    [['1', '1/2'], ['3', '4']]
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.count = 0

    def parse(self) -> list[Any]:
        self._skip()
        outer = self._list(1)
        self._skip()
        if self.pos < len(self.text):
            char = self.text[self.pos]
            if char in "[(":
                raise self._error(
                    "another list starts after the outer list has ended; "
                    "put all rows inside one outer list"
                )
            if char in "])}":
                raise self._error(f"unbalanced {char!r}: no list is open here")
            raise self._error("text after the list: mixing list syntax and plain rows")
        return outer

    def _error(self, message: str) -> ConeInputError:
        line = self.text.count("\n", 0, self.pos) + 1
        return ConeInputError(
            f"broken list syntax at character {self.pos + 1} (line {line}): {message}"
        )

    def _skip(self) -> None:
        self.pos = _SKIP_RE.match(self.text, self.pos).end()

    def _count(self, entries: int) -> None:
        self.count += entries
        if self.count > MAX_ENTRIES:
            raise _too_many(f"character {self.pos + 1}")

    def _list(self, depth: int) -> list[Any]:
        start = self.pos
        opener = self.text[start]
        close = _CLOSERS[opener]
        if depth > 2:
            raise self._error("nesting deeper than a matrix: a row may hold only numbers")
        flat = _FLAT_LIST_RE.match(self.text, start)
        if flat is not None and flat.group()[-1] == close:  # fast path: a list of plain atoms
            items = [item.strip(_LIST_SPACE) for item in flat[1].split(",")]
            if items[-1] == "":
                items.pop()
            if all(items) and not any(_SPACE_RE.search(item) for item in items):
                self._count(len(items))
                self.pos = flat.end()
                return items
        self.pos += 1
        items = []
        while True:
            self._skip()
            if self._closes(start, opener):
                return items
            items.append(self._value(depth))
            self._skip()
            if self._closes(start, opener):
                return items
            if self.text[self.pos] != ",":
                raise self._error(
                    f"expected ',' or {close!r} but found {self.text[self.pos]!r} (missing comma?)"
                )
            self.pos += 1

    def _closes(self, start: int, opener: str) -> bool:
        """Whether the list opened at ``start`` ends here (consuming its closing bracket)."""
        close = _CLOSERS[opener]
        if self.pos >= len(self.text):
            raise self._error(
                f"the text ends before the {opener!r} at character {start + 1} is closed "
                f"(missing {close!r})"
            )
        char = self.text[self.pos]
        if char in "])" and char != close:
            raise self._error(f"{char!r} does not match the {opener!r} at character {start + 1}")
        if char == close:
            self.pos += 1
            return True
        return False

    def _value(self, depth: int) -> Any:
        char = self.text[self.pos]
        if char in "[(":
            return self._list(depth + 1)
        if char in "'\"":
            end = self.text.find(char, self.pos + 1)
            if end == -1 or "\n" in self.text[self.pos : end]:
                raise self._error("unterminated string")
            self._count(1)
            value = self.text[self.pos + 1 : end]
            self.pos = end + 1
            return value
        atom = _ATOM_RE.match(self.text, self.pos)
        if atom is None:
            raise self._error(f"expected a value but found {char!r}")
        self._count(1)
        self.pos = atom.end()
        return atom.group()


def _describe(value: object) -> str:
    return _JSON_NAMES.get(type(value)) or json.dumps(value)


def _rows_from_nested(
    value: object, label: str, prefix: str, budget: int, *, allow_empty: bool = False
) -> list[list[str]]:
    """Rows of literal texts from parsed nested lists; a flat list is a single row.

    ``label`` names the whole value and ``prefix`` starts each cell's location in messages.
    """
    if not isinstance(value, list):
        raise ConeInputError(f"{label} must be a list of rows, not {_describe(value)}")
    if not value:
        if allow_empty:
            return []
        raise ConeInputError(f"{label} is empty: there are no rows")
    is_row = [isinstance(item, list) for item in value]
    if not any(is_row):
        value = [value]
    elif not all(is_row):
        raise ConeInputError(
            f"{label}: element {is_row.index(False) + 1} is a number but element "
            f"{is_row.index(True) + 1} is a list; write every row as a list"
        )
    rows = []
    count = 0
    for i, row in enumerate(value):
        cells = []
        for j, item in enumerate(row):
            if not isinstance(item, str):
                cause = (
                    "nesting deeper than a matrix: a row may hold only numbers"
                    if isinstance(item, list)
                    else f"expected a number, got {_describe(item)}"
                )
                raise ConeInputError(f"{prefix}row {i + 1}, column {j + 1}: {cause}")
            cells.append(item.strip())
        count += len(cells)
        if count > budget:
            raise _too_many(f"{prefix}row {i + 1}")
        rows.append(cells)
    return rows


def _json_object(text: str) -> dict[str, Any]:
    """A JSON object whose numbers stay literal texts (whole-line ``#`` comments allowed)."""
    blanked = _COMMENT_LINE_RE.sub(lambda comment: " " * len(comment.group()), text)
    try:
        return json.loads(blanked, parse_int=str, parse_float=str, parse_constant=str)
    except json.JSONDecodeError as exc:
        raise ConeInputError(
            f"broken JSON at character {exc.pos + 1} (line {exc.lineno}): {exc.msg}"
        ) from None
    except RecursionError:
        raise ConeInputError("broken JSON: nested far deeper than a matrix") from None


def _keys(document: dict[str, Any]) -> str:
    names = [repr(key) for key in list(document)[:10]]
    return ", ".join(names) + (", ..." if len(document) > 10 else "") if names else "none"


def _generators_from_json(document: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    if "rays" not in document:
        raise ConeInputError(f"the JSON object has no key 'rays' (keys found: {_keys(document)})")
    rays = _rows_from_nested(document["rays"], "'rays'", "rays ", MAX_ENTRIES, allow_empty=True)
    budget = MAX_ENTRIES - sum(map(len, rays))
    lines = _rows_from_nested(
        document.get("lines", []), "'lines'", "lines ", budget, allow_empty=True
    )
    if not rays and not lines:
        raise ConeInputError("the JSON object lists no rays and no lines: the dimension is unknown")

    def name(i: int) -> str:
        return f"rays row {i + 1}" if i < len(rays) else f"lines row {i - len(rays) + 1}"

    width = _check_widths(rays + lines, name)
    matrix = _convert(rays + lines, width, lambda i, j: f"{name(i)}, column {j + 1}")[1]
    return matrix[: len(rays)], matrix[len(rays) :]


# ---------------------------------------------------------------------------------------------
# cddlib .ine / .ext


@dataclass
class _CddFile:
    """The parts of a cddlib file that matter here; rows are literal texts."""

    representation: str | None  # "H", "V", or None when the file does not say
    numbertype: str
    width: int
    rows: list[list[str]]
    linenos: list[int]
    linearity: frozenset[int]  # 0-based row indices


def _read_cdd(lines: list[str]) -> _CddFile:
    significant = [
        (lineno, line.strip(" \t"))
        for lineno, line in enumerate(lines, 1)
        if line.strip(" \t") and not line.strip(" \t").startswith("*")
    ]
    begin = next((k for k, (_, line) in enumerate(significant) if line.lower() == "begin"), None)
    if begin is None:
        raise ConeInputError("cddlib format: there is no 'begin' line")
    representation = None
    linearity: tuple[int, list[str]] | None = None
    for lineno, line in significant[:begin]:
        words = line.lower().split()
        first = words[0] if words else ""
        if first in _REPRESENTATIONS:
            representation = first[0].upper()
        elif first == "linearity":
            linearity = (lineno, line.split()[1:])
        # any other line before 'begin' is the name line, which is ignored
    begin_lineno = significant[begin][0]
    rest = significant[begin + 1 :]
    if not rest:
        raise ConeInputError(
            f"line {begin_lineno}: 'begin' must be followed by the header 'm n numbertype'"
        )
    header_lineno, header = rest[0]
    match = _HEADER_RE.fullmatch(header)
    if match is None:
        raise ConeInputError(
            f"line {header_lineno}: the header after 'begin' must be 'm n numbertype' "
            f"(like '3 4 integer'), not {_quote(header)}"
        )
    m, n, numbertype = int(match[1]), int(match[2]), match[3].lower()
    if numbertype not in _NUMBERTYPES:
        raise ConeInputError(
            f"line {header_lineno}: numbertype {_quote(match[3])} is not integer, rational or real"
        )
    if n < 2:
        raise ConeInputError(
            f"line {header_lineno}: the header says n = {n} columns; a row needs b (or t) "
            "and at least one coordinate"
        )
    end = next((k for k, (_, line) in enumerate(rest) if line.lower() == "end"), None)
    if end is None:
        raise ConeInputError(
            f"no 'end' line: the rows after 'begin' (line {begin_lineno}) must end with 'end'"
        )
    if end - 1 != m:
        raise ConeInputError(
            f"line {header_lineno}: the header says m = {m} rows but {end - 1} "
            f"{'row is' if end == 2 else 'rows are'} present before 'end' (line {rest[end][0]})"
        )
    rows, linenos = [], []
    count = 0
    for lineno, line in rest[1:end]:
        tokens = _tokenize_line(line, lineno, len(rows) + 1, MAX_ENTRIES - count)
        count += len(tokens)
        if len(tokens) != n:
            raise ConeInputError(
                f"line {lineno}: row {len(rows) + 1} has {_entries(len(tokens))} "
                f"but the header says n = {n}"
            )
        rows.append(tokens)
        linenos.append(lineno)
    return _CddFile(representation, numbertype, n, rows, linenos, _linearity(linearity, m))


def _linearity(spec: tuple[int, list[str]] | None, m: int) -> frozenset[int]:
    """0-based rows of a ``linearity k i_1 ... i_k`` line."""
    if spec is None:
        return frozenset()
    lineno, fields = spec
    if (
        not fields
        or not all(_COUNT_RE.fullmatch(field) for field in fields)
        or int(fields[0]) != len(fields) - 1
    ):
        raise ConeInputError(
            f"line {lineno}: the linearity line must be 'linearity k i_1 ... i_k' "
            "with k row numbers"
        )
    for field in fields[1:]:
        if not 1 <= int(field) <= m:
            raise ConeInputError(
                f"line {lineno}: linearity row {field} is not between 1 and m = {m}"
            )
    return frozenset(int(field) - 1 for field in fields[1:])


def _negate(matrix: np.ndarray) -> np.ndarray:
    if matrix.dtype == np.int64 and matrix.size and matrix.min() == _INT64_MIN:
        matrix = matrix.astype(object)
    return -matrix


def _finish(matrix: np.ndarray, kind: str, numbertype: str) -> np.ndarray:
    """Apply the dtype rules again after rows were negated or dropped."""
    if numbertype == "real":
        return matrix.astype(np.float64)
    if kind == _INT and matrix.dtype == object:
        return _int_array(matrix.ravel().tolist(), matrix.shape)
    return matrix


def _cone_from_cdd(cdd: _CddFile, homogenize: bool) -> np.ndarray:
    if cdd.representation == "V":
        raise ConeInputError(
            "this cddlib file is a V-representation: it holds generators (rays, vertices, "
            "lines), not inequalities; read it with parse_generators"
        )
    kind, entries = _convert(cdd.rows, cdd.width, _line_cell(cdd.linenos))
    if homogenize:  # b - a x >= 0 with x -> x / t: rows [a, -b]
        cone = _negate(entries[:, [*range(1, cdd.width), 0]])
    else:
        nonzero = np.flatnonzero((entries[:, 0] != 0).astype(bool))
        if nonzero.size:
            i = int(nonzero[0])
            b = cdd.rows[i][0] if len(cdd.rows[i][0]) <= 20 else cdd.rows[i][0][:20] + "..."
            raise ConeInputError(
                f"line {cdd.linenos[i]} (row {i + 1}), column 1: b = {b} is not 0, "
                "so this .ine describes a polyhedron, not a cone; use "
                "parse_matrix(text, homogenize=True) for the cone over it"
            )
        cone = _negate(entries[:, 1:])
    if cdd.linearity:  # an equality a x = b is a x <= b and -a x <= -b
        order = []
        for i in range(len(cone)):
            order.append(i)
            if i in cdd.linearity:
                order.append(len(cone) + i)
        cone = np.concatenate([cone, _negate(cone)])[order]
    if homogenize:  # t >= 0
        last = [0] * cdd.width
        last[-1] = -1
        row = [Fraction(v) for v in last] if kind == _FRAC else last
        cone = np.concatenate([cone, np.array([row], dtype=cone.dtype)])
    return _finish(cone, kind, cdd.numbertype)


def _generators_from_cdd(cdd: _CddFile) -> tuple[np.ndarray, np.ndarray]:
    if cdd.representation == "H":
        raise ConeInputError(
            "this cddlib file is an H-representation: it holds inequalities, not generators; "
            "read it with parse_matrix"
        )
    kind, entries = _convert(cdd.rows, cdd.width, _line_cell(cdd.linenos))
    points = entries[:, 1:]
    vertex = (entries[:, 0] != 0).astype(bool)
    away = (points != 0).astype(bool).any(axis=1)
    bad = np.flatnonzero(vertex & away)
    if bad.size:
        i = int(bad[0])
        raise ConeInputError(
            f"line {cdd.linenos[i]} (row {i + 1}): row {i + 1} is a vertex at a point other than "
            "the origin, so this is not a cone"
        )
    is_line = np.zeros(len(entries), dtype=bool)
    is_line[np.array(sorted(cdd.linearity), dtype=np.intp)] = True
    kept = _finish(points[~vertex], kind, cdd.numbertype)
    is_line = is_line[~vertex]
    return kept[~is_line], kept[is_line]

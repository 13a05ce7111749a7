"""cddlib's ``.ine`` (H-representation) and ``.ext`` (V-representation) files, read as cddlib
reads them and written by :func:`to_ine` and :func:`to_ext`.

A file is: optional ``*`` comment lines, a name, ``H-representation`` or ``V-representation``
and ``linearity k i_1 ... i_k``, then ``begin``, the header ``m n numbertype`` (``integer``,
``rational`` or ``real``), ``m * n`` numbers and ``end``; whatever follows ``end`` (cddlib's
options) is ignored. As in cddlib, a row is the next ``n`` numbers wherever the lines break:
a long row may wrap over several lines (cddlib's own ``kkd*.ine`` examples do).

* ``.ine``: a row ``b -a_1 ... -a_d`` means ``b - a x >= 0``; a ``linearity`` row is an equality.
* ``.ext``: a row ``t v_1 ... v_d`` is a vertex (``t != 0``) or a ray (``t = 0``); a
  ``linearity`` row is a line.

Cones (:func:`parse_matrix`, :func:`to_ine`, :func:`to_ext`) need ``b = 0`` and the origin as the
only vertex; polyhedra (:func:`polyhedron_from_ine`, :func:`polyhedron_from_ext`,
:func:`polyhedron_to_ine`, :func:`polyhedron_to_ext`) take any ``b`` and any vertices, so every
example file of cddlib loads as it is.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from conecore.cone import DEFAULT_LIMITS, Cone, Limits
from conecore.errors import ConeInputError, PolyhedronInputError
from conecore.formats import source
from conecore.formats.numbers import (
    FRAC,
    INT,
    INT64_MIN,
    int_array,
    literal,
    read_grid,
    written_rows,
)
from conecore.formats.source import check_type, decode, guarded, quote, split_entries
from conecore.polyhedron import Polyhedron

_HEADER_RE = re.compile(r"([0-9]{1,9})[ \t]+([0-9]{1,9})[ \t]+(\S+)")
_COUNT_RE = re.compile(r"[0-9]{1,9}")
_NUMBERTYPES = ("integer", "rational", "real")
_REPRESENTATIONS = ("h-representation", "v-representation")


def is_cddlib(text: str, lines: list[str]) -> bool:
    """Whether decoded ``text`` (split into ``lines``) is a cddlib file: a line says ``begin``
    or starts with ``H-representation`` / ``V-representation``."""
    lowered = text.lower()
    return ("begin" in lowered or "representation" in lowered) and any(map(_is_marker, lines))


def _is_marker(line: str) -> bool:
    word = line.strip(" \t").lower()
    return word == "begin" or word.startswith(_REPRESENTATIONS)


@dataclass
class _CddFile:
    """The parts of a cddlib file that matter here; rows are literal texts."""

    representation: str | None  # "H", "V", or None when the file does not say
    numbertype: str
    width: int
    rows: list[list[str]]
    linearity: frozenset[int]  # 0-based row indices
    line_starts: list[int]  # index of the first number on each line of numbers
    line_numbers: list[int]  # the 1-based number of each of those lines

    def line_of(self, k: int) -> int:
        """The line of the ``k``-th number (0-based) after the header."""
        return _line_of(k, self.line_starts, self.line_numbers)

    def row_line(self, i: int) -> int:
        """The line where row ``i`` (0-based) starts."""
        return self.line_of(i * self.width)

    def cell(self, i: int, j: int) -> str:
        return f"line {self.line_of(i * self.width + j)} (row {i + 1}), column {j + 1}"


def _read(lines: list[str]) -> _CddFile:
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
            f"(like '3 4 integer'), not {quote(header)}"
        )
    m, n, numbertype = int(match[1]), int(match[2]), match[3].lower()
    if numbertype not in _NUMBERTYPES:
        raise ConeInputError(
            f"line {header_lineno}: numbertype {quote(match[3])} is not integer, rational or real"
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
    numbers: list[str] = []
    line_starts, line_numbers = [], []
    for lineno, line in rest[1:end]:
        line_starts.append(len(numbers))
        line_numbers.append(lineno)
        numbers += split_entries(line, f"line {lineno}", lineno,
                                 source.MAX_ENTRIES - len(numbers))
    if len(numbers) != m * n:
        extra_line = _line_of(m * n, line_starts, line_numbers) if len(numbers) > m * n else 0
        raise ConeInputError(
            _count_message(m, n, numbers, header_lineno, rest[end][0], extra_line)
        )
    rows = [numbers[i * n : (i + 1) * n] for i in range(m)]
    return _CddFile(representation, numbertype, n, rows, _linearity(linearity, m),
                    line_starts, line_numbers)


def _line_of(k: int, line_starts: list[int], line_numbers: list[int]) -> int:
    """The line of the ``k``-th number, given where each line's numbers start."""
    return line_numbers[bisect_right(line_starts, k) - 1]


def _count_message(m: int, n: int, numbers: list[str], header_lineno: int, end_lineno: int,
                   extra_line: int) -> str:
    """What the header promised and what came before 'end' (``extra_line``: the line of the
    first number too many, when there are too many)."""
    want = (f"line {header_lineno}: the header says m = {m} row{'s' if m != 1 else ''} of "
            f"n = {n} numbers, {m * n} in all, ")
    found = len(numbers)
    if found > m * n:
        return (want + f"but {found} come before 'end' (line {end_lineno}); the first extra "
                f"one is {quote(numbers[m * n])} on line {extra_line}")
    full, part = divmod(found, n)
    rows = f"{full} full row{'s' if full != 1 else ''}"
    if part:
        rows += f" and {part} of the {n} numbers of row {full + 1}"
    return want + f"but only {found} come before 'end' (line {end_lineno}): {rows}"


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
    if matrix.dtype == np.int64 and matrix.size and matrix.min() == INT64_MIN:
        matrix = matrix.astype(object)
    return -matrix


def _finish(matrix: np.ndarray, kind: str, numbertype: str) -> np.ndarray:
    """Apply the dtype rules again after rows were negated or dropped."""
    if numbertype == "real":
        return matrix.astype(np.float64)
    if kind == INT and matrix.dtype == object:
        return int_array(matrix.ravel().tolist(), matrix.shape)
    return matrix


def read_ine(lines: list[str], homogenize: bool) -> np.ndarray:
    """The matrix ``A`` of an ``.ine`` (see :func:`conecore.formats.parse_matrix`)."""
    cdd = _read(lines)
    if cdd.representation == "V":
        raise ConeInputError(
            "this cddlib file is a V-representation: it holds generators (rays, vertices, "
            "lines), not inequalities; read it with parse_generators"
        )
    kind, entries = read_grid(cdd.rows, cdd.width, cdd.cell)
    if homogenize:  # b - a x >= 0 with x -> x / t: rows [a, -b]
        cone = _negate(entries[:, [*range(1, cdd.width), 0]])
    else:
        nonzero = np.flatnonzero((entries[:, 0] != 0).astype(bool))
        if nonzero.size:
            i = int(nonzero[0])
            b = cdd.rows[i][0] if len(cdd.rows[i][0]) <= 20 else cdd.rows[i][0][:20] + "..."
            raise PolyhedronInputError(
                f"line {cdd.row_line(i)} (row {i + 1}), column 1: b = {b} is not 0, "
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
        row = [Fraction(v) for v in last] if kind == FRAC else last
        cone = np.concatenate([cone, np.array([row], dtype=cone.dtype)])
    return _finish(cone, kind, cdd.numbertype)


def read_ext(lines: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The rays and lines of an ``.ext`` (see :func:`conecore.formats.parse_generators`)."""
    cdd = _read(lines)
    if cdd.representation == "H":
        raise ConeInputError(
            "this cddlib file is an H-representation: it holds inequalities, not generators; "
            "read it with parse_matrix"
        )
    kind, entries = read_grid(cdd.rows, cdd.width, cdd.cell)
    points = entries[:, 1:]
    vertex = (entries[:, 0] != 0).astype(bool)
    away = (points != 0).astype(bool).any(axis=1)
    bad = np.flatnonzero(vertex & away)
    if bad.size:
        i = int(bad[0])
        raise ConeInputError(
            f"line {cdd.row_line(i)} (row {i + 1}): row {i + 1} is a vertex at a point other "
            "than the origin, so this is not a cone"
        )
    is_line = np.zeros(len(entries), dtype=bool)
    is_line[np.array(sorted(cdd.linearity), dtype=np.intp)] = True
    kept = _finish(points[~vertex], kind, cdd.numbertype)
    is_line = is_line[~vertex]
    return kept[~is_line], kept[is_line]


def to_ine(cone: Cone | Any, name: str = "cone") -> str:
    """cddlib H-representation of ``A x <= 0``: each row ``0  -a_i`` (``b - A x >= 0``)."""
    rows, numbertype = written_rows(cone)
    d = len(rows[0]) if rows else (cone.dim if isinstance(cone, Cone) else 0)
    lines = [f"* {name}: the cone A x <= 0, written by conecore", "H-representation", "begin",
             f" {len(rows)} {d + 1} {numbertype}"]
    lines += [" 0 " + " ".join(literal(-Fraction(v) if numbertype != "real" else -v)
                               for v in row)
              for row in rows]
    lines.append("end")
    return "\n".join(lines) + "\n"


def to_ext(cone: Cone, name: str = "cone") -> str:
    """cddlib V-representation: the origin as a vertex, then the rays (``0 r``) and the lines
    (``0 l``, listed in the ``linearity`` line)."""
    rays = cone.rays_exact if cone.rays_exact is not None else cone.rays
    lines = cone.lines_exact if cone.lines_exact is not None else cone.lines
    numbertype = "integer" if cone.rays_exact is not None else "real"
    k, ell, d = len(rays), len(lines), cone.dim
    out = [f"* {name}: generators of the cone A x <= 0, written by conecore", "V-representation"]
    if ell:
        out.append("linearity " + " ".join(str(i) for i in [ell, *range(k + 2, k + ell + 2)]))
    out += ["begin", f" {1 + k + ell} {d + 1} {numbertype}", " 1 " + " ".join(["0"] * d)]
    out += [" 0 " + " ".join(literal(v) for v in row) for row in [*rays, *lines]]
    out.append("end")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# Polyhedra: any b, any vertices


def read_polyhedron_ine(lines: list[str]) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """``(A, b, equalities)`` of an ``.ine``: each row ``b -a`` is ``a x <= b``, ``linearity``
    rows (0-based in ``equalities``) are equalities. ``A`` and ``b`` follow the dtype rules of
    :func:`parse_matrix` (int64, exact ``Fraction`` objects for ``rational``, float64 for
    ``real``)."""
    cdd = _read(lines)
    if cdd.representation == "V":
        raise ConeInputError(
            "this cddlib file is a V-representation: it holds generators (vertices, rays, "
            "lines), not inequalities; read it with polyhedron_from_ext"
        )
    kind, entries = read_grid(cdd.rows, cdd.width, cdd.cell)
    A = _finish(_negate(entries[:, 1:]), kind, cdd.numbertype)
    b = _finish(entries[:, :1], kind, cdd.numbertype)[:, 0]
    return A, b, tuple(sorted(cdd.linearity))


def read_polyhedron_ext(lines: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(vertices, rays, lines)`` of an ``.ext``: a row ``t v`` with ``t != 0`` is the vertex
    ``v / t`` (``t > 0``; exact ``Fraction`` objects when ``t != 1`` in an integer or rational
    file), with ``t = 0`` a ray, or a line when listed in ``linearity``."""
    cdd = _read(lines)
    if cdd.representation == "H":
        raise ConeInputError(
            "this cddlib file is an H-representation: it holds inequalities, not generators; "
            "read it with polyhedron_from_ine"
        )
    kind, entries = read_grid(cdd.rows, cdd.width, cdd.cell)
    t = entries[:, 0]
    for i in range(len(entries)):
        if t[i] < 0:
            raise ConeInputError(
                f"line {cdd.row_line(i)} (row {i + 1}), column 1: t = {cdd.rows[i][0]} is "
                "negative; a vertex row starts with a positive t (usually 1), a ray or line "
                "row with 0")
        if i in cdd.linearity and t[i] != 0:
            raise ConeInputError(
                f"line {cdd.row_line(i)} (row {i + 1}): row {i + 1} is listed in linearity (a "
                "line) but starts with t != 0; a line row starts with 0")
    vertex = (t != 0).astype(bool)
    points = entries[:, 1:]
    V = points[vertex]
    tv = t[vertex]
    if len(V) and np.any(tv != 1):
        if cdd.numbertype == "real" or entries.dtype == np.float64:
            V = V.astype(np.float64) / tv.astype(np.float64)[:, None]
        else:
            V = np.array([[Fraction(v) / Fraction(s) for v in row] for row, s in zip(V, tv)],
                         dtype=object).reshape(V.shape)
            kind = FRAC
    is_line = np.zeros(len(entries), dtype=bool)
    is_line[np.array(sorted(cdd.linearity), dtype=np.intp)] = True
    rays = points[~vertex & ~is_line]
    lines_ = points[is_line]
    return (_finish(V, kind, cdd.numbertype), _finish(rays, kind, cdd.numbertype),
            _finish(lines_, kind, cdd.numbertype))


def polyhedron_from_ine(text: str | bytes, *, limits: Limits = DEFAULT_LIMITS) -> Polyhedron:
    """The polyhedron of a cddlib ``.ine`` (any ``b``; ``linearity`` rows are equalities).

    >>> polyhedron_from_ine("H-representation\\nbegin\\n2 2 integer\\n1 -1\\n1 1\\nend").kind
    <PolyhedronKind.POLYTOPE: 'polytope'>

    Raises :class:`ConeInputError` naming the line and column of a bad entry, and the
    errors of :meth:`Polyhedron.from_inequalities` (limits, time).
    """
    check_type(text)
    A, b, eq = guarded(lambda: read_polyhedron_ine(decode(text).split("\n")))
    return Polyhedron.from_inequalities(A, b, equalities=eq, limits=limits)


def polyhedron_from_ext(text: str | bytes, *, limits: Limits = DEFAULT_LIMITS) -> Polyhedron:
    """The polyhedron generated by a cddlib ``.ext`` (vertices, rays, lines; V -> H)."""
    check_type(text)
    V, R, L = guarded(lambda: read_polyhedron_ext(decode(text).split("\n")))
    return Polyhedron.from_generators(V, R, L, limits=limits)


def _typed_rows(rows: list[list[Any]]) -> tuple[list[list[Any]], str]:
    """The rows and cddlib's numbertype for them: ``real`` (every entry a float) as soon as one
    entry is a float, else ``integer`` or ``rational``."""
    values = [v for row in rows for v in row]
    if any(isinstance(v, float) for v in values):
        return [[float(v) for v in row] for row in rows], "real"
    if all(Fraction(v).denominator == 1 for v in values):
        return rows, "integer"
    return rows, "rational"


def polyhedron_to_ine(poly: Polyhedron, name: str = "polyhedron") -> str:
    """cddlib H-representation of ``A x <= b``: each row ``b_i  -a_i`` (``b - A x >= 0``),
    equalities in the ``linearity`` line; exact (``integer`` or ``rational``) when ``A`` and
    ``b`` were given exactly, else ``real`` with the shortest decimals that read back."""
    A_exact, b_exact = poly.A_exact, poly.b_exact
    if A_exact is not None and b_exact is not None:
        rows = [[b, *(-v for v in a)] for a, b in zip(A_exact.tolist(), b_exact.tolist())]
    else:
        rows = [[float(b), *(float(-v) for v in a)] for a, b in zip(poly.A.tolist(),
                                                                    poly.b.tolist())]
    rows, numbertype = _typed_rows(rows)
    out = [f"* {name}: the polyhedron A x <= b ({poly.kind}), written by conecore",
           "H-representation"]
    if poly.equalities:
        out.append("linearity " + " ".join(str(i) for i in
                                           [len(poly.equalities), *(i + 1 for i in
                                                                   poly.equalities)]))
    out += ["begin", f" {len(rows)} {poly.dim + 1} {numbertype}"]
    out += [" " + " ".join(literal(v) for v in row) for row in rows]
    out.append("end")
    return "\n".join(out) + "\n"


def polyhedron_to_ext(poly: Polyhedron, name: str = "polyhedron") -> str:
    """cddlib V-representation: the vertices (``1 v``), the rays (``0 r``) and the lines
    (``0 l``, listed in ``linearity``); exact when the polyhedron's input was rational. An
    empty polyhedron has no rows (``0 n``)."""
    V: Any = poly.vertices_exact if poly.vertices_exact is not None else poly.vertices
    R: Any = poly.rays_exact if poly.rays_exact is not None else poly.rays
    L: Any = poly.lines_exact if poly.lines_exact is not None else poly.lines
    rows = ([[1, *v] for v in V.tolist()] + [[0, *r] for r in R.tolist()]
            + [[0, *v] for v in L.tolist()])
    rows, numbertype = _typed_rows(rows)
    k = len(V) + len(R)
    out = [f"* {name}: generators of the polyhedron A x <= b ({poly.kind}), written by "
           "conecore", "V-representation"]
    if len(L):
        out.append("linearity " + " ".join(str(i) for i in
                                           [len(L), *range(k + 1, k + len(L) + 1)]))
    out += ["begin", f" {len(rows)} {poly.dim + 1} {numbertype}"]
    out += [" " + " ".join(literal(v) for v in row) for row in rows]
    out.append("end")
    return "\n".join(out) + "\n"

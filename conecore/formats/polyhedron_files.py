"""Polyhedra as CSV and as uploaded files.

CSV: one row ``a_1, ..., a_d, b`` per inequality ``a x <= b`` (an equality is written as the two
rows ``a, b`` and ``-a, -b``), under a ``#`` comment that says so; :func:`polyhedron_from_csv`
reads any text :func:`~conecore.parse_matrix` reads (plain rows, lists, ``;``-separated) the same
way, the last column being ``b``.

:func:`read_polyhedron_file` tells an upload's family by its name and contents: cddlib ``.ext``
(generators, V -> H), cddlib ``.ine``, JSON, or rows ``[A | b]``.

Typed text comes two ways: :func:`polyhedron_from_text` reads a whole cddlib file, or bare rows in
cddlib's own order ``b, -a_1, ..., -a_d`` (``b - a x >= 0``); :func:`polyhedron_from_A_b` reads
``A`` and ``b`` from two texts, ``b`` optional (all zeros: a cone). Both go through the one parser,
:func:`~conecore.parse_matrix`, and say which text (``A:``, ``b:``) an error is in.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from conecore.cone import DEFAULT_LIMITS, Limits
from conecore.errors import ConeInputError
from conecore.formats.cddlib import is_cddlib, polyhedron_from_ext, polyhedron_from_ine
from conecore.formats.cone_json import polyhedron_from_json
from conecore.formats.numbers import literal
from conecore.formats.parse import parse_matrix
from conecore.formats.source import check_type, decode, guarded
from conecore.polyhedron import Polyhedron


def polyhedron_to_csv(poly: Polyhedron) -> str:
    """``[A | b]`` as comma-separated rows (exact entries as integers and ``p/q``), equalities
    as two opposite rows; :func:`polyhedron_from_csv` reads it back. Without rows (the whole
    space) one row of zeros, ``0 <= 0``, keeps the dimension."""
    A = poly.A_exact if poly.A_exact is not None else poly.A
    b = poly.b_exact if poly.b_exact is not None else poly.b
    rows = []
    for i, (a, bi) in enumerate(zip(A.tolist(), b.tolist())):
        rows.append([*a, bi])
        if i in poly.equalities:
            rows.append([-v for v in [*a, bi]])
    if not rows:
        rows = [[0] * (poly.dim + 1)]
    lines = ["# A x <= b: each row is a_1, ..., a_d, b"]
    lines += [",".join(literal(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def polyhedron_from_csv(text: str | bytes, *, limits: Limits = DEFAULT_LIMITS) -> Polyhedron:
    """The polyhedron ``{x : A x <= b}`` of rows ``a_1, ..., a_d, b`` (any text
    :func:`~conecore.parse_matrix` reads; at least two columns)."""
    M = parse_matrix(text)
    if M.shape[1] < 2:
        raise ConeInputError(
            f"each row needs a_1, ..., a_d and b: at least 2 columns, not {M.shape[1]}")
    return Polyhedron.from_inequalities(M[:, :-1], M[:, -1], limits=limits)


def polyhedron_from_text(text: str | bytes, *, limits: Limits = DEFAULT_LIMITS) -> Polyhedron:
    """The polyhedron of typed text in cddlib's convention: a whole cddlib file as it is
    (``.ine``, or an ``.ext``'s generators), or bare rows ``b, -a_1, ..., -a_d`` meaning
    ``b - a x >= 0`` (cddlib's row order, ``[b | -A]``), in any layout
    :func:`~conecore.parse_matrix` reads.

    >>> polyhedron_from_text("1 -1 0; 1 1 0; 1 0 -1; 1 0 1").kind  # the square |x|, |y| <= 1
    <PolyhedronKind.POLYTOPE: 'polytope'>
    """
    check_type(text)
    decoded = guarded(decode, text)
    lines = decoded.split("\n")
    if "V-representation" in decoded[:4000]:
        return polyhedron_from_ext(decoded, limits=limits)
    if is_cddlib(decoded, lines):
        return polyhedron_from_ine(decoded, limits=limits)
    M = parse_matrix(decoded)
    if M.shape[1] < 2:
        raise ConeInputError(
            f"each row needs b and -a_1, ..., -a_d (cddlib's order): at least 2 columns, not "
            f"{M.shape[1]}")
    return Polyhedron.from_inequalities(-M[:, 1:], M[:, 0], limits=limits)  # elementwise, exact


def polyhedron_to_url_text(poly: Polyhedron) -> str:
    """The rows ``b, -a_1, ..., -a_d`` (cddlib's order) in a compact form for a URL: entries
    joined by ``,``, rows by ``;`` (the square: ``"1,-1,0;1,1,0;1,0,-1;1,0,1"``), exact entries
    as integers and ``p/q``, an equality as two opposite rows; :func:`polyhedron_from_text`
    reads it back. Without rows (the whole space) one row of zeros keeps the dimension."""
    A = poly.A_exact if poly.A_exact is not None else poly.A
    b = poly.b_exact if poly.b_exact is not None else poly.b
    rows = []
    for i, (a, bi) in enumerate(zip(A.tolist(), b.tolist())):
        rows.append([bi, *(-v for v in a)])
        if i in poly.equalities:
            rows.append([-v for v in rows[-1]])
    rows = rows or [[0] * (poly.dim + 1)]
    return ";".join(",".join(literal(v + 0) for v in row) for row in rows)  # + 0: no "-0"


def _b_vector(text: str | bytes, m: int) -> Any:
    """``b`` typed as one column, one row, or one number per line: a vector of length ``m``."""
    if not text.strip():
        return np.zeros(m, dtype=np.int64)
    try:
        M = parse_matrix(text)
    except ConeInputError as exc:
        raise ConeInputError(f"b: {exc}") from None
    if M.shape[1] == 1:
        vec = M[:, 0]
    elif M.shape[0] == 1:
        vec = M[0]
    else:
        raise ConeInputError(
            f"b: one number per row of A is needed ({m}), as a column or a row; got a "
            f"{M.shape[0]} × {M.shape[1]} matrix")
    if len(vec) != m:
        which = (f"row {len(vec) + 1} of A has no b" if len(vec) < m
                 else f"entry {m + 1} of b has no row of A")
        entries = f"{len(vec)} entr{'y' if len(vec) == 1 else 'ies'}"
        raise ConeInputError(f"b: {entries} for {m} rows of A ({which})")
    return vec


def polyhedron_from_A_b(A_text: str | bytes, b_text: str | bytes = "", *,
                        limits: Limits = DEFAULT_LIMITS) -> Polyhedron:
    """The polyhedron ``{x : A x <= b}`` of ``A`` and ``b`` typed separately: ``A`` in any layout
    :func:`~conecore.parse_matrix` reads, ``b`` one number per row of ``A`` (a column, a row, or
    a list); an empty ``b`` is all zeros, the cone ``A x <= 0``. Errors start with ``A:`` or
    ``b:`` and name the row and column.

    >>> len(polyhedron_from_A_b("1 0; -1 0; 0 1; 0 -1", "1 1 1 1").vertices)
    4
    """
    check_type(A_text)
    check_type(b_text)
    try:
        A = parse_matrix(A_text)
    except ConeInputError as exc:
        raise ConeInputError(f"A: {exc}") from None
    return Polyhedron.from_inequalities(A, _b_vector(b_text, A.shape[0]), limits=limits)


def holds_polyhedron_generators(name: str, raw: bytes) -> bool:
    """Whether ``name`` holds generators: a ``.ext``, or a file that says ``V-representation``
    in its first 4,000 bytes."""
    return name.endswith(".ext") or b"V-representation" in raw[:4000]


def read_polyhedron_file(
    name: str, raw: bytes, *, limits: Limits = DEFAULT_LIMITS
) -> Polyhedron:
    """The polyhedron in an uploaded file named ``name`` with contents ``raw``: a cddlib
    ``.ext`` (V -> H) or ``.ine``, JSON (:func:`~conecore.polyhedron_from_json`), or rows
    ``a_1, ..., a_d, b`` (:func:`polyhedron_from_csv`).

    Raises:
        ConeInputError: for a file that is not a polyhedron; the message names where.
        ConeTooLargeError, ConeTimeoutError: when the conversion is over ``limits``.
    """
    check_type(raw)
    if holds_polyhedron_generators(name, raw):
        return polyhedron_from_ext(raw, limits=limits)
    text = guarded(decode, raw)
    lines = text.split("\n")
    if name.endswith(".ine") or is_cddlib(text, lines):
        return polyhedron_from_ine(text, limits=limits)
    first = next((line.strip(" \t") for line in lines
                  if line.strip(" \t") and not line.strip(" \t").startswith("#")), "")
    if name.endswith(".json") or first.startswith("{"):
        return polyhedron_from_json(text, limits=limits)
    return polyhedron_from_csv(text, limits=limits)

"""Polyhedra as CSV and as uploaded files.

CSV: one row ``a_1, ..., a_d, b`` per inequality ``a x <= b`` (an equality is written as the two
rows ``a, b`` and ``-a, -b``), under a ``#`` comment that says so; :func:`polyhedron_from_csv`
reads any text :func:`~conecore.parse_matrix` reads (plain rows, lists, ``;``-separated) the same
way, the last column being ``b``.

:func:`read_polyhedron_file` tells an upload's family by its name and contents: cddlib ``.ext``
(generators, V -> H), cddlib ``.ine``, JSON, or rows ``[A | b]``.
"""

from __future__ import annotations

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

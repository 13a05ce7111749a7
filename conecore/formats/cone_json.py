"""JSON: the objects :func:`parse_matrix` and :func:`parse_generators` read (``{"A": ...}``,
``{"rays": ..., "lines": ...}``) and the stored cone of :func:`cone_to_json`, which
:func:`cone_from_json` rebuilds without running the double description, so a cone computed on
one machine can be used where pycddlib is not installed. Polyhedra likewise:
:func:`polyhedron_to_json` and :func:`polyhedron_from_json` (``A``, ``b``, ``equalities`` and the
vertices, rays and lines).

Numbers stay exact: they are read as literal texts by :mod:`conecore.formats.numbers`, so
``"1/3"`` (a string) and ``12345678901234567890`` keep their values.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from typing import Any

import numpy as np

from conecore.cdd_backend import DEFAULT_LIMITS, Limits
from conecore.cone import Cone
from conecore.errors import ConeInputError
from conecore.formats import source
from conecore.formats.lists import rows_from_nested
from conecore.formats.numbers import literal, read_grid
from conecore.formats.source import check_widths, guarded, list_cell, row_name
from conecore.polyhedron import Polyhedron

JSON_FORMAT = "conecore.cone/1"

_COMMENT_LINE_RE = re.compile(r"^[ \t]*#[^\n]*", re.MULTILINE)


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


def read_matrix(text: str) -> np.ndarray:
    """The matrix under key ``"A"`` of the JSON object in decoded ``text``."""
    document = _json_object(text)
    if "A" not in document:
        raise ConeInputError(f"the JSON object has no key 'A' (keys found: {_keys(document)})")
    dim = document.get("dim")  # a literal text here (parse_int=str)
    if (document["A"] == [] and isinstance(dim, str) and dim.isdigit()
            and 1 <= int(dim) <= source.MAX_ENTRIES):
        # No rows, the dimension given (the whole space, as cone_to_json writes it): one zero
        # row, as read_cone_file gives for generators of the whole space.
        return np.zeros((1, int(dim)), dtype=np.int64)
    rows = rows_from_nested(document["A"], "'A'", "", source.MAX_ENTRIES)
    return read_grid(rows, check_widths(rows, row_name), list_cell)[1]


def read_generators(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The rays and lines under keys ``"rays"`` and ``"lines"`` (optional) of the JSON object in
    decoded ``text``."""
    document = _json_object(text)
    if "rays" not in document:
        raise ConeInputError(f"the JSON object has no key 'rays' (keys found: {_keys(document)})")
    rays = rows_from_nested(document["rays"], "'rays'", "rays ", source.MAX_ENTRIES,
                            allow_empty=True)
    budget = source.MAX_ENTRIES - sum(map(len, rays))
    lines = rows_from_nested(
        document.get("lines", []), "'lines'", "lines ", budget, allow_empty=True
    )
    if not rays and not lines:
        raise ConeInputError("the JSON object lists no rays and no lines: the dimension is unknown")

    def name(i: int) -> str:
        return f"rays row {i + 1}" if i < len(rays) else f"lines row {i - len(rays) + 1}"

    width = check_widths(rays + lines, name)
    matrix = read_grid(rays + lines, width, lambda i, j: f"{name(i)}, column {j + 1}")[1]
    return matrix[: len(rays)], matrix[len(rays) :]


MAX_STORED_ENTRIES = 20_000
"""``generators="auto"`` stores the rays and lines when they have at most this many entries
(about 400 KB of text); a larger cone is stored as ``A`` alone and recomputed when read."""


def cone_to_json(cone: Cone, generators: bool | str = "auto") -> str:
    """The cone as JSON: ``A`` (exact entries as ``"p/q"`` strings or integers), the kind, and
    with ``generators`` the float rays and lines (and the exact rays when there are some).

    ``generators=True`` always stores them (a machine without pycddlib can then load the cone
    with no double description), ``False`` never, ``"auto"`` when they have at most
    ``MAX_STORED_ENTRIES`` entries: the 28 x 28 checkerboard's 768 lines in R^784 would make
    4.8 MB of text, while its ``A`` is 16 short rows and its rays take 0.05 s to recompute."""
    if generators not in (True, False, "auto"):
        raise ValueError(f"generators must be True, False or 'auto'; got {generators!r}")
    exact = cone.A_exact
    A = cone.A.tolist() if exact is None else [
        [int(v) if v.denominator == 1 else literal(v) for v in row] for row in exact.tolist()
    ]
    doc: dict[str, Any] = {"format": JSON_FORMAT, "dim": cone.dim, "kind": str(cone.kind),
                           "A": A}
    entries = (len(cone.rays) + len(cone.lines)) * cone.dim
    if generators is True or (generators == "auto" and entries <= MAX_STORED_ENTRIES):
        doc["rays"] = cone.rays.tolist()
        doc["lines"] = cone.lines.tolist()
        if cone.rays_exact is not None:
            doc["rays_exact"] = [[int(v) for v in row] for row in cone.rays_exact]
    return json.dumps(doc)


def cone_from_json(text: str | bytes, *, limits: Limits = DEFAULT_LIMITS) -> Cone:
    """Rebuild a cone written by :func:`cone_to_json` (or any JSON with an ``"A"`` field).

    ``A`` is read exactly, as :func:`parse_matrix` reads ``{"A": ...}``. With ``rays`` and
    ``lines`` present no double description runs (pycddlib is not imported):
    :meth:`Cone.from_parts` checks them against ``A``. Without them the cone is computed from
    ``A`` within ``limits``.
    """
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConeInputError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise ConeInputError("not valid JSON: nested far deeper than a matrix") from None
    if not isinstance(doc, dict) or "A" not in doc:
        raise ConeInputError("JSON must be an object with a field 'A' (the rows of A x <= 0)")
    # The one reader of {"A": ...} reads the entries and names a bad one. No rows (the whole
    # space, as cone_to_json writes it): the dimension is "dim".
    dim = doc.get("dim")
    A = _json_rows(doc, "A", dim if isinstance(dim, int) and not isinstance(dim, bool)
                   and dim >= 1 else None)
    if A.shape[1] == 0:
        raise ConeInputError("JSON field 'A' is empty and 'dim' does not give the dimension")
    if "rays" not in doc or "lines" not in doc:
        return Cone.from_inequalities(A, limits=limits)
    for key in ("rays", "lines"):
        if not isinstance(doc[key], list):
            raise ConeInputError(f"JSON field '{key}' must be a list of rows")
    try:
        return Cone.from_parts(A, doc["rays"], doc["lines"], rays_exact=doc.get("rays_exact"))
    except ConeInputError as exc:
        raise ConeInputError(f"JSON field {exc}") from None


# ---------------------------------------------------------------------------------------------
# Polyhedra

POLYHEDRON_JSON_FORMAT = "conecore.polyhedron/1"


def _cells(rows: Any) -> list[Any]:
    """Exact values as integers and ``"p/q"`` strings, floats as floats (rows or one row)."""
    def cell(v: Any) -> Any:
        if isinstance(v, Fraction):
            return int(v) if v.denominator == 1 else literal(v)
        if isinstance(v, (int, np.integer)):
            return int(v)
        return float(v)

    return [[cell(v) for v in row] if isinstance(row, list) else cell(row) for row in rows]


def polyhedron_to_json(poly: Polyhedron, generators: bool | str = "auto") -> str:
    """The polyhedron as JSON: ``A``, ``b`` and ``equalities`` (exact entries as integers or
    ``"p/q"`` strings), the kind, and with ``generators`` the vertices, rays and lines (exact
    when the input was rational), so :func:`polyhedron_from_json` needs no double description.
    ``generators``: ``True``, ``False`` or ``"auto"`` (when they have at most
    ``MAX_STORED_ENTRIES`` entries)."""
    if generators not in (True, False, "auto"):
        raise ValueError(f"generators must be True, False or 'auto'; got {generators!r}")
    A: Any = poly.A_exact if poly.A_exact is not None else poly.A
    b: Any = poly.b_exact if poly.b_exact is not None else poly.b
    doc: dict[str, Any] = {"format": POLYHEDRON_JSON_FORMAT, "dim": poly.dim,
                           "kind": str(poly.kind), "A": _cells(A.tolist()),
                           "b": _cells(b.tolist()), "equalities": list(poly.equalities)}
    entries = (len(poly.vertices) + len(poly.rays) + len(poly.lines)) * poly.dim
    if not poly.is_empty and (
            generators is True or (generators == "auto" and entries <= MAX_STORED_ENTRIES)):
        for key, exact, approx in (("vertices", poly.vertices_exact, poly.vertices),
                                   ("rays", poly.rays_exact, poly.rays),
                                   ("lines", poly.lines_exact, poly.lines)):
            doc[key] = _cells((exact if exact is not None else approx).tolist())
    return json.dumps(doc)


def _json_rows(doc: dict[str, Any], key: str, d: int | None) -> np.ndarray:
    """The matrix under ``key`` (exact entries stay exact), ``(0, d)`` when absent or empty."""
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise ConeInputError(f"JSON field '{key}' must be a list of rows")
    if not value:
        return np.zeros((0, d or 0))
    try:
        return guarded(read_matrix, json.dumps({"A": value}))
    except ConeInputError as exc:
        raise ConeInputError(
            f"JSON field '{key}' must hold numbers or 'p/q' strings in equal rows: {exc}"
        ) from None


def polyhedron_from_json(text: str | bytes, *, limits: Limits = DEFAULT_LIMITS) -> Polyhedron:
    """Rebuild a polyhedron written by :func:`polyhedron_to_json`, or read any JSON object with
    ``"A"`` and ``"b"`` (and optionally ``"equalities"``, 0-based row indices), or with
    ``"vertices"`` (and optionally ``"rays"``, ``"lines"``; V -> H).

    With ``A``, ``b`` and the vertices present no double description runs
    (:meth:`Polyhedron.from_parts` checks them); otherwise it runs within ``limits``.
    """
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConeInputError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise ConeInputError("not valid JSON: nested far deeper than a matrix") from None
    if not isinstance(doc, dict) or not ("A" in doc or "vertices" in doc):
        raise ConeInputError("JSON must be an object with fields 'A' and 'b' (the rows of "
                             "A x <= b) or a field 'vertices'")
    dim = doc.get("dim")
    d = dim if isinstance(dim, int) and not isinstance(dim, bool) and dim >= 1 else None
    if "A" not in doc:
        V = _json_rows(doc, "vertices", d)
        d = d or V.shape[1]
        return Polyhedron.from_generators(V, _json_rows(doc, "rays", d),
                                          _json_rows(doc, "lines", d), limits=limits)
    A = _json_rows(doc, "A", d)
    if A.shape[1] == 0:
        raise ConeInputError("JSON field 'A' is empty and 'dim' does not give the dimension")
    if "b" not in doc or not isinstance(doc["b"], list):
        raise ConeInputError("JSON field 'b' is missing: a list with one number per row of 'A'")
    b_rows = _json_rows({"b": [doc["b"]]} if doc["b"] else {}, "b", 0)
    b = b_rows[0] if len(b_rows) else np.zeros(0)
    if len(b) != A.shape[0]:
        raise ConeInputError(f"JSON field 'b' has {len(b)} entries but 'A' has {A.shape[0]} rows")
    eq = doc.get("equalities", [])
    if not isinstance(eq, list) or not all(isinstance(i, int) and not isinstance(i, bool)
                                           for i in eq):
        raise ConeInputError("JSON field 'equalities' must be a list of 0-based row indices")
    d = A.shape[1]
    V = _json_rows(doc, "vertices", d)
    if not len(V):
        return Polyhedron.from_inequalities(A, b, equalities=eq, limits=limits)
    try:
        return Polyhedron.from_parts(A, b, V, _json_rows(doc, "rays", d),
                                     _json_rows(doc, "lines", d), equalities=eq)
    except ConeInputError as exc:
        raise ConeInputError(f"JSON field {exc}") from None

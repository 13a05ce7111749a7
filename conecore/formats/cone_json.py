"""JSON: the objects :func:`parse_matrix` and :func:`parse_generators` read (``{"A": ...}``,
``{"rays": ..., "lines": ...}``) and the stored cone of :func:`cone_to_json`, which
:func:`cone_from_json` rebuilds without running the double description, so a cone computed on
one machine can be used where pycddlib is not installed.

Numbers stay exact: they are read as literal texts by :mod:`conecore.formats.numbers`, so
``"1/3"`` (a string) and ``12345678901234567890`` keep their values.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from conecore.cdd_backend import DEFAULT_LIMITS, Limits
from conecore.cone import Cone
from conecore.errors import ConeInputError
from conecore.formats import source
from conecore.formats.lists import rows_from_nested
from conecore.formats.numbers import literal, read_grid
from conecore.formats.source import check_widths, guarded, list_cell, row_name

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
    try:  # the one reader of {"A": ...} reads the entries and names a bad one
        A = guarded(read_matrix, json.dumps({"A": doc["A"]}))
    except ConeInputError as exc:
        raise ConeInputError(
            f"JSON field 'A' must hold numbers or 'p/q' strings in equal rows: {exc}"
        ) from None
    if "rays" not in doc or "lines" not in doc:
        return Cone.from_inequalities(A, limits=limits)
    for key in ("rays", "lines"):
        if not isinstance(doc[key], list):
            raise ConeInputError(f"JSON field '{key}' must be a list of rows")
    try:
        return Cone.from_parts(A, doc["rays"], doc["lines"], rays_exact=doc.get("rays_exact"))
    except ConeInputError as exc:
        raise ConeInputError(f"JSON field {exc}") from None

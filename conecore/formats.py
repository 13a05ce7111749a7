"""Writers for a cone (cddlib ``.ine`` and ``.ext``, CSV, JSON), the JSON reader and the reader
of an uploaded file.

Reading text is :mod:`conecore.parsing`'s job (one parser for every format); this module writes
what it reads back, and :func:`read_cone_file` decides whether a file holds inequalities or
generators. Exact cones are written with integers and fractions, float cones with the
shortest decimal that reads back to the same float.

:func:`cone_from_json` rebuilds a cone from its stored rays and lines without running the double
description, so a cone computed on one machine can be used where pycddlib is not installed.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import numpy as np

from conecore.cdd_backend import DEFAULT_LIMITS, Limits
from conecore.cone import Cone, validate_matrix
from conecore.errors import ConeInputError
from conecore.parsing import parse_generators, parse_matrix

JSON_FORMAT = "conecore.cone/1"


def _fmt(v: Any) -> str:
    if isinstance(v, Fraction):
        return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return repr(float(v))


def _exact_A(cone: Cone) -> list[list[Any]] | None:
    exact = cone.A_exact
    return None if exact is None else exact.tolist()


def _rows_of(obj: Cone | Any) -> tuple[list[list[Any]], str]:
    """The rows of ``A`` (exact when they were given exactly) and cddlib's number type."""
    if isinstance(obj, Cone):
        exact = _exact_A(obj)
        if exact is not None:
            return exact, _number_type(exact)
        return obj.A.tolist(), "real"
    A, given, rational = validate_matrix(obj, "A")
    if rational:
        rows = [[Fraction(v) for v in row] for row in given]
        return rows, _number_type(rows)
    return A.tolist(), "real"


def _number_type(rows: list[list[Any]]) -> str:
    if all(Fraction(v).denominator == 1 for row in rows for v in row):
        return "integer"
    return "rational"


def to_ine(cone: Cone | Any, name: str = "cone") -> str:
    """cddlib H-representation of ``A x <= 0``: each row ``0  -a_i`` (``b - A x >= 0``)."""
    rows, number_type = _rows_of(cone)
    d = len(rows[0]) if rows else (cone.dim if isinstance(cone, Cone) else 0)
    lines = [f"* {name}: the cone A x <= 0, written by conecore", "H-representation", "begin",
             f" {len(rows)} {d + 1} {number_type}"]
    lines += [" 0 " + " ".join(_fmt(-Fraction(v) if number_type != "real" else -v) for v in row)
              for row in rows]
    lines.append("end")
    return "\n".join(lines) + "\n"


def to_ext(cone: Cone, name: str = "cone") -> str:
    """cddlib V-representation: the origin as a vertex, then the rays (``0 r``) and the lines
    (``0 l``, listed in the ``linearity`` line)."""
    rays = cone.rays_exact if cone.rays_exact is not None else cone.rays
    lines_ = cone.lines_exact if cone.lines_exact is not None else cone.lines
    exact = cone.rays_exact is not None
    number_type = "integer" if exact else "real"
    k, ell, d = len(rays), len(lines_), cone.dim
    out = [f"* {name}: generators of the cone A x <= 0, written by conecore", "V-representation"]
    if ell:
        out.append("linearity " + " ".join(str(i) for i in [ell, *list(range(k + 2, k + ell + 2))]))
    out += ["begin", f" {1 + k + ell} {d + 1} {number_type}", " 1 " + " ".join(["0"] * d)]
    for row in list(rays) + list(lines_):
        out.append(" 0 " + " ".join(_fmt(v) for v in row))
    out.append("end")
    return "\n".join(out) + "\n"


def to_csv(cone: Cone | Any) -> str:
    """``A`` as comma-separated rows (fractions as ``p/q``); :func:`parse_matrix` reads it."""
    rows, _ = _rows_of(cone)
    return "\n".join(",".join(_fmt(v) for v in row) for row in rows) + "\n"


def cone_to_json(cone: Cone) -> str:
    """The cone as JSON: ``A`` (exact entries as ``"p/q"`` strings or integers), the float rays
    and lines, the exact rays when there are some, and the kind."""
    exact = _exact_A(cone)
    A = [[int(v) if v.denominator == 1 else _fmt(v) for v in row] for row in exact] if exact \
        else cone.A.tolist()
    doc: dict[str, Any] = {
        "format": JSON_FORMAT,
        "dim": cone.dim,
        "kind": str(cone.kind),
        "A": A,
        "rays": cone.rays.tolist(),
        "lines": cone.lines.tolist(),
    }
    if cone.rays_exact is not None:
        doc["rays_exact"] = [[int(v) for v in row] for row in cone.rays_exact]
    return json.dumps(doc)


def _field_matrix(doc: dict[str, Any], key: str, d: int | None) -> np.ndarray:
    value = doc[key]
    if not isinstance(value, list) or not all(isinstance(r, list) for r in value):
        raise ConeInputError(f"JSON field '{key}' must be a list of rows")
    if not value:
        return np.zeros((0, d or 0))
    try:
        arr = np.array(value, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        raise ConeInputError(
            f"JSON field '{key}' must hold rows of numbers of equal length"
        ) from None
    if arr.ndim != 2 or (d is not None and arr.shape[1] != d):
        raise ConeInputError(f"JSON field '{key}' must have rows of length {d}")
    if not np.all(np.isfinite(arr)):
        raise ConeInputError(f"JSON field '{key}' holds NaN or infinity")
    return arr


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


def cone_from_json(text: str | bytes, *, limits: Limits = DEFAULT_LIMITS) -> Cone:
    """Rebuild a cone written by :func:`cone_to_json` (or any JSON with an ``"A"`` field).

    With ``rays`` and ``lines`` present no double description runs (pycddlib is not imported);
    they are checked against ``A``. Without them the cone is computed from ``A`` within
    ``limits``.
    """
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConeInputError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise ConeInputError("not valid JSON: nested far deeper than a matrix") from None
    if not isinstance(doc, dict) or "A" not in doc:
        raise ConeInputError("JSON must be an object with a field 'A' (the rows of A x <= 0)")
    if "rays" not in doc or "lines" not in doc:
        return Cone.from_inequalities(parse_matrix(json.dumps({"A": doc["A"]})), limits=limits)
    A_rows = doc["A"]
    if not isinstance(A_rows, list) or not A_rows or not isinstance(A_rows[0], list):
        raise ConeInputError("JSON field 'A' must be a non-empty list of rows")
    try:  # the one parser reads the entries and names a bad one
        A_exact = parse_matrix(json.dumps({"A": A_rows}))
        A = np.asarray(A_exact, dtype=np.float64)
    except ConeInputError as exc:
        raise ConeInputError(
            f"JSON field 'A' must hold numbers or 'p/q' strings in equal rows: {exc}"
        ) from None
    for key in ("rays", "lines"):
        _field_matrix(doc, key, A.shape[1])  # names the JSON field of a malformed part
    try:
        return Cone.from_parts(A_exact, doc["rays"], doc["lines"],
                               rays_exact=doc.get("rays_exact"))
    except ConeInputError as exc:
        raise ConeInputError(f"JSON field {exc}") from None


def read_cone_file(
    name: str, raw: bytes, *, homogenize: bool = False, limits: Limits = DEFAULT_LIMITS
) -> np.ndarray:
    """The matrix ``A`` of the cone in an uploaded file named ``name`` with contents ``raw``.

    A file holds generators when it is a ``.ext``, says ``V-representation`` in its first
    4,000 bytes, or is a ``.json`` with ``"rays"`` and without ``"A"``: its rays and lines are
    read by :func:`~conecore.parsing.parse_generators` and turned into exact integer facet
    normals (V -> H, within ``limits``); generators of the whole space give one zero row.
    Anything else is read by :func:`~conecore.parsing.parse_matrix` (``homogenize`` as there).

    Raises:
        ConeInputError: for a file that is not a cone; the message names the line and column.
        ConeTooLargeError, ConeTimeoutError: when the V -> H conversion is over ``limits``.
    """
    if name.endswith(".ext") or b"V-representation" in raw[:4000] or (
            name.endswith(".json") and b'"rays"' in raw and b'"A"' not in raw):
        rays, lines = parse_generators(raw)
        cone = Cone.from_generators(rays, lines, limits=limits)
        exact = _exact_A(cone)
        if not len(cone.A):
            return np.zeros((1, cone.dim), dtype=np.int64)
        if exact is None:  # pragma: no cover - from_generators always keeps the exact normals
            return cone.A
        normals = [[int(v) for v in row] for row in exact]  # integers: primitive normals
        try:
            return np.array(normals, dtype=np.int64)
        except OverflowError:
            return np.array(normals, dtype=object)
    return parse_matrix(raw, homogenize=homogenize)


def matrix_cells(cone: Cone | Any) -> list[list[str]]:
    """The entries of ``A`` as short strings (``"1"``, ``"-2/3"``, ``"0.1"``), one list per
    row: exact entries as integers and fractions, floats as the shortest decimal that reads
    back to the same float. Tables and text boxes show these; :func:`parse_matrix` reads them."""
    rows, _ = _rows_of(cone)
    return [[_fmt(v) for v in row] for row in rows]


def to_url_text(cone: Cone | Any) -> str:
    """``A`` in a compact form for a URL: entries joined by ``,``, rows by ``;``
    (``"1,-2;-3,1"``); read back with :func:`from_url_text`."""
    return ";".join(",".join(row) for row in matrix_cells(cone))


def from_url_text(text: str) -> np.ndarray:
    """The matrix of :func:`to_url_text`, read by the one parser (rows become lines)."""
    return parse_matrix(text.replace(";", "\n"))

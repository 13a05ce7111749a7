"""The one entry for reading cone text: :func:`parse_matrix` and :func:`parse_generators` tell
which family a text belongs to and hand it to that family's reader.

* a line ``begin`` or ``H-representation`` / ``V-representation``: cddlib
  (:mod:`conecore.formats.cddlib`);
* a text that starts with ``{``: a JSON object (:mod:`conecore.formats.cone_json`);
* anything else: plain rows, a bracketed matrix or a Python/JSON list
  (:mod:`conecore.formats.text`).

Numbers and the dtype of the result follow :mod:`conecore.formats.numbers`. Every problem with
the input raises :class:`~conecore.errors.ConeInputError` whose message says where
(``line 4 (row 3), column 2: ...`` for row-based text, ``row 3, column 2: ...`` for lists) and
why. No other exception escapes for ``str`` or ``bytes`` input.
"""

from __future__ import annotations

import numpy as np

from conecore.errors import ConeInputError
from conecore.formats import cddlib, cone_json
from conecore.formats.source import check_type, decode, guarded
from conecore.formats.text import read_text


def parse_matrix(text: str | bytes, *, homogenize: bool = False) -> np.ndarray:
    """The matrix ``A`` (``m x d``) of the cone ``{x : A x <= 0}`` written in ``text``.

    The format (plain rows, a bracketed matrix, Python/JSON lists, a JSON object with key
    ``"A"``, cddlib ``.ine``) is detected. A cddlib row ``b -a_1 ... -a_d`` means ``a x <= b``,
    so it gives the row ``a``; rows listed in ``linearity`` are equalities and give ``a``
    followed by ``-a``. An ``.ine`` with some ``b != 0`` describes a polyhedron: that is an
    error unless ``homogenize=True``, which returns the cone over it in dimension ``d + 1``
    (coordinates ``(x, t)``): rows ``[a_i, -b_i]`` and a last row ``[0, ..., 0, -1]``.
    ``homogenize`` has no effect on the other formats, which describe a cone already.

    >>> parse_matrix("1 0  # x1 <= 0\\n0, 1")
    array([[1, 0],
           [0, 1]])
    >>> parse_matrix("[1 2; -1 0]")
    array([[ 1,  2],
           [-1,  0]])
    >>> parse_matrix("[[1, 1/2]]")
    array([[Fraction(1, 1), Fraction(1, 2)]], dtype=object)
    >>> parse_matrix("begin\\n1 3 integer\\n2 1 0\\nend", homogenize=True)
    array([[-1,  0, -2],
           [ 0,  0, -1]])

    Raises:
        ConeInputError: for any bad input; the message names the line, row and column.
        TypeError: when ``text`` is neither ``str`` nor ``bytes``.
    """
    check_type(text)
    return guarded(_parse_matrix, text, homogenize)


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
    check_type(text)
    return guarded(_parse_generators, text)


def _parse_matrix(text: str | bytes, homogenize: bool) -> np.ndarray:
    source = decode(text)
    lines = source.split("\n")
    family = _family(source, lines)
    if family == "cddlib":
        return cddlib.read_ine(lines, homogenize)
    if family == "json":
        return cone_json.read_matrix(source)
    return read_text(source)


def _parse_generators(text: str | bytes) -> tuple[np.ndarray, np.ndarray]:
    source = decode(text)
    lines = source.split("\n")
    family = _family(source, lines)
    if family == "cddlib":
        return cddlib.read_ext(lines)
    if family == "json":
        return cone_json.read_generators(source)
    rays = read_text(source)
    return rays, rays[:0].copy()


def _family(source: str, lines: list[str]) -> str:
    """``"cddlib"``, ``"json"`` (an object) or ``"text"``."""
    if cddlib.is_cddlib(source, lines):
        return "cddlib"
    for line in lines:
        body = line.strip(" \t")
        if body and not body.startswith("#"):
            return "json" if body[0] == "{" else "text"
    raise ConeInputError("the input is empty (nothing but whitespace and comments)")

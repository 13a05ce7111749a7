"""An uploaded file: whether it holds inequalities or generators, and the matrix ``A`` either
way (generators are turned into facet normals, V -> H)."""

from __future__ import annotations

import numpy as np

from conecore.cdd_backend import DEFAULT_LIMITS, Limits
from conecore.cone import Cone
from conecore.formats.parse import parse_generators, parse_matrix


def holds_generators(name: str, raw: bytes) -> bool:
    """Whether the file ``name`` holds generators: a ``.ext``, a file that says
    ``V-representation`` in its first 4,000 bytes, or a ``.json`` with ``"rays"`` and
    without ``"A"``."""
    return (name.endswith(".ext") or b"V-representation" in raw[:4000]
            or (name.endswith(".json") and b'"rays"' in raw and b'"A"' not in raw))


def read_cone_file(
    name: str, raw: bytes, *, homogenize: bool = False, limits: Limits = DEFAULT_LIMITS
) -> np.ndarray:
    """The matrix ``A`` of the cone in an uploaded file named ``name`` with contents ``raw``.

    A file that :func:`holds_generators` is read by :func:`parse_generators` and its rays and
    lines are turned into exact integer facet normals (V -> H, within ``limits``); generators
    of the whole space give one zero row. Anything else is read by :func:`parse_matrix`
    (``homogenize`` as there).

    Raises:
        ConeInputError: for a file that is not a cone; the message names the line and column.
        ConeTooLargeError, ConeTimeoutError: when the V -> H conversion is over ``limits``.
    """
    if not holds_generators(name, raw):
        return parse_matrix(raw, homogenize=homogenize)
    rays, lines = parse_generators(raw)
    cone = Cone.from_generators(rays, lines, limits=limits)
    if not len(cone.A):
        return np.zeros((1, cone.dim), dtype=np.int64)
    exact = cone.A_exact
    if exact is None:  # pragma: no cover - from_generators always keeps the exact normals
        return cone.A
    normals = [[int(v) for v in row] for row in exact.tolist()]  # integers: primitive normals
    try:
        return np.array(normals, dtype=np.int64)
    except OverflowError:
        return np.array(normals, dtype=object)

"""Named example cones, each with a one-line description.

Every preset builds its ``A`` (for ``A x <= 0``) from a few parameters; integer presets are
exact. ``preset(name, **params)`` returns the matrix; ``PRESETS[name]`` holds the description and
the default parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from conecore.errors import ConeInputError
from conecore.painting import Painting


def orthant(d: int = 3) -> np.ndarray:
    """x_i >= 0 for every i."""
    return -np.eye(d, dtype=np.int64)


def monotone(d: int = 4) -> np.ndarray:
    """x_1 <= x_2 <= ... <= x_d: rows e_i - e_{i+1}."""
    A = np.zeros((d - 1, d), dtype=np.int64)
    for i in range(d - 1):
        A[i, i], A[i, i + 1] = 1, -1
    return A


def wedge_2d() -> np.ndarray:
    """The wedge between the rays (2, 1) and (1, 3)."""
    return np.array([[1, -2], [-3, 1]], dtype=np.int64)


def square_pyramid() -> np.ndarray:
    """|x| <= z and |y| <= z: rays (+-1, +-1, 1)."""
    return np.array([[1, 0, -1], [-1, 0, -1], [0, 1, -1], [0, -1, -1]], dtype=np.int64)


def redundant_pyramid() -> np.ndarray:
    """The square pyramid with two implied rows: z >= 0 and a repeated facet."""
    return np.vstack([square_pyramid(), [[0, 0, -1], [2, 0, -2]]])


def ice_cream(k: int = 8) -> np.ndarray:
    """k facets tangent to the Lorentz cone sqrt(x^2 + y^2) <= z."""
    theta = 2 * math.pi * np.arange(k) / k
    return np.column_stack([np.cos(theta), np.sin(theta), -np.ones(k)])


def half_space(d: int = 3) -> np.ndarray:
    """x_d >= 0: one ray and d - 1 lines."""
    A = np.zeros((1, d), dtype=np.int64)
    A[0, -1] = -1
    return A


def wedge_times_line() -> np.ndarray:
    """The 2-D wedge extended along the free z axis: 2 rays and 1 line."""
    return np.array([[1, -2, 0], [-3, 1, 0]], dtype=np.int64)


def only_origin() -> np.ndarray:
    """x + y <= 0, x >= 0, y >= 0: nothing but the origin."""
    return np.array([[1, 1], [-1, 0], [0, -1]], dtype=np.int64)


def whole_space(d: int = 2) -> np.ndarray:
    """A zero row constrains nothing."""
    return np.zeros((1, d), dtype=np.int64)


def octahedral() -> np.ndarray:
    """+-x +- y +- z <= w: a degenerate 4-D cone (each of its 6 rays is on 4 facets)."""
    signs = [(a, b, c) for a in (1, -1) for b in (1, -1) for c in (1, -1)]
    return np.array([[a, b, c, -1] for a, b, c in signs], dtype=np.int64)


def checkerboard(image: int = 8, block: int = 2) -> np.ndarray:
    """The paper's constraint: each block x block patch of an image x image picture sums to a
    sign that alternates like a checkerboard (row k: s_k * sum(patch k) <= 0). The rows of the
    checkerboard :class:`~conecore.painting.Painting`, the one place they are built."""
    return Painting.checkerboard(image, block).rows()


@dataclass(frozen=True)
class Preset:
    """A named example: ``build(**params)`` gives ``A``."""

    name: str
    title: str
    description: str
    build: Callable[..., np.ndarray]
    params: dict[str, Any] = field(default_factory=dict)

    def matrix(self, **params: Any) -> np.ndarray:
        return self.build(**{**self.params, **params})


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset("orthant", "Non-negative orthant", "x >= 0 in every coordinate: d rays, "
               "the unit vectors.", orthant, {"d": 3}),
        Preset("monotone", "Monotone cone", "x1 <= x2 <= ... <= xd: d - 1 rays and the line "
               "(1, ..., 1).", monotone, {"d": 4}),
        Preset("wedge", "2-D wedge", "The wedge between the rays (2, 1) and (1, 3).", wedge_2d),
        Preset("pyramid", "Square pyramid", "A cone over a square in 3-D: |x| <= z, |y| <= z, "
               "four rays.", square_pyramid),
        Preset("redundant-pyramid", "Pyramid with redundant rows", "The square pyramid plus "
               "z >= 0 and a doubled facet, both implied by the others.", redundant_pyramid),
        Preset("ice-cream", "Ice-cream cone (polyhedral)", "k facets tangent to the Lorentz cone "
               "sqrt(x^2 + y^2) <= z: k rays.", ice_cream, {"k": 8}),
        Preset("half-space", "Half-space", "x_d >= 0: one ray and d - 1 lines.", half_space,
               {"d": 3}),
        Preset("wedge-line", "Wedge times a line", "The 2-D wedge extended along the free z "
               "axis: 2 rays and a lineality space of dimension 1.", wedge_times_line),
        Preset("only-origin", "Only the origin", "x + y <= 0 with x, y >= 0: the cone is {0}.",
               only_origin),
        Preset("whole-space", "Whole space", "A single zero row: every point is feasible.",
               whole_space, {"d": 2}),
        Preset("octahedral", "Octahedral cone (degenerate, 4-D)", "+-x +- y +- z <= w: 8 facets, "
               "6 rays, each ray on 4 facets.", octahedral),
        Preset("checkerboard-8", "Checkerboard, 8 x 8", "The paper's constraint on 8 x 8 images: "
               "16 blocks of 2 x 2 with alternating sums; 16 rays, 48 lines.", checkerboard,
               {"image": 8, "block": 2}),
        Preset("checkerboard-28", "Checkerboard, 28 x 28", "The paper's constraint on 28 x 28 "
               "images: 16 blocks of 7 x 7; 16 rays, 768 lines.", checkerboard,
               {"image": 28, "block": 7}),
    ]
}


def preset(name: str, **params: Any) -> np.ndarray:
    """The matrix ``A`` of the preset ``name`` (see ``PRESETS``), with optional parameters."""
    if name not in PRESETS:
        raise ConeInputError(f"unknown preset '{name}'; choose one of: {', '.join(PRESETS)}")
    p = PRESETS[name]
    unknown = set(params) - set(p.params)
    if unknown:
        raise ConeInputError(
            f"preset '{name}' has no parameter {', '.join(sorted(unknown))}; "
            f"it takes: {', '.join(p.params) or 'none'}"
        )
    for key, value in params.items():
        if not isinstance(value, int) or value < 1 or value > 4096:
            raise ConeInputError(f"preset '{name}': {key} must be an integer from 1 to 4096")
    return p.matrix(**params)


def _ine(rows: list[list[int]], name: str, linearity: list[int] | None = None) -> str:
    """A cddlib H-representation: rows ``b  -a_1 ... -a_d`` (``b - A x >= 0``)."""
    head = [f"* {name}", "H-representation"]
    if linearity:
        head.append("linearity " + " ".join(str(v) for v in [len(linearity), *linearity]))
    body = [f" {len(rows)} {len(rows[0])} integer"] + [" " + " ".join(map(str, r)) for r in rows]
    return "\n".join([*head, "begin", *body, "end"]) + "\n"


POLYHEDRA: dict[str, tuple[str, str, str]] = {
    # name: (title, description, cddlib .ine text: each row is b then -a, i.e. b - a.x >= 0)
    "square": ("Square [-1, 1]²", "The box |x| <= 1, |y| <= 1: 4 vertices, no ray.",
               _ine([[1, -1, 0], [1, 1, 0], [1, 0, -1], [1, 0, 1]], "the square")),
    "triangle": ("Triangle", "x >= 0, y >= 0, x + y <= 1: the 2-D simplex, 3 vertices.",
                 _ine([[0, 1, 0], [0, 0, 1], [1, -1, -1]], "the triangle")),
    "hexagon": ("Hexagon (a cddlib file)", "Six inequalities written as cddlib writes them "
                "(b first): 6 vertices.",
                _ine([[2, -1, 0], [2, 1, 0], [2, 0, -1], [2, 0, 1], [3, -1, -1], [3, 1, 1]],
                     "a hexagon")),
    "quadrant": ("Shifted quadrant", "x >= 1, y >= -1: one vertex and two rays (unbounded).",
                 _ine([[-1, 1, 0], [1, 0, 1]], "a shifted quadrant")),
    "strip": ("Strip", "-1 <= x <= 1: no vertex of its own; two points on its axis plus a "
              "line.", _ine([[1, -1, 0], [1, 1, 0]], "a strip")),
    "cube": ("Cube [-1, 1]³", "8 vertices, 6 facets.",
             _ine([[1, -1, 0, 0], [1, 1, 0, 0], [1, 0, -1, 0], [1, 0, 1, 0], [1, 0, 0, -1],
                   [1, 0, 0, 1]], "the cube")),
    "octahedron": ("Octahedron", "|x| + |y| + |z| <= 1: the 3-D cross-polytope, 6 vertices, 8 "
                   "facets.", _ine([[1, -sx, -sy, -sz] for sx in (1, -1) for sy in (1, -1)
                                    for sz in (1, -1)], "the octahedron")),
    "probability": ("Probability vectors (3 outcomes)", "p >= 0, p1 + p2 + p3 = 1 (an "
                    "equality: cddlib's linearity): a triangle in space, 3 vertices.",
                    _ine([[1, -1, -1, -1], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
                         "probability vectors", linearity=[1])),
    "tesseract": ("Hypercube [-1, 1]⁴ (4-D)", "The 4-D cube: 16 vertices, 8 facets, drawn as its "
                  "shadow on 2 or 3 chosen coordinates.",
                  _ine([[1, *(-s if j == i else 0 for j in range(4))] for i in range(4)
                        for s in (1, -1)], "the 4-D cube")),
    "probability-4": ("Probability vectors (4 outcomes, 4-D)", "p >= 0, p1 + ... + p4 = 1: a "
                      "tetrahedron in R^4, 4 vertices; its shadow on p1, p2, p3 is a "
                      "tetrahedron too.",
                      _ine([[1, -1, -1, -1, -1], *([0] + [int(j == i) for j in range(4)]
                                                  for i in range(4))],
                           "probability vectors in R^4", linearity=[1])),
}
"""Example polyhedra ``{x : A x <= b}`` as cddlib ``.ine`` text, for the Polyhedra page."""

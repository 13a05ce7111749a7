r"""The double description method, one constraint at a time, for teaching.

Motzkin's iteration as in Fukuda and Prodon, "Double description method revisited" (1996), in
exact rational arithmetic. The cone starts as the whole space :math:`\mathbb{R}^d` (lines
:math:`e_1, \dots, e_d`, no rays). Adding :math:`a \cdot x \le 0`:

* If some line :math:`l` has :math:`a \cdot l \ne 0`, the lineality space shrinks: every other
  line and every ray is moved along :math:`l` onto :math:`a \cdot x = 0`, and :math:`\pm l`
  (the side with :math:`a \cdot x < 0`) becomes a new ray.
* Otherwise the rays split into :math:`R^+` (:math:`a \cdot r > 0`, dropped), :math:`R^0` and
  :math:`R^-` (kept); each *adjacent* pair :math:`p \in R^+, n \in R^-` gives a new ray
  :math:`(a \cdot p)\, n - (a \cdot n)\, p` on the hyperplane :math:`a \cdot x = 0`.

Adjacency uses the **combinatorial test**: :math:`p` and :math:`n` are adjacent when no third
ray is tight on every constraint (added so far) on which both are tight, i.e. no :math:`r` with
:math:`Z(p) \cap Z(n) \subseteq Z(r)`. Every step records what changed, for the step-by-step
page. A polyhedron ``A x <= b`` steps through the cone over it (:func:`polyhedron_steps`).
Bounded to small problems (``d <= 6``, ``m <= 30``); the library's conversion
(:meth:`conecore.Cone.from_inequalities`) handles the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from conecore.cone import validate_matrix
from conecore.errors import ConeTooLargeError
from conecore.exact import primitive, solve

MAX_DIM = 6
MAX_ROWS = 30

Vector = tuple[int, ...]


def _dot(a: tuple, x: tuple) -> Fraction:
    return sum((Fraction(u) * v for u, v in zip(a, x)), Fraction(0))


@dataclass(frozen=True)
class Step:
    """What adding one constraint did: ``row`` (0-based index into ``A``), the rays ``kept``,
    ``dropped`` and ``born`` (each born ray with the ``parents`` pair it came from), the lines
    after the step, and whether a line was turned into a ray (``line_to_ray``)."""

    row: int
    normal: Vector
    kept: list[Vector]
    dropped: list[Vector]
    born: list[Vector]
    parents: list[tuple[Vector, Vector]]
    lines: list[Vector]
    line_to_ray: Vector | None = None
    pairs_tested: int = 0

    @property
    def rays(self) -> list[Vector]:
        """The rays after this step."""
        return self.kept + self.born

    def sentence(self) -> str:
        """One sentence for the page."""
        a = f"a{self.row + 1}"
        if self.line_to_ray is not None:
            return (f"{a} is not orthogonal to a line, so that line splits: its half with "
                    f"{a}·x < 0 becomes a ray, and the lineality space loses a dimension.")
        if not self.dropped:
            return f"{a}·x ≤ 0 holds for every ray already: nothing is cut off."
        return (f"{a} cuts off {len(self.dropped)} ray(s); {len(self.kept)} stay, and "
                f"{len(self.born)} new ray(s) are born on the hyperplane {a}·x = 0 from "
                f"adjacent pairs ({self.pairs_tested} pairs tested).")


@dataclass
class DoubleDescription:
    """The iteration's state and its history. Build with :func:`double_description`."""

    A: list[Vector]
    order: list[int]
    steps: list[Step] = field(default_factory=list)

    @property
    def rays(self) -> list[Vector]:
        return self.steps[-1].rays if self.steps else []

    @property
    def lines(self) -> list[Vector]:
        d = len(self.A[0]) if self.A else 0
        if self.steps:
            return self.steps[-1].lines
        return [tuple(int(i == j) for j in range(d)) for i in range(d)]


def _tight(x: Vector, rows: list[Vector]) -> frozenset[int]:
    return frozenset(i for i, a in enumerate(rows) if _dot(a, x) == 0)


def double_description(A: Any, order: list[int] | None = None) -> DoubleDescription:
    """Run the iteration over the rows of ``A`` (in ``order``, default 0, 1, ...)."""
    _, given, _ = validate_matrix(A, "A")
    rows = [tuple(primitive(row)) for row in given]
    m, d = len(rows), len(rows[0]) if rows else 0
    if d > MAX_DIM or m > MAX_ROWS:
        raise ConeTooLargeError(
            f"the step-by-step method is for small cones (d <= {MAX_DIM}, at most {MAX_ROWS} "
            f"rows); this one has d = {d} and {m} rows"
        )
    order = list(range(m)) if order is None else list(order)
    if sorted(order) != list(range(m)):
        raise ConeTooLargeError(f"order must be a permutation of 0..{m - 1}; got {order}")
    dd = DoubleDescription(rows, order)
    lines: list[Vector] = [tuple(int(i == j) for j in range(d)) for i in range(d)]
    rays: list[Vector] = []
    added: list[Vector] = []
    for idx in order:
        a = rows[idx]
        added.append(a)
        pivot = next((ell for ell in lines if _dot(a, ell) != 0), None)
        if pivot is not None:
            al = _dot(a, pivot)

            def shift(x: Vector, pivot: Vector = pivot, al: Fraction = al, a: Vector = a) -> Vector:
                c = _dot(a, x) / al
                return tuple(primitive([Fraction(u) - c * v for u, v in zip(x, pivot)]))

            new_lines = [shift(ell) for ell in lines if ell != pivot]
            new_ray = tuple(v if al < 0 else -v for v in pivot)
            kept = [shift(r) for r in rays]
            lines, rays = new_lines, [*kept, new_ray]
            dd.steps.append(Step(idx, a, kept, [], [new_ray], [], list(lines), new_ray))
            continue
        values = {r: _dot(a, r) for r in rays}
        plus = [r for r in rays if values[r] > 0]
        minus = [r for r in rays if values[r] < 0]
        zero = [r for r in rays if values[r] == 0]
        zsets = {r: _tight(r, added[:-1]) for r in rays}
        born, parents, tested = [], [], 0
        for p in plus:
            for n in minus:
                tested += 1
                common = zsets[p] & zsets[n]
                if any(common <= zsets[r] for r in rays if r not in (p, n)):
                    continue
                new = tuple(primitive([values[p] * v - values[n] * u for u, v in zip(p, n)]))
                if any(new):
                    born.append(new)
                    parents.append((p, n))
        kept = minus + zero
        rays = kept + born
        dd.steps.append(Step(idx, a, kept, plus, born, parents, list(lines),
                             pairs_tested=tested))
    return dd


# ---------------------------------------------------------------------- polyhedra
@dataclass(frozen=True)
class PolyhedronStep:
    r"""The polyhedron of the constraints added so far, read off one step of the iteration on
    the cone over it (:math:`\{(x, s) : A x - b s \le 0,\ s \ge 0\}`): a ray ``(x, s)`` with
    ``s > 0`` is the vertex ``x / s``, one with ``s = 0`` a recession ray.

    ``row`` is the 0-based index of the inequality just added (``None`` at the start, the whole
    space). Vertices (exact ``Fraction`` tuples) and rays (primitive integer tuples) are those
    of the pointed part, orthogonal to the ``lines``, as :class:`conecore.Polyhedron` holds
    them; ``dropped_*`` were cut off by this constraint and ``born_*`` appeared on its boundary.
    """

    row: int | None
    vertices: list[tuple[Fraction, ...]]
    rays: list[Vector]
    lines: list[Vector]
    dropped_vertices: list[tuple[Fraction, ...]] = field(default_factory=list)
    dropped_rays: list[Vector] = field(default_factory=list)
    born_vertices: list[tuple[Fraction, ...]] = field(default_factory=list)
    born_rays: list[Vector] = field(default_factory=list)
    line_split: bool = False

    @property
    def is_empty(self) -> bool:
        return not self.vertices

    def sentence(self) -> str:
        """One sentence for the page."""
        if self.row is None:
            return ("No constraint yet: the whole space, its lines e1, …, ed through the "
                    "origin (the one vertex of the pointed part).")
        if self.is_empty:
            return "It contradicts the ones before: no point is left, the polyhedron is empty."
        if self.line_split:
            return ("It is not parallel to every line: a line splits, its half inside becomes a "
                    "ray, and the vertices move onto the new boundary.")

        def counts(vertices: list, rays: list) -> str:
            parts = [f"{n} {one if n == 1 else many}" for n, one, many in (
                (len(vertices), "vertex", "vertices"), (len(rays), "ray", "rays")) if n]
            return " and ".join(parts)

        if not (self.dropped_vertices or self.dropped_rays):
            return "It holds at every vertex and along every ray already: nothing is cut off."
        born = counts(self.born_vertices, self.born_rays)
        return (f"It cuts off {counts(self.dropped_vertices, self.dropped_rays)}; "
                + (f"{born} {'is' if born.startswith('1 ') and ' and ' not in born else 'are'} "
                   "born on its boundary, each from an adjacent pair (one cut off, one kept)."
                   if born else "nothing new is born."))


@dataclass
class PolyhedronSteps:
    """The double description of ``{x : A x <= b}`` one inequality at a time: ``steps[0]`` is the
    whole space, ``steps[k]`` the polyhedron of the first ``k`` rows of ``A``, ``b`` (an equality
    is two rows, ``a x <= b`` and ``-a x <= -b``; ``labels`` say which). Build with
    :func:`polyhedron_steps`."""

    A: list[tuple[Fraction, ...]]
    b: list[Fraction]
    labels: list[str]
    steps: list[PolyhedronStep]
    cone: DoubleDescription

    @property
    def dim(self) -> int:
        return len(self.A[0]) if self.A else self.cone_dim - 1

    @property
    def cone_dim(self) -> int:
        return len(self.cone.A[0])


def _orthogonal_to(lines: list[Vector]):
    """``x`` minus its exact projection onto the span of ``lines`` (independent rows)."""
    if not lines:
        return lambda x: [Fraction(v) for v in x]
    gram = [[_dot(p, q) for q in lines] for p in lines]

    def project(x) -> list[Fraction]:
        mu = solve(gram, [_dot(ell, x) for ell in lines])
        return [Fraction(v) - sum((m * ell[j] for m, ell in zip(mu, lines)), Fraction(0))
                for j, v in enumerate(x)]

    return project


def _read_off(hom: list[Vector], lines: list[Vector], d: int):
    """Vertices and rays of the pointed part from the cone's rays ``(x, s)``."""
    flat = _orthogonal_to([ell[:d] for ell in lines])
    vertices, rays = [], []
    for r in hom:
        x, s = flat(r[:d]), r[d]
        if s > 0:
            vertices.append(tuple(v / s for v in x))
        else:
            rays.append(tuple(primitive(x)))
    return vertices, rays


def polyhedron_steps(A: Any, b: Any, equalities: Any = None) -> PolyhedronSteps:
    """The double description of the polyhedron ``A x <= b`` step by step, through the cone over
    it: the iteration (:func:`double_description`) adds ``s >= 0`` first, then each row
    ``[a_i, -b_i]`` in order. Exact; bounded like the cone's steps (``d + 1 <= MAX_DIM``, at most
    ``MAX_ROWS - 1`` inequalities, an equality counting twice)."""
    from conecore.polyhedron import _exact_rows, _indices

    _, _, rows, _ = _exact_rows(A, b, limits=None)
    d = len(rows[0]) - 1 if rows else np.asarray(A).shape[-1]
    eq = set(_indices(equalities, len(rows)))
    ineq, labels = [], []
    for i, row in enumerate(rows):
        row = [Fraction(v) for v in row]
        ineq.append(row)
        labels.append(f"row {i + 1}" + (" (=, the ≤ half)" if i in eq else ""))
        if i in eq:
            ineq.append([-v for v in row])
            labels.append(f"row {i + 1} (=, the ≥ half)")
    if d + 1 > MAX_DIM or len(ineq) + 1 > MAX_ROWS:
        raise ConeTooLargeError(
            f"the step-by-step method is for small polyhedra (d <= {MAX_DIM - 1}, at most "
            f"{MAX_ROWS - 1} inequalities, an equality counting twice); this one has d = {d} and "
            f"{len(ineq)} inequalities")
    H = [[0] * d + [-1]] + [primitive([*row[:d], -row[d]]) for row in ineq]
    dd = double_description(H)
    steps: list[PolyhedronStep] = []
    for k, step in enumerate(dd.steps):
        vertices, rays = _read_off(step.rays, step.lines, d)
        lines = [tuple(primitive(ell[:d])) for ell in step.lines]
        if not vertices:
            rays, lines = [], []
        # Step 0 (s >= 0) makes the start, the whole space: nothing is cut off or born there.
        gone_v, gone_r = _read_off(step.dropped if k else [], step.lines, d)
        new_v, new_r = _read_off(step.born if k else [], step.lines, d)
        steps.append(PolyhedronStep(
            None if k == 0 else k - 1, vertices, rays, lines, gone_v, gone_r, new_v, new_r,
            line_split=k > 0 and step.line_to_ray is not None))
    return PolyhedronSteps([tuple(r[:d]) for r in ineq], [r[d] for r in ineq], labels, steps, dd)

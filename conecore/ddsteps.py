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
page. Bounded to small problems (``d <= 6``, ``m <= 30``); the library's conversion
(:meth:`conecore.Cone.from_inequalities`) handles the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from conecore.cone import validate_matrix
from conecore.errors import ConeTooLargeError
from conecore.exact import primitive

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

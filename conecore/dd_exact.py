r"""An exact double description in pure Python: the fallback when pycddlib is not installed.

pycddlib publishes no Linux or macOS wheels, so without Debian's ``libcdd-dev``/``libgmp-dev``
it cannot be installed. This module needs nothing but the standard library and gives the same
answer as cddlib in exact arithmetic: the same primitive integer extreme rays (as a set) and
the same redundant rows.

It solves only the reduced problems ``cone.py`` builds: a pointed cone
:math:`\{y \in \mathbb{R}^n : B y \le 0,\ E y = 0\}` with integer rows whose rank is ``n``.

The method is Motzkin's iteration as in Fukuda and Prodon, "Double description method
revisited" (1996):

* Start from ``n`` linearly independent rows (equalities first): the cone they cut out is
  simplicial, and its rays are the columns of :math:`-B_0^{-1}` (fraction-free Gauss-Jordan).
* Add the other rows one at a time (equalities first, then inequalities in lexicographic
  order). Adding :math:`a \cdot y \le 0` splits the rays into :math:`R^+, R^0, R^-` by the sign
  of :math:`a \cdot r`; every *adjacent* pair :math:`p \in R^+, n \in R^-` gives the new ray
  :math:`(a \cdot p)\, n - (a \cdot n)\, p` (integers, divided by their gcd), and :math:`R^+`
  goes (for an equality, :math:`R^-` too).
* Adjacency is the combinatorial test on zero sets held as bit masks: :math:`p, n` are adjacent
  when they share at least ``n - 2`` tight rows and no third ray is tight on all of them. The
  third rays are found by intersecting, per shared row, the bit mask of the rays tight on it.

Every number is a Python integer; rays stay primitive (coprime entries), so they stay small.

Why our own code and not a library with wheels: the Parma Polyhedra Library's ``pplpy`` 0.8.10
has wheels only for CPython 3.8-3.12 on x86-64 Linux and macOS (none for Python 3.13+, Linux
on ARM or Windows; GPL-3, a 13 MB wheel), so it cannot be the fallback that always installs.
Measured on a 2-core VM (ms for the double description of the reduced problem; pycddlib 3.0.2 /
this module / pplpy): checkerboard 28 x 28 7.4 / 0.1 / 0.2; ice-cream with 64 facets
8.6 / 1.7 / 1.1; cube cone n = 10 (1,024 rays) 46 / 7.1 / 5.7; cross-polytope cone n = 8
(256 rows) 55 / 7.7 / 5.7; random 4-D cone, 400 rows (796 rays) 850 / 142 / 59; random 8-D,
30 rows (2,050 rays) 767 / 252 / 79; 80 random rows in 9-D (the cone is the origin)
5,040 / 1,810 / 1,720. The row order is cddlib's default, lexicographic: a dynamic order
(most rays cut off among a sample of rows) won on the random rows but lost up to 80 times on
the degenerate cross-polytope cone and 2-7 times on the random 3-D and 4-D cones.

The module imports only ``math`` and ``operator``: the child process (``_cdd_worker.py``, run as
a script) imports it as a top-level module and must start fast.
"""

from __future__ import annotations

import math
from operator import mul

IntMatrix = list[list[int]]


def _bits(mask: int):
    """The positions of the set bits of ``mask``, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def _primitive(vec: list[int]) -> list[int]:
    g = math.gcd(*vec)
    return [v // g for v in vec] if g > 1 else vec


def _dot(a, x) -> int:
    return sum(map(mul, a, x))


def independent_rows(rows: IntMatrix, ncols: int) -> tuple[list[int], list[int]]:
    """A basis of the row space chosen greedily in the given order (the first row that is not a
    combination of the rows before it), and one pivot column per basis row.

    ``rows[I][:, J]`` is non-singular, and the columns ``J`` span the column space.
    """
    echelon: list[tuple[int, list[int]]] = []  # (pivot column, reduced row)
    basis: list[int] = []
    pivots: list[int] = []
    for i, row in enumerate(rows):
        v = list(row)
        for c, b in echelon:
            vc = v[c]
            if vc:
                bc = b[c]
                v = _primitive([bc * x - vc * y for x, y in zip(v, b)])
        c = next((j for j in range(ncols) if v[j]), None)
        if c is None:
            continue
        if v[c] < 0:
            v = [-x for x in v]
        echelon.append((c, _primitive(v)))
        basis.append(i)
        pivots.append(c)
        if len(basis) == ncols:
            break
    return basis, pivots


def _simplicial_rays(square: IntMatrix) -> IntMatrix:
    r"""The rays of :math:`\{y : M y \le 0\}` for a non-singular ``M``: ray ``j`` is a positive
    multiple of :math:`-M^{-1} e_j`, so it is tight on every row but row ``j``."""
    n = len(square)
    aug = [list(row) + [int(i == j) for j in range(n)] for i, row in enumerate(square)]
    for k in range(n):
        p = next(i for i in range(k, n) if aug[i][k])
        aug[k], aug[p] = aug[p], aug[k]
        pk = aug[k]
        piv = pk[k]
        for i in range(n):
            if i != k:
                f = aug[i][k]
                if f:
                    aug[i] = _primitive([piv * x - f * y for x, y in zip(aug[i], pk)])
    # aug = [D | N] with D diagonal and N M = D, so M^{-1} = D^{-1} N.
    diag = [aug[i][i] for i in range(n)]
    lcm = 1
    for d in diag:
        lcm = lcm * abs(d) // math.gcd(lcm, d)
    scale = [lcm // d for d in diag]  # signed: lcm / d_i
    return [_primitive([-aug[i][n + j] * scale[i] for i in range(n)]) for j in range(n)]


def _order(rows: IntMatrix, equalities: int) -> list[int]:
    """Equalities first (as given), then the inequalities in lexicographic order of their rows
    (cddlib's default, "lexmin"); ties keep the input order."""
    ineq = sorted(range(equalities, len(rows)), key=lambda i: rows[i])
    return list(range(equalities)) + ineq


def extreme_rays(rows: IntMatrix, equalities: int = 0) -> IntMatrix:
    """Extreme rays (primitive integer vectors) of the pointed cone ``{y : B y <= 0}`` in exact
    integer arithmetic; the first ``equalities`` rows hold with equality.

    The rows must have full column rank (the cone is pointed). The same contract as
    ``_cdd_worker.extreme_rays`` (pycddlib), except for the order of the rays.
    """
    if not rows:
        return []
    n = len(rows[0])
    order = _order(rows, equalities)
    ordered = [rows[i] for i in order]
    is_eq = [i < equalities for i in order]
    basis, _ = independent_rows(ordered, n)
    if len(basis) < n:
        raise ValueError("internal error: the reduced cone should be pointed but has lines")
    in_basis = set(basis)
    sequence = basis + [i for i in range(len(ordered)) if i not in in_basis]

    # Ray state: vectors and zero sets (bit k = the k-th row of ``sequence``), by ray id.
    vec: dict[int, list[int]] = {}
    zero: dict[int, int] = {}
    tight: list[int] = []  # tight[k]: bit mask of the ray ids tight on the k-th added row
    alive = 0
    first = _simplicial_rays([ordered[i] for i in basis])
    full = (1 << n) - 1
    for j, r in enumerate(first):
        vec[j], zero[j] = r, full ^ (1 << j)
        alive |= 1 << j
    for k in range(n):
        tight.append(alive ^ (1 << k))
    # An equality in the basis removes the one ray not tight on it.
    for k, i in enumerate(basis):
        if is_eq[i]:
            alive &= ~(1 << k)
            del vec[k], zero[k]
    next_id = n
    need = n - 2  # a pair of adjacent rays shares at least n - 2 tight rows

    for k in range(n, len(sequence)):
        i = sequence[k]
        a = ordered[i]
        bit = 1 << k
        plus: list[tuple[int, int]] = []
        minus: list[tuple[int, int]] = []
        zero_mask = 0
        for rid, r in vec.items():
            s = sum(map(mul, a, r))
            if s > 0:
                plus.append((rid, s))
            elif s < 0:
                minus.append((rid, s))
            else:
                zero_mask |= 1 << rid
        if is_eq[i] and len(minus) < len(plus):
            # An equality cuts on both sides (both R+ and R- go): the loop is over R+, make it
            # the smaller side.
            plus, minus = [(rid, -s) for rid, s in minus], [(rid, -s) for rid, s in plus]
        born = 0
        if plus and minus:
            sval = dict(minus)
            minus_zero = [(q, zero[q]) for q, _ in minus]
            for p, sp in plus:
                zp = zero[p]
                pairs = [(q, c) for q, zq in minus_zero if (c := zp & zq).bit_count() >= need]
                for q, common in pairs:
                    others = alive & ~((1 << p) | (1 << q))
                    for t in _bits(common):
                        others &= tight[t]
                        if not others:
                            break
                    if others:
                        continue
                    sq = sval[q]
                    new = _primitive([sp * y - sq * x for x, y in zip(vec[p], vec[q])])
                    vec[next_id] = new
                    zero[next_id] = common | bit
                    for t in _bits(common):
                        tight[t] |= 1 << next_id
                    born |= 1 << next_id
                    next_id += 1
        # Drop R+ (and R- for an equality); R0 and the new rays are tight on this row.
        gone = [rid for rid, _ in plus]
        if is_eq[i]:
            gone += [rid for rid, _ in minus]
        for rid in gone:
            alive &= ~(1 << rid)
            del vec[rid], zero[rid]
        for rid in _bits(zero_mask):
            zero[rid] |= bit
        alive |= born
        tight.append(zero_mask | born)
        if next_id > 4 * len(vec) + 256:
            # Renumber the rays so that the bit masks stay short.
            ids = sorted(vec)
            new_id = {old: j for j, old in enumerate(ids)}
            vec = {new_id[old]: vec[old] for old in ids}
            zero = {new_id[old]: zero[old] for old in ids}
            tight = [sum(1 << new_id[old] for old in _bits(t) if old in new_id) for t in tight]
            alive = (1 << len(ids)) - 1
            next_id = len(ids)
    return [vec[rid] for rid in sorted(vec)]


def _spans_positively(rows: IntMatrix, dim: int) -> bool:
    """Whether the conic hull of ``rows`` (vectors in R^n) is a linear subspace of dimension
    ``dim``, i.e. whether ``{y : rows y <= 0}`` is only its lineality space ``rows^perp``."""
    if len(rows) <= dim:
        return False
    basis, cols = independent_rows(rows, len(rows[0]))
    if len(basis) < dim:
        return False
    reduced = [[row[j] for j in cols] for row in rows]
    return not extreme_rays(reduced)


def redundant_rows(rows: IntMatrix) -> list[int]:
    """Indices of the rows of ``{y : B y <= 0}`` implied by the others, exactly as cddlib's
    ``redundant_rows`` finds them: the rows are examined from the last to the first and a
    redundant row is removed before the next is examined, so of two rows that are positive
    multiples of each other the later one is reported. The rows must be non-zero.

    No LP is needed. Row ``i`` is redundant for the rows ``K`` still kept iff :math:`b_i` lies
    in the conic hull of the other rows of ``K`` (Farkas). With the extreme rays of the cone:

    * an *implicit equality* (a row tight on every ray) lies in the lineality space ``W`` of the
      hull of all rows, and only implicit equalities can combine into ``W``; so it is
      redundant iff the other kept implicit equalities still span ``W`` positively (one more
      double description, on those rows only);
    * any other row is redundant iff it is not a facet (its set of tight rays is not maximal
      among those rows) or an earlier row defines the same facet (the same set of tight rays).
    """
    if not rows:
        return []
    ncols = len(rows[0])
    _, cols = independent_rows(rows, ncols)
    reduced = [[row[j] for j in cols] for row in rows]  # the same implications, now pointed
    rays = extreme_rays(reduced)
    everything = (1 << len(rays)) - 1
    zsets = []
    for row in reduced:
        z = 0
        for k, r in enumerate(rays):
            if not _dot(row, r):
                z |= 1 << k
        zsets.append(z)
    eq = [i for i, z in enumerate(zsets) if z == everything]
    ineq = [i for i, z in enumerate(zsets) if z != everything]
    redundant: set[int] = set()

    # Facets: maximal zero sets; the first row of each is kept.
    distinct = set(zsets[i] for i in ineq)
    maximal = {z for z in distinct if not any(z != w and z & w == z for w in distinct)}
    seen: set[int] = set()
    for i in ineq:
        z = zsets[i]
        if z not in maximal or z in seen:
            redundant.add(i)
        seen.add(z)

    # Implicit equalities, from the last to the first.
    if eq:
        kept = list(eq)
        w = len(independent_rows([reduced[i] for i in eq], len(cols))[0])
        for i in reversed(eq):
            others = [j for j in kept if j != i]
            if _spans_positively([reduced[j] for j in others], w):
                redundant.add(i)
                kept = others
    return sorted(redundant)

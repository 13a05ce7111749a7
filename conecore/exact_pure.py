r"""Exact integer linear algebra in pure Python: what the child process needs besides the
double description.

The child (``_cdd_worker.py``, run as a script) must start in a few tens of milliseconds, so
it cannot import numpy (about 0.1-0.2 s). This module imports only ``math`` and is loaded by
the child as a top-level module; ``exact.py`` uses the same functions in the server's process,
so a result does not depend on where it was computed.

* :func:`echelon_pivots` -- fraction-free (Bareiss) elimination on the distinct columns: the
  same pivots, in the same order, as ``exact.echelon_pivots`` (which runs it in int64 numpy
  when no intermediate value can overflow);
* :func:`nullspace_basis` -- an integer basis of ``ker A``, one primitive vector per non-pivot
  column, from one fraction-free Gauss-Jordan reduction of the ``r`` pivot rows
  (``r^2 d`` integer operations; solving ``r x r`` systems in Fractions once per column took
  1.7 s for the 28 x 28 checkerboard's 768 lines);
* :func:`project_to_rowspace` -- exact orthogonal projections onto the row space, each scaled
  to a primitive integer vector, through one fraction-free inverse of the ``r x r`` Gram matrix.
"""

from __future__ import annotations

import math
from operator import mul

IntMatrix = list[list[int]]


def _primitive(vec: list[int]) -> list[int]:
    g = math.gcd(*vec)
    return [v // g for v in vec] if g > 1 else vec


def distinct_columns(rows: IntMatrix, ncols: int) -> list[int]:
    """The first index of each distinct non-zero column, in order."""
    first_of: dict[tuple[int, ...], int] = {}
    for j, col in enumerate(zip(*rows)):
        if j >= ncols:
            break
        if any(col):
            first_of.setdefault(col, j)
    return sorted(first_of.values())


def echelon_pivots(rows: IntMatrix, ncols: int) -> tuple[list[int], list[int]]:
    """Pivot rows and pivot columns of an integer matrix, in order (their number is the rank):
    Bareiss elimination on the distinct columns, the pivot of a column being the first row at
    or below the current one with a non-zero entry. ``A[I, J]`` is non-singular and the columns
    ``J`` span the column space."""
    if not rows or ncols == 0:
        return [], []
    cols = distinct_columns(rows, ncols)
    if not cols:
        return [], []
    mat = [[row[j] for j in cols] for row in rows]
    m, n = len(mat), len(cols)
    row_ids = list(range(m))
    pivot_rows: list[int] = []
    pivot_cols: list[int] = []
    prev = 1
    r = 0
    for c in range(n):
        if r == m:
            break
        p = next((i for i in range(r, m) if mat[i][c]), None)
        if p is None:
            continue
        if p != r:
            mat[r], mat[p] = mat[p], mat[r]
            row_ids[r], row_ids[p] = row_ids[p], row_ids[r]
        top = mat[r][c:]
        piv = top[0]
        for i in range(r + 1, m):
            row = mat[i]
            f = row[c]
            # Columns before c are zero below the pivot row; only the tail changes.
            if f:
                row[c:] = [(piv * x - f * y) // prev for x, y in zip(row[c:], top)]
            elif prev != piv:
                row[c:] = [piv * x // prev for x in row[c:]]
        prev = piv
        pivot_rows.append(row_ids[r])
        pivot_cols.append(cols[c])
        r += 1
    return pivot_rows, pivot_cols


def _jordan(basis: IntMatrix, pivot_cols: list[int]) -> IntMatrix:
    """Rows spanning the same space as ``basis`` with ``out[k][pivot_cols[j]] == 0`` for
    ``j != k`` and ``out[k][pivot_cols[k]] != 0`` (each row kept primitive)."""
    out = [list(row) for row in basis]
    r = len(out)
    for k, c in enumerate(pivot_cols):
        q = next(i for i in range(k, r) if out[i][c])
        out[k], out[q] = out[q], out[k]
        top = out[k]
        p = top[c]
        for i in range(r):
            if i != k:
                row = out[i]
                f = row[c]
                if f:
                    out[i] = _primitive([p * x - f * y for x, y in zip(row, top)])
    return out


def nullspace_basis(rows: IntMatrix, pivot_rows: list[int], pivot_cols: list[int],
                    ncols: int) -> IntMatrix:
    """An integer basis of ``{x : A x = 0}``: for each non-pivot column ``t`` (in order) the
    primitive vector with ``x[t] > 0`` and zeros in the other non-pivot columns.

    ``pivot_rows``, ``pivot_cols``: as :func:`echelon_pivots` returns them for ``rows``."""
    r = len(pivot_cols)
    if r == 0:
        return [[int(i == j) for j in range(ncols)] for i in range(ncols)]
    red = _jordan([rows[i] for i in pivot_rows], pivot_cols)
    diag = [red[k][c] for k, c in enumerate(pivot_cols)]
    pivots = set(pivot_cols)
    basis = []
    for t in range(ncols):
        if t in pivots:
            continue
        # x[t] = L and x[J_k] = -red[k][t] * L / diag[k], with L a common multiple of the diag.
        hits = [(k, red[k][t]) for k in range(r) if red[k][t]]
        lcm = 1
        for k, _ in hits:
            lcm = lcm * abs(diag[k]) // math.gcd(lcm, diag[k])
        vals = [(pivot_cols[k], -v * (lcm // diag[k])) for k, v in hits]
        g = math.gcd(lcm, *(v for _, v in vals))
        vec = [0] * ncols
        vec[t] = lcm // g
        for j, v in vals:
            vec[j] = v // g
        basis.append(vec)
    return basis


def lift(reduced_rays: IntMatrix, pivot_cols: list[int], ncols: int) -> IntMatrix:
    """The reduced problem's rays in R^ncols: their entries on the pivot columns, 0 elsewhere."""
    lifted = []
    for y in reduced_rays:
        x = [0] * ncols
        for j, v in zip(pivot_cols, y):
            x[j] = v
        lifted.append(x)
    return lifted


def project_to_rowspace(rows: IntMatrix, pivot_rows: list[int], X: IntMatrix) -> IntMatrix:
    r"""Exact orthogonal projections of the rows of ``X`` onto the row space of ``A``, each
    scaled to a primitive integer vector (a positive multiple of :math:`B^T (B B^T)^{-1} B x`,
    ``B = A[pivot_rows]``)."""
    if not X:
        return []
    B = [rows[i] for i in pivot_rows]
    r = len(B)
    d = len(X[0])
    if r == 0:
        return [[0] * d for _ in X]
    # Fraction-free Gauss-Jordan on [G | I] gives [D | N] with N G = D diagonal.
    gram = [[sum(map(mul, bi, bj)) for bj in B] for bi in B]
    aug = _jordan([g + [int(i == j) for j in range(r)] for i, g in enumerate(gram)],
                  list(range(r)))
    diag = [aug[i][i] for i in range(r)]
    lcm = 1
    for v in diag:
        lcm = lcm * abs(v) // math.gcd(lcm, v)
    inv = [[v * (lcm // diag[i]) for v in aug[i][r:]] for i in range(r)]  # lcm * G^{-1}
    out = []
    for x in X:
        nz = [(j, v) for j, v in enumerate(x) if v]
        bx = [sum(b[j] * v for j, v in nz) for b in B]
        w = [sum(map(mul, row, bx)) for row in inv]
        p = [0] * d
        for wi, b in zip(w, B):
            if wi:
                p = [s + wi * v for s, v in zip(p, b)]
        out.append(_primitive(p))
    return out

r"""Exact linear algebra over the integers for cone conversion.

The double description method is only as good as its arithmetic. conecore therefore turns every
input matrix into an *integer* matrix describing the same cone before any elimination:

* integers stay as they are; ``Fraction`` rows are multiplied by the least common multiple of
  their denominators (a positive row scaling does not change :math:`\{x : a x \le 0\}`);
* floats are first replaced by the simplest rational within a relative ``1e-12`` of their value
  (so ``0.1 + 0.2`` is read as ``3/10``, not as the binary number just above it), then scaled
  the same way. Floats that are integers (``1.0``, ``-3.0``) are taken as integers.

Elimination is fraction-free (Bareiss), so every intermediate value is an integer minor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache

import numpy as np

from conecore import exact_pure

IntMatrix = list[list[int]]

# A relative error below this is taken to be floating-point noise of a simpler rational.
FLOAT_REL_TOL = 1e-12


@lru_cache(maxsize=65536)
def simplest_rational(x: float, tol: float) -> Fraction:
    """The first continued-fraction convergent of ``x`` within ``tol`` of it.

    >>> simplest_rational(0.1 + 0.2, 1e-12)
    Fraction(3, 10)
    >>> simplest_rational(1 / 3, 1e-12)
    Fraction(1, 3)
    """
    num, den = x.as_integer_ratio()
    if den == 1 or tol <= 0:
        return Fraction(num, den)
    # The continued fraction of num/den in integers (Fraction arithmetic was 10x slower):
    # stop at the first convergent p/q with |p/q - num/den| <= tol, i.e.
    # |p * den - q * num| * tol_den <= tol_num * q * den.
    tol_num, tol_den = tol.as_integer_ratio()
    a, r_num, r_den = num // den, num % den, den  # x = a + r_num / r_den
    p_prev, q_prev, p, q = 1, 0, a, 1
    while r_num and abs(p * den - q * num) * tol_den > tol_num * q * den:
        a, r_num, r_den = r_den // r_num, r_den % r_num, r_num  # 1 / rest = a + r'/r_num
        p_prev, q_prev, p, q = p, q, a * p + p_prev, a * q + q_prev
    return Fraction(p, q)


def rationalize_row(values: Sequence[float]) -> list[Fraction]:
    """A row of floats as rationals, each within ``FLOAT_REL_TOL * max|row|`` of its value.

    The tolerance is relative to the row, not to the entry, so round-off such as ``1e-17`` next
    to entries of size 1 becomes an exact zero and degenerate structure is kept.
    """
    scale = max((abs(v) for v in values), default=0.0)
    tol = FLOAT_REL_TOL * scale
    return [Fraction(0) if abs(v) <= tol else simplest_rational(float(v), tol) for v in values]


def primitive(vector: Sequence[Fraction | int]) -> list[int]:
    """The positive multiple of ``vector`` with coprime integer entries (zero stays zero)."""
    fracs = [Fraction(v) for v in vector]
    lcm = 1
    for f in fracs:
        lcm = lcm * f.denominator // math.gcd(lcm, f.denominator)
    ints = [int(f * lcm) for f in fracs]
    g = 0
    for v in ints:
        g = math.gcd(g, v)
    return [v // g for v in ints] if g > 1 else ints


def integer_rows(rows: Sequence[Sequence[Fraction]]) -> IntMatrix:
    """Each row scaled by a positive factor to coprime integers; the cone is unchanged."""
    return [primitive(row) for row in rows]


def _fits_int64_elimination(matrix: np.ndarray) -> bool:
    """Whether Bareiss on ``matrix`` in int64 cannot overflow (Hadamard bound on the minors)."""
    m, d = matrix.shape
    k = min(m, d)
    if k == 0:
        return True
    big = max(int(np.max(np.abs(matrix))), 1)
    # Each intermediate is at most (sqrt(k) * big)^k; a product of two must stay below 2^62.
    log_minor = k * (0.5 * math.log2(k) + math.log2(big))
    return 2 * log_minor + 1 < 62


def bareiss_work(m: int, n: int, bits: int) -> float:
    """An estimate of the work of fraction-free elimination on an ``m x n`` matrix of big
    integers of ``bits`` bits, in units of about 0.1 µs (fitted on this project's 2-core VM:
    96-160 ns a unit from 20 x 20 to 100 x 50, from 6 to 600 digits). Step ``k`` updates
    ``(m - k)(n - k)`` entries that are ``k x k`` minors of about ``k * bits`` bits, and a
    multiplication of ``w`` machine words costs about ``w ** 1.58`` (Karatsuba)."""
    total = 0.0
    for k in range(1, min(m, n) + 1):
        total += (m - k) * (n - k) * max(1.0, k * bits / 64) ** 1.58
    return total


def elimination_work(rows: IntMatrix, ncols: int, max_work: float | None = None) -> float:
    """The estimated cost of :func:`echelon_pivots` on ``rows`` in units of about 0.1 µs:
    ``0`` when the matrix fits int64 arithmetic (numpy, always fast), else
    :func:`bareiss_work` on its distinct columns. With ``max_work``, a cost over it raises
    :class:`ConeTooLargeError`."""
    if not rows or ncols == 0:
        return 0.0
    cols = exact_pure.distinct_columns(rows, ncols)
    if not cols:
        return 0.0
    if _int64_columns(rows, cols) is not None:
        return 0.0
    m, n = len(rows), len(cols)
    bits = max(abs(row[j]).bit_length() for row in rows for j in cols)
    work = bareiss_work(m, n, bits)
    if max_work is not None and work > max_work:
        from conecore.errors import ConeTooLargeError

        raise ConeTooLargeError(
            f"A is {m} x {n} with integers of up to {int(bits * 0.30103) + 1:,} digits once "
            f"each row shares a denominator: exact elimination would take about "
            f"{work * 1e-7:,.1f} s, over the limit of {max_work * 1e-7:,.1f} s (use fewer "
            "digits; floats are read as the simplest fraction within 1e-12 of each entry)")
    return work


def _int64_columns(rows: IntMatrix, cols: list[int]) -> np.ndarray | None:
    """The columns ``cols`` of ``rows`` as an int64 array when Bareiss cannot overflow there."""
    try:
        arr = np.array([[row[j] for j in cols] for row in rows], dtype=np.int64)
    except OverflowError:
        return None
    return arr if _fits_int64_elimination(arr) else None


def echelon_pivots(rows: IntMatrix, ncols: int,
                   max_work: float | None = None) -> tuple[list[int], list[int]]:
    """Pivot rows and pivot columns of an integer matrix, in order; their number is the rank.

    The pivot columns ``J`` and rows ``I`` select a non-singular ``r x r`` submatrix ``A[I, J]``,
    and the columns ``J`` span the column space of ``A``. Duplicate columns are eliminated once
    (they cannot raise the rank), which makes block-structured matrices such as the paper's
    checkerboard cheap.

    With ``max_work``, a matrix whose big-integer elimination would cost more
    (:func:`bareiss_work`) raises :class:`ConeTooLargeError` before it starts; a matrix that
    fits int64 arithmetic is always fast. Big integers go through
    :func:`conecore.exact_pure.echelon_pivots` (the same pivots; the child process runs it).
    """
    if not rows or ncols == 0:
        return [], []
    cols = exact_pure.distinct_columns(rows, ncols)
    if not cols:
        return [], []
    mat = _int64_columns(rows, cols)
    if mat is None:
        elimination_work(rows, ncols, max_work)
        return exact_pure.echelon_pivots(rows, ncols)
    m, n = mat.shape
    row_ids = list(range(m))
    pivot_rows: list[int] = []
    pivot_cols: list[int] = []
    prev = 1
    r = 0
    for c in range(n):
        if r == m:
            break
        nonzero = np.nonzero(mat[r:, c] != 0)[0]
        if nonzero.size == 0:
            continue
        p = r + int(nonzero[0])
        if p != r:
            mat[[r, p]] = mat[[p, r]]
            row_ids[r], row_ids[p] = row_ids[p], row_ids[r]
        piv = mat[r, c]
        below = mat[r + 1 :]
        if below.shape[0]:
            below[:] = (piv * below - np.outer(below[:, c], mat[r])) // prev
        prev = piv
        pivot_rows.append(row_ids[r])
        pivot_cols.append(cols[c])
        r += 1
    return pivot_rows, pivot_cols


def solve(
    matrix: Sequence[Sequence[Fraction | int]], rhs: Sequence[Fraction | int]
) -> list[Fraction]:
    """Solve a square non-singular system exactly (Gauss-Jordan over the rationals)."""
    n = len(matrix)
    aug = [[Fraction(v) for v in row] + [Fraction(b)] for row, b in zip(matrix, rhs)]
    for c in range(n):
        p = next(i for i in range(c, n) if aug[i][c] != 0)
        aug[c], aug[p] = aug[p], aug[c]
        pivot = aug[c][c]
        aug[c] = [v / pivot for v in aug[c]]
        for i in range(n):
            if i != c and aug[i][c] != 0:
                f = aug[i][c]
                aug[i] = [a - f * b for a, b in zip(aug[i], aug[c])]
    return [row[n] for row in aug]


def nullspace_basis(rows: IntMatrix, ncols: int) -> IntMatrix:
    """An integer basis of ``{x : A x = 0}``: one primitive vector per non-pivot column
    (:func:`conecore.exact_pure.nullspace_basis`)."""
    pivot_rows, pivot_cols = echelon_pivots(rows, ncols)
    return exact_pure.nullspace_basis(rows, pivot_rows, pivot_cols, ncols)


def project_to_rowspace(rows: IntMatrix, pivot_rows: list[int], X: IntMatrix) -> IntMatrix:
    r"""Exact orthogonal projections of the rows of ``X`` onto the row space of ``A``, each
    scaled to a primitive integer vector (:func:`conecore.exact_pure.project_to_rowspace`)."""
    return exact_pure.project_to_rowspace(rows, pivot_rows, X)

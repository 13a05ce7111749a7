r"""Polyhedral cones in both representations (Minkowski–Weyl).

A polyhedral cone is the solution set of finitely many homogeneous inequalities,

.. math:: C = \{x \in \mathbb{R}^d : A x \le 0\},

and, by the Minkowski–Weyl theorem, equally the set of non-negative combinations of finitely many
generators plus a linear subspace:

.. math:: C = \{L^T t + R^T \mu : t \in \mathbb{R}^l,\ \mu \ge 0\},

where the rows of ``L`` span the lineality space :math:`C \cap -C = \ker A` and the rows of ``R``
are the extreme rays of the pointed cone :math:`C \cap (\ker A)^\perp`.

How the conversion stays exact and fast:

1. ``A`` becomes an integer matrix describing the same cone (``exact.py``).
2. Fraction-free elimination finds ``r = rank A`` and pivot columns ``J`` with ``rank A[:, J] = r``.
   Every column of ``A`` is then a combination of the columns ``J``, ``A = A[:, J] M`` with
   ``M[:, J] = I``, so :math:`C = \{x : M x \in C'\}` where
   :math:`C' = \{y \in \mathbb{R}^r : A[:, J]\, y \le 0\}` is pointed and uses the input's own
   entries: no change of coordinates in floating point, so degeneracy survives intact.
3. The double description of ``C'`` runs in exact arithmetic (``cdd_backend.py``). Each ray ``y``
   lifts to ``x`` with ``x[J] = y`` and zeros elsewhere, and is projected orthogonally onto the
   row space of ``A`` (which changes it only by a line) and normalised.

The paper's 28 × 28 checkerboard (16 rows, 784 columns) thus costs a 16 × 16 double description.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from numbers import Integral, Rational, Real
from typing import Any

import numpy as np

from conecore import exact_pure, gate
from conecore.cdd_backend import (
    DEFAULT_LIMITS,
    OP_SECONDS,
    Limits,
    check_bound,
    estimate_seconds,
    max_bits,
    redundant_rows,
    resolve_backend,
    solve,
)
from conecore.errors import ConeInputError, ConeTooLargeError
from conecore.exact import (
    FLOAT_REL_TOL,
    IntMatrix,
    echelon_pivots,
    elimination_work,
    nullspace_basis,
    primitive,
    project_to_rowspace,
    rationalize_row,
)
from conecore.gate import Ticket

FLOAT_MAX = 1e308

VIEWS = ("redundant_rows", "rays_exact", "lines_exact")
"""What ``Cone.from_inequalities(..., precompute=...)`` can compute with the rays, in the same
run (the same child process when the work is large)."""
_WANT = {"redundant_rows": "redundant", "rays_exact": "rays_exact", "lines_exact": "lines_exact"}


# Integers of A after clearing denominators: at most this many bits (about 1,000 digits).
MAX_ENTRY_BITS = 3_400


class _cached:  # lower case: used like functools.cached_property
    """``functools.cached_property`` without its lock: before Python 3.12 it holds one lock per
    attribute for *every* instance while computing, so a view computed for 10 s in a child for
    one cone would block each other thread's first read of that view on any cone."""

    def __init__(self, func: Any) -> None:
        self.func = func
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        if obj is None:
            return self
        value = self.func(obj)  # a non-data descriptor: once stored, __dict__ answers first
        obj.__dict__[self.name] = value
        return value


class Kind(StrEnum):
    """What sort of cone this is, in the words a user would use."""

    ONLY_ORIGIN = "only the origin"
    WHOLE_SPACE = "whole space"
    HALF_SPACE = "half-space"
    POINTED = "pointed"
    SUBSPACE = "linear subspace"
    CONTAINS_LINES = "contains lines"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class _ExactData:
    """The exact integer description behind a cone (absent for cones loaded from JSON)."""

    given: list[list[Any]]  # A's entries as given (ints/Fractions; rationalised floats)
    rows: IntMatrix  # A with each row scaled by a positive factor to coprime integers
    pivot_rows: list[int]
    pivot_cols: list[int]
    lifted_rays: IntMatrix  # extreme rays of the reduced cone, lifted to R^d (not orthogonalised)
    reduced_rays: IntMatrix  # the same rays in R^r (the pivot columns only)
    input_rational: bool  # the user's entries were integers or fractions (or integral floats)


@dataclass(frozen=True, eq=False, repr=False)
class Cone:
    r"""An immutable polyhedral cone :math:`\{x : A x \le 0\}` with its generators.

    Build one with :meth:`from_inequalities` or :meth:`from_generators`; never mutate the arrays
    (they are read-only).

    Attributes:
        A: ``(m, d)`` float64, the inequalities as given.
        rays: ``(k, d)`` float64, extreme rays of the pointed part, unit L2 norm, orthogonal to
            the lines, one row per ray.
        lines: ``(l, d)`` float64, an orthonormal basis of the lineality space ``ker A``.
    """

    A: np.ndarray
    rays: np.ndarray
    lines: np.ndarray
    _exact: _ExactData | None = field(default=None)
    _stored_rays_exact: np.ndarray | None = field(default=None)
    _given_exact: list[list[Any]] | None = field(default=None)  # from_parts: A's exact entries
    _limits: Limits | None = field(default=None)  # the limits later work (lazy views) obeys

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_inequalities(cls, A: Any, *, limits: Limits = DEFAULT_LIMITS,
                          ticket: Ticket | None = None,
                          precompute: bool | Iterable[str] = False) -> Cone:
        """The cone ``{x : A x <= 0}``.

        ``A`` is an ``(m, d)`` array-like (or text, read by :func:`conecore.parse_matrix`).
        Integers and ``Fraction`` entries are used exactly; floats are read as the simplest
        rational within a relative 1e-12. Raises :class:`ConeInputError` naming the row and
        column of a bad entry, :class:`ConeTooLargeError` for inputs over ``limits`` (or a
        child process that ran out of ``limits.max_memory``) and :class:`ConeTimeoutError`
        when the work runs past ``limits.timeout``.

        Work estimated to take more than ``limits.in_process_seconds`` runs in a child process
        (see :mod:`conecore.gate`: ``ticket`` says who asks and how to tell them they wait).
        ``precompute`` (``True``, or names from :data:`VIEWS`) computes
        :attr:`redundant_rows`, :attr:`rays_exact` and :attr:`lines_exact` now, in the same
        run and under the same limits, instead of on first use.
        """
        if ticket is not None and ticket.owner is not None:
            gate.cancel(ticket.owner)  # a newer request of the same owner replaces the older
        A_float, given, rational = validate_matrix(A, "A", limits=limits)
        rows = _bounded_integer_rows(given)
        d = A_float.shape[1]
        views = set(VIEWS) if precompute is True else set(precompute or ())
        unknown = views - set(VIEWS)
        if unknown:
            raise ValueError(f"precompute: unknown name(s) {sorted(unknown)}; use {VIEWS}")
        if not rational:
            views -= {"rays_exact", "lines_exact"}
        want = {"rays"} | {_WANT[v] for v in views}
        work = elimination_work(rows, d, max_work=limits.max_bit_work)
        pivots = None
        if (work * OP_SECONDS <= limits.in_process_seconds
                or not math.isinf(limits.max_rays_bound)):
            pivots = echelon_pivots(rows, d)
            reduced = [[row[j] for j in pivots[1]] for row in rows]
            check_bound(reduced, len(pivots[1]), limits)
        out = _compute(rows, d, pivots, want, limits, ticket)
        pivot_rows, pivot_cols = pivots if pivots is not None else (out["pivot_rows"],
                                                                    out["pivot_cols"])
        reduced_rays = out["rays"]
        lifted = exact_pure.lift(reduced_rays, pivot_cols, d)

        basis = [rows[i] for i in pivot_rows]
        lines, rays = _float_generators(basis, reduced_rays, pivot_cols, d)
        exact = _ExactData(given, rows, pivot_rows, pivot_cols, lifted, reduced_rays, rational)
        cone = cls(_readonly(A_float), _readonly(rays), _readonly(lines), exact, _limits=limits)
        cone._store(out)
        return cone

    @classmethod
    def from_generators(
        cls, rays: Any, lines: Any = None, *, limits: Limits = DEFAULT_LIMITS,
        ticket: Ticket | None = None, precompute: bool | Iterable[str] = False,
    ) -> Cone:
        r"""The cone :math:`\{L^T t + R^T \mu : \mu \ge 0\}` generated by ``rays`` and ``lines``.

        V → H through the polar: the facet normals of ``C`` are the generators of
        :math:`C^\circ = \{y : R y \le 0,\ L y = 0\}`, which is again an H → V conversion.
        Rays need not be extreme; redundant generators are fine. ``limits``, ``ticket`` and
        ``precompute``: as for :meth:`from_inequalities` (both conversions obey them).
        """
        R_float, R_rows, R_exact = validate_matrix(rays, "rays", allow_empty=True)
        R_rows = _direction_rows(R_float, R_rows, R_exact)
        d = R_float.shape[1]
        if lines is None:
            L_rows: IntMatrix = []
        else:
            L_float, L_rows, L_exact = validate_matrix(lines, "lines", allow_empty=True)
            L_rows = _direction_rows(L_float, L_rows, L_exact)
            if R_float.shape[0] == 0 and R_float.shape[1] == 0:
                d = L_float.shape[1]
            elif L_float.shape[1] != d and L_float.shape[0]:
                raise ConeInputError(
                    f"rays have {d} columns but lines have {L_float.shape[1]}; they must agree"
                )
        if d == 0:
            raise ConeInputError("no generators and no dimension: pass rays of shape (0, d)")
        polar_rows = R_rows + L_rows + [[-v for v in row] for row in L_rows]
        polar = cls.from_inequalities(_as_object_matrix(polar_rows, d), limits=limits,
                                      ticket=ticket, precompute=("lines_exact",))
        # Exact integer normals (of the rationalised generators when those were floats).
        normals = polar._generator_rows()
        return cls.from_inequalities(_as_object_matrix(normals, d), limits=limits,
                                     ticket=ticket, precompute=precompute)

    # ------------------------------------------------------------------ basic properties
    @property
    def dim(self) -> int:
        """The ambient dimension ``d``."""
        return self.A.shape[1]

    @property
    def is_pointed(self) -> bool:
        """True when the cone contains no line (``l == 0``)."""
        return self.lines.shape[0] == 0

    @property
    def kind(self) -> Kind:
        """Only the origin, whole space, half-space, pointed, linear subspace or contains lines."""
        k, ell, d = self.rays.shape[0], self.lines.shape[0], self.dim
        if ell == d:
            return Kind.WHOLE_SPACE
        if k == 0 and ell == 0:
            return Kind.ONLY_ORIGIN
        if k == 1 and ell == d - 1:
            return Kind.HALF_SPACE
        if ell == 0:
            return Kind.POINTED
        if k == 0:
            return Kind.SUBSPACE
        return Kind.CONTAINS_LINES

    def contains(self, X: Any, atol: float = 1e-9) -> np.ndarray:
        r"""Which points lie in the cone, up to a tolerance relative to their size.

        A point ``x`` is accepted when every normalised row satisfies
        :math:`\hat a_i \cdot x \le \mathrm{atol} \cdot \max(1, \|x\|)`; a point with an
        inf or NaN entry is not. ``X`` is ``(n, d)`` (returns ``(n,)`` bool) or ``(d,)``
        (returns a bool).
        """
        X = np.asarray(X, dtype=np.float64)
        single = X.ndim == 1
        X2 = np.atleast_2d(X)
        if X2.shape[-1] != self.dim:
            raise ConeInputError(f"points have {X2.shape[-1]} coordinates; the cone has {self.dim}")
        # Rows of A and points scaled by a power of two at their largest entry first (exact):
        # a norm of entries past ~1e154 overflowed to inf and accepted every point.
        A_hat = unit_rows(self.A[np.abs(self.A).max(axis=1, initial=0.0) > 0])
        scale = _power_of_two(np.abs(X2).max(axis=1, initial=0.0))
        Xs = X2 / scale[:, None]
        # x = scale xs: a.x <= atol max(1, |x|) exactly when a.xs <= atol max(1 / scale, |xs|)
        # (1 / scale past 2^1024, x subnormal: no bound; inf or NaN in x: not in the cone)
        with np.errstate(over="ignore", invalid="ignore"):
            bound = atol * np.maximum(1.0 / scale, np.linalg.norm(Xs, axis=1))
            ok = np.all(Xs @ A_hat.T <= bound[:, None], axis=1) & np.isfinite(X2).all(axis=1)
        return bool(ok[0]) if single else ok

    @classmethod
    def from_parts(
        cls, A: Any, rays: Any, lines: Any, *, rays_exact: Any = None, atol: float = 1e-7
    ) -> Cone:
        """A cone from stored parts (a JSON file, another machine), checked, with no double
        description (pycddlib is not needed).

        ``A`` is read as by :meth:`from_inequalities` (exact entries stay exact); ``rays`` and
        ``lines`` are float rows of the same width, ``rays_exact`` optional integer rows along
        ``rays``. Raises :class:`ConeInputError` naming the part that does not fit: a ray that
        violates ``A x <= 0``, a line outside ``ker A``, a shape that disagrees.

        The parts are trusted to be complete (every extreme ray, a basis of the lines); only
        what can be checked cheaply is checked.
        """
        A_float, given, rational = validate_matrix(A, "A")
        d = A_float.shape[1]
        R, L = _unit_parts(_float_part(rays, "rays", d), _float_part(lines, "lines", d))
        exact_rays = None
        if rays_exact is not None:
            try:
                rows = [list(r) for r in rays_exact]
                if not all(type(v) is int or isinstance(v, np.integer)
                           for row in rows for v in row):
                    raise TypeError
                exact_rays = np.array([[int(v) for v in row] for row in rows],
                                      dtype=np.int64).reshape(R.shape[0], d)
            except (ValueError, TypeError, OverflowError):
                raise ConeInputError("'rays_exact' must hold integer rows like 'rays'") from None
            if not np.allclose(unit_rows(exact_rays.astype(np.float64)), unit_rows(R),
                               atol=atol):
                raise ConeInputError("'rays_exact': some rows do not point along 'rays'")
            exact_rays.setflags(write=False)
        cone = cls(_readonly(A_float), _readonly(R), _readonly(L), None, exact_rays,
                   given if rational else None)
        if R.shape[0] and not np.all(cone.contains(R, atol=atol)):
            bad = int(np.argmin(cone.contains(R, atol=atol)))
            raise ConeInputError(f"'rays': some rays violate A x <= 0 (ray {bad + 1} first)")
        if L.shape[0]:
            scale = max(1.0, float(np.abs(A_float).max(initial=0.0)))
            off = np.abs(A_float @ L.T).max(axis=0, initial=0.0) > atol * scale
            if off.any():
                raise ConeInputError(
                    f"'lines': some lines are not in the null space of A "
                    f"(line {int(np.argmax(off)) + 1} first)")
            off = np.abs(R @ L.T).max(axis=1, initial=0.0) > atol
            if off.any():
                raise ConeInputError(
                    f"'rays': ray {int(np.argmax(off)) + 1} is not orthogonal to the lines "
                    "(store the rays of the pointed part: each ray minus its part along the "
                    "lines)")
        return cone

    # ------------------------------------------------------------------ exact views
    @property
    def A_exact(self) -> np.ndarray | None:
        """``A`` as given, exactly: an ``(m, d)`` object array of ``Fraction`` (integers have
        denominator 1), or ``None`` when ``A`` was given in floats that are not all integral."""
        if self._given_exact is not None:
            given = self._given_exact
        elif self.is_rational:
            assert self._exact is not None
            given = self._exact.given
        else:
            return None
        return _as_object_matrix([[Fraction(v) for v in row] for row in given], self.dim)

    @property
    def is_rational(self) -> bool:
        """True when ``A`` was given with integer or fractional entries (integral floats count)."""
        return self._exact is not None and self._exact.input_rational

    @_cached
    def rays_exact(self) -> np.ndarray | None:
        """The rays as primitive integer vectors (same order and directions as :attr:`rays`),
        or ``None`` when ``A`` was not rational."""
        if self._stored_rays_exact is not None:
            return self._stored_rays_exact
        if not self.is_rational:
            return None
        return _int_array(self._rays_int, self.dim)

    @_cached
    def lines_exact(self) -> np.ndarray | None:
        """An integer basis of the lineality space (not orthonormal), or ``None``."""
        if not self.is_rational:
            return None
        return _int_array(self._lines_int, self.dim)

    @_cached
    def _rays_int(self) -> IntMatrix:
        """The exact rays: lifted, and projected onto the row space when ``A`` has lines."""
        assert self._exact is not None
        ex = self._exact
        if len(ex.pivot_cols) == self.dim:
            return [list(x) for x in ex.lifted_rays]
        return self._later({"rays_exact"})["rays_exact"]

    @_cached
    def _lines_int(self) -> IntMatrix:
        assert self._exact is not None
        if len(self._exact.pivot_cols) == self.dim:
            return []
        return self._later({"lines_exact"})["lines_exact"]

    def precompute(self, names: Iterable[str] = VIEWS, *, ticket: Ticket | None = None) -> Cone:
        """Compute now, in one run under the cone's limits, those of ``names`` (from
        :data:`VIEWS`: :attr:`redundant_rows`, :attr:`rays_exact`, :attr:`lines_exact`) not yet
        known, so that reading them later costs nothing; returns the cone. Raises as
        :meth:`from_inequalities` does."""
        names = set(names)
        unknown = names - set(VIEWS)
        if unknown:
            raise ValueError(f"precompute: unknown name(s) {sorted(unknown)}; use {VIEWS}")
        if self._exact is None or not self.is_rational:
            names -= {"rays_exact", "lines_exact"}
        if self._exact is None:
            if "redundant_rows" in names and "redundant_rows" not in self.__dict__:
                self.__dict__["redundant_rows"] = tuple(redundant_rows(
                    _float_rows_as_ints(self.A), limits=self._limits or DEFAULT_LIMITS,
                    ticket=ticket))
            return self
        have = {"redundant_rows": "redundant_rows", "rays_exact": "_rays_int",
                "lines_exact": "_lines_int"}
        want = {_WANT[n] for n in names if have[n] not in self.__dict__}
        if len(self._exact.pivot_cols) == self.dim:
            want -= {"rays_exact", "lines_exact"}  # no lines: nothing to project or to span
        if want:
            self._later(want, ticket)
        return self

    def _later(self, want: set[str], ticket: Ticket | None = None) -> dict:
        """Compute ``want`` for this cone now, under the limits it was built with."""
        assert self._exact is not None
        ex = self._exact
        out = _compute(ex.rows, self.dim, (ex.pivot_rows, ex.pivot_cols), want,
                       self._limits or DEFAULT_LIMITS, ticket, rays=ex.reduced_rays)
        self._store(out)
        return out

    def _store(self, out: dict) -> None:
        """Keep what a run computed besides the rays (cached views live in __dict__)."""
        if "redundant" in out:
            self.__dict__["redundant_rows"] = tuple(out["redundant"])
        if "rays_exact" in out:
            self.__dict__["_rays_int"] = out["rays_exact"]
        if "lines_exact" in out:
            self.__dict__["_lines_int"] = out["lines_exact"]

    def _generator_rows(self) -> list[list[Any]]:
        """Rays then lines, exact integers when available; used as facet normals of the polar."""
        if self._exact is not None:
            ex = self._exact
            lines = self._lines_int
            rays = [list(x) for x in ex.lifted_rays]
        else:
            rays, lines = self.rays.tolist(), self.lines.tolist()
        return rays + lines + [[-v for v in row] for row in lines]

    # ------------------------------------------------------------------ derived cones
    @_cached
    def redundant_rows(self) -> tuple[int, ...]:
        """0-based indices of rows of ``A`` implied by the others (zero rows included).

        Rows are examined in order, so of two equal rows the later one is reported.
        """
        if self._exact is None:
            return tuple(redundant_rows(_float_rows_as_ints(self.A),
                                        limits=self._limits or DEFAULT_LIMITS))
        return tuple(self._later({"redundant"})["redundant"])

    def irredundant(self) -> Cone:
        """The same cone with the rows in :attr:`redundant_rows` removed from ``A``."""
        drop = set(self.redundant_rows)
        keep = [i for i in range(self.A.shape[0]) if i not in drop]
        if self._exact is not None and self.is_rational:
            sub = _as_object_matrix([self._exact.given[i] for i in keep], self.dim)
        else:
            sub = self.A[keep]
        return Cone.from_inequalities(sub, limits=self._limits or DEFAULT_LIMITS)

    def polar(self) -> Cone:
        r"""The polar cone :math:`C^\circ = \{y : y \cdot x \le 0\ \forall x \in C\}`,
        generated by the rows of ``A``."""
        if self._exact is not None and self.is_rational:
            gens = _as_object_matrix(self._exact.rows, self.dim)
        else:
            gens = self.A
        return Cone.from_generators(gens, limits=self._limits or DEFAULT_LIMITS)

    def same_as(self, other: Cone, atol: float = 1e-8) -> bool:
        """Whether two cones are the same set: same lines' span and the same rays."""
        if self.dim != other.dim or self.rays.shape != other.rays.shape:
            return False
        if self.lines.shape != other.lines.shape:
            return False
        if self.lines.shape[0]:
            # Same subspace: projecting one basis onto the other loses nothing.
            P = other.lines.T @ other.lines
            if not np.allclose(self.lines @ P, self.lines, atol=atol):
                return False
        dist = np.linalg.norm(self.rays[:, None, :] - other.rays[None, :, :], axis=2)
        if dist.size == 0:
            return True
        return bool(np.all(dist.min(axis=1) <= atol) and np.all(dist.min(axis=0) <= atol))

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        m = self.A.shape[0]
        return (
            f"Cone(dim={self.dim}, rows={m}, rays={self.rays.shape[0]}, "
            f"lines={self.lines.shape[0]}, kind='{self.kind}')"
        )

    def summary(self) -> str:
        """One line for a status bar: ``d = 3 · 4 rays · 0 lines · pointed``."""
        k, ell = self.rays.shape[0], self.lines.shape[0]
        return (
            f"d = {self.dim} · {k} ray{'s' if k != 1 else ''} · "
            f"{ell} line{'s' if ell != 1 else ''} · {self.kind}"
        )


# ---------------------------------------------------------------------- the exact work
def _compute(rows: IntMatrix, d: int, pivots: tuple[list[int], list[int]] | None,
             want: set[str], limits: Limits, ticket: Ticket | None,
             rays: IntMatrix | None = None) -> dict:
    """Run the exact work ``want`` (see :func:`conecore._cdd_worker.run`) on the integer rows:
    here when its estimated cost is within ``limits.in_process_seconds``, else in a child.

    When everything together is too much for this process but the rays alone are not, they
    are computed here first, and the rest (redundant rows, exact views) is then estimated from
    their true number: most cones never pay for a child process.
    """
    backend = resolve_backend(limits.backend)
    m = len(rows)
    job: dict = {"rows": rows, "ncols": d, "backend": backend}
    if pivots is not None:
        job["pivot_rows"], job["pivot_cols"] = pivots
        if not pivots[1]:  # A = 0: no rays, every row redundant, every direction a line
            out: dict = {"rays": []}
            if "redundant" in want:
                out["redundant"] = list(range(m))
            if "rays_exact" in want:
                out["rays_exact"] = []
            if "lines_exact" in want:
                out["lines_exact"] = [[int(i == j) for j in range(d)] for i in range(d)]
            return out
    if rays is not None:
        job["rays"] = rays
        want = want - {"rays"}
    bits = max_bits(rows)
    rank = None if pivots is None else len(pivots[1])

    def cost(what: set[str], nrays: int | None) -> float:
        if pivots is None:
            return math.inf  # the elimination itself is too slow for this process
        return estimate_seconds(m, d, what, rank=rank, bits=bits, nrays=nrays,
                                backend=backend)

    nrays = None if rays is None else len(rays)
    if cost(want, nrays) <= limits.in_process_seconds:
        return solve(dict(job, want=sorted(want)), limits, seconds=0.0)
    rest = want - {"rays"}
    if "rays" in want and rest and cost({"rays"}, None) <= limits.in_process_seconds:
        # The rays are cheap here; what else is wanted is estimated from their true number.
        out = solve(dict(job, want=["rays"]), limits, seconds=0.0)
        later = dict(job, want=sorted(rest), rays=out["rays"])
        out.update(solve(later, limits, seconds=cost(rest, len(out["rays"])), ticket=ticket))
        return out
    return solve(dict(job, want=sorted(want)), limits, seconds=math.inf, ticket=ticket)


# ---------------------------------------------------------------------- helpers
def _float_part(M: Any, name: str, d: int) -> np.ndarray:
    """A stored part (rays or lines): finite float rows of width ``d``; ``[]`` is none."""
    try:
        arr = np.asarray(M if M is not None else [], dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        raise ConeInputError(f"'{name}' must hold rows of numbers of equal length") from None
    if arr.size == 0:
        return np.zeros((0, d))
    if arr.ndim != 2 or arr.shape[1] != d:
        raise ConeInputError(f"'{name}' must have rows of length {d} (the columns of A)")
    if not np.all(np.isfinite(arr)):
        raise ConeInputError(f"'{name}' holds NaN or infinity")
    return arr


def _power_of_two(peak: np.ndarray) -> np.ndarray:
    """The power of two ``2^e <= peak < 2^(e + 1)`` (0.5 for 0, inf and NaN): dividing by it is
    exact, and it is finite for every finite ``peak``."""
    return np.ldexp(1.0, np.frexp(peak)[1] - 1)


def row_scales(A: Any, limit: int = 60) -> np.ndarray:
    """Per row of ``A``: 1, or for a row whose largest entry is past ``2^limit`` (or below
    ``2^-limit`` but not 0) the power of two that divides that entry into ``[1, 2)``."""
    A = np.asarray(A, dtype=np.float64)
    peak = np.abs(A).max(axis=1, initial=0.0) if A.ndim == 2 else np.zeros(0)
    far = (peak > 2.0**limit) | ((peak > 0) & (peak < 2.0**-limit))
    return np.where(far, _power_of_two(peak), 1.0)


def rows_in_range(A: Any, limit: int = 60) -> np.ndarray:
    """``A`` (float64, a copy) with its rows divided by :func:`row_scales`: the same cone (a
    positive row scaling; for a polyhedron divide ``b`` by the same), with entries that float32
    holds and whose squares do not overflow. Rows in range are kept bit for bit. What the
    layers, the projections, the closed form and the training loop compute with (entries past
    1e154 overflowed their norms; past 3e38 a float32 layer's ``A`` was inf)."""
    A = np.array(A, dtype=np.float64)
    return A / row_scales(A, limit)[:, None] if A.ndim == 2 and len(A) else A


def row_norms(rows: np.ndarray) -> np.ndarray:
    """The L2 norms of ``rows`` (``(n, d)``) without overflow in the squares: each row scaled
    by a power of two first (inf only where a norm is past float64's range)."""
    scale = _power_of_two(np.abs(rows).max(axis=1, initial=0.0))
    with np.errstate(over="ignore"):
        return np.linalg.norm(rows / scale[:, None], axis=1) * scale


def unit_rows(rows: np.ndarray) -> np.ndarray:
    """Rows over their norms (zero rows stay zero), scaled by a power of two at their largest
    entry first: the same result where nothing overflows, and right where the squares of
    entries past ~1e154 would (the rows came out 0)."""
    rows = rows / _power_of_two(np.abs(rows).max(axis=1, keepdims=True, initial=0.0))
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


def _unit_parts(R: np.ndarray, L: np.ndarray, tol: float = 1e-9
                ) -> tuple[np.ndarray, np.ndarray]:
    """Stored rays and lines as a :class:`Cone` holds them: unit rays, orthonormal lines, the
    rays orthogonal to the lines (checked by the caller, after the lines' own check). Rows that
    already are (what :func:`cone_to_json` writes) are kept bit for bit; other rays are scaled
    to unit length (entries past 1e154 overflowed their norm: the ray became 0, or inf in a
    layer) and other lines orthonormalised. A zero ray and a line that is a combination of the
    ones before it raise :class:`ConeInputError`, naming the row."""
    zero = np.abs(R).max(axis=1, initial=0.0) == 0
    if zero.any():
        raise ConeInputError(f"'rays': ray {int(np.argmax(zero)) + 1} is zero (a ray is a "
                             "direction)")
    if not _is_unit(R):
        R = unit_rows(R)
    if len(L):
        unit = unit_rows(L)
        if np.abs(unit @ unit.T - np.eye(len(L))).max() > tol:
            Q, T = np.linalg.qr(unit.T)
            dependent = np.abs(np.diag(T)) <= tol
            if dependent.any():
                raise ConeInputError(f"'lines': line {int(np.argmax(dependent)) + 1} is a "
                                     "combination of the lines before it")
            L = Q.T * np.sign(np.diag(T))[:, None]  # each line keeps its direction's sense
        elif not _is_unit(L):
            L = unit
    return R, L


def _is_unit(rows: np.ndarray) -> bool:
    with np.errstate(over="ignore"):
        return bool((np.abs(np.linalg.norm(rows, axis=1) - 1) <= 4 * np.finfo(float).eps).all())


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float64)
    a.setflags(write=False)
    return a


def _int_array(rows: IntMatrix, d: int) -> np.ndarray:
    if not rows:
        return np.zeros((0, d), dtype=np.int64)
    if all(abs(v) < 2**62 for row in rows for v in row):
        return np.array(rows, dtype=np.int64)
    return np.array(rows, dtype=object)


def _as_object_matrix(rows: list[list[Any]], d: int) -> np.ndarray:
    out = np.empty((len(rows), d), dtype=object)
    for i, row in enumerate(rows):
        out[i, :] = row
    return out


def _float_rows_as_ints(A: np.ndarray) -> IntMatrix:
    return [primitive(rationalize_row(row)) for row in A.tolist()]


def _unit_floats(vec: list[int]) -> list[float]:
    """An integer vector as floats scaled to max-norm 1 (no overflow for huge integers)."""
    big = max(abs(v) for v in vec) or 1
    return [v / big for v in vec]


def _unit_fractions(vec: list[Fraction]) -> list[float]:
    big = max(abs(v) for v in vec) or 1
    return [float(v / big) for v in vec]


def _float_generators(
    basis: IntMatrix, reduced_rays: IntMatrix, pivot_cols: list[int], d: int
) -> tuple[np.ndarray, np.ndarray]:
    r"""Orthonormal lines and unit rays (orthogonal to the lines) in float64.

    ``basis`` are ``r`` independent integer rows of ``A``; with :math:`B^\top = Q R` (QR), the
    lines are the last ``d - r`` columns of ``Q`` and the projection of a lifted ray ``x`` onto
    the row space is :math:`Q_r R^{-\top} (B x)`. ``B x`` is computed exactly in integers, so the
    result is accurate even when ``x`` itself lies mostly along the lines.
    """
    r = len(basis)
    if r == 0:
        return np.eye(d), np.zeros((0, d))
    B = np.array([_unit_floats(row) for row in basis])
    scales = [max(abs(v) for v in row) for row in basis]
    if r == d:
        lines = np.zeros((0, d))
        X = np.zeros((len(reduced_rays), d))
        for k, y in enumerate(reduced_rays):
            X[k, pivot_cols] = _unit_floats(y)
    else:
        Q, R_ = np.linalg.qr(B.T, mode="complete")
        lines = Q[:, r:].T.copy()
        Bx = np.array([
            _unit_fractions([
                Fraction(sum(row[j] * v for j, v in zip(pivot_cols, y)), s)
                for row, s in zip(basis, scales)
            ])
            for y in reduced_rays
        ]).reshape(len(reduced_rays), r)
        diag = np.abs(np.diag(R_[:r]))
        if not diag.min() > ILL_CONDITIONED * diag.max():  # NaN too
            return _exact_float_generators(basis, reduced_rays, pivot_cols, d)
        # Q_r^T x solves R_r^T c = B x (B is the row-scaled basis, hence the scales above).
        C = np.linalg.solve(R_[:r].T, Bx.T).T if len(Bx) else np.zeros((0, r))
        X = C @ Q[:, :r].T
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return lines, X / np.where(norms > 0, norms, 1.0)


ILL_CONDITIONED = 1e-8
"""In :func:`_float_generators`: where the smallest diagonal entry of the QR factor of the
row-scaled basis is at most this times the largest, float64 cannot tell the basis rows apart
well enough for the lines and rays (rows such as ``(1e200, 1/3, -1e30, -7/2)`` and
``(1e300, -7/2, -3, 1e-300)`` are both ``e_1`` in float64: the solve raised "Singular
matrix"), and :func:`_exact_float_generators` computes them instead."""

MAX_EXACT_LINES = 64
"""The most lines :func:`_exact_float_generators` makes orthogonal over the rationals (its cost
grows as ``lines^2 * d``)."""


def _exact_float_generators(basis: IntMatrix, reduced_rays: IntMatrix, pivot_cols: list[int],
                            d: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_float_generators` in exact arithmetic, each vector rounded once at the end: an
    integer basis of the lineality space made orthogonal over the rationals (Gram-Schmidt),
    the lifted rays projected onto the row space exactly. For bases that float64 cannot tell
    apart; refused (with the reason) past :data:`MAX_EXACT_LINES` lines."""
    null = nullspace_basis(basis, d)
    if len(null) > MAX_EXACT_LINES:
        raise ConeInputError(
            f"A's rows are too close to dependent in float64 (entries of one row span hundreds "
            f"of orders of magnitude) for this cone's {len(null)} lines to be computed: exact "
            f"arithmetic does that for at most {MAX_EXACT_LINES} lines")
    ortho: list[list[Fraction]] = []
    for v in null:
        w = [Fraction(x) for x in v]
        for u in ortho:
            c = sum(a * b for a, b in zip(w, u)) / sum(a * a for a in u)
            w = [a - c * b for a, b in zip(w, u)]
        ortho.append(w)
    lifted = exact_pure.lift(reduced_rays, pivot_cols, d)
    rays = project_to_rowspace(basis, list(range(len(basis))), lifted)

    def unit(vectors: list) -> np.ndarray:
        X = np.array([_unit_fractions(v) for v in vectors], dtype=float).reshape(len(vectors), d)
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        return X / np.where(norms > 0, norms, 1.0)

    return unit(ortho), unit(rays)


_NUMERIC_KINDS = "biuf"


def _check_size(name: str, m: int, d: int, limits: Limits) -> None:
    """Refuse an ``m x d`` matrix over ``limits`` (before any exact arithmetic on it)."""
    if d > limits.max_dim:
        raise ConeTooLargeError(f"{name} has {d} columns; the limit is {limits.max_dim}")
    if m > limits.max_rows:
        raise ConeTooLargeError(f"{name} has {m} rows; the limit is {limits.max_rows}")
    work = min(m, d) * m * d
    if work > limits.max_elimination:
        raise ConeTooLargeError(
            f"{name} is {m} x {d}: exact elimination would take about {work:,} operations, "
            f"over the limit of {limits.max_elimination:,}"
        )


def validate_matrix(
    A: Any, name: str, *, allow_empty: bool = True, limits: Limits | None = None
) -> tuple[np.ndarray, IntMatrix, bool]:
    """Check a matrix-like input and return it as float64, as exact rows (ints and Fractions;
    floats rationalised), and whether every entry was rational (ints, fractions, integral floats).
    With ``limits``, a matrix over them is refused by its shape, before its entries are
    converted (rationalising 50,000 floats takes seconds).

    Messages are 1-based: "A: row 2, column 3: ...".
    """
    if isinstance(A, (str, bytes)):
        from conecore.formats import parse_matrix

        A = parse_matrix(A)
    if isinstance(A, np.ndarray) and A.dtype.kind in _NUMERIC_KINDS:
        arr = A
    else:
        arr = _to_object_array(A, name)
    if arr.ndim != 2:
        if arr.ndim == 1 and arr.shape[0] > 0:
            raise ConeInputError(
                f"{name} must be a matrix (m x d); got a vector of length {arr.shape[0]}: "
                "wrap it in a list for a single row"
            )
        if arr.ndim == 1 or arr.ndim == 0:
            raise ConeInputError(f"{name} is empty; give at least one row or the shape (0, d)")
        raise ConeInputError(f"{name} must be a matrix (m x d); got {arr.ndim} dimensions")
    m, d = arr.shape
    if d == 0:
        raise ConeInputError(f"{name} has no columns; a cone needs a dimension d >= 1")
    if m == 0 and not allow_empty:
        raise ConeInputError(f"{name} has no rows")
    if limits is not None:
        _check_size(name, m, d, limits)
    if arr.dtype.kind in _NUMERIC_KINDS:
        return _validate_numeric(arr, name)
    return _validate_objects(arr, name)


def _to_object_array(A: Any, name: str) -> np.ndarray:
    if isinstance(A, np.ndarray):
        return A.astype(object) if A.dtype != object else A
    try:
        rows = list(A)
    except TypeError:
        raise ConeInputError(
            f"{name} must be a matrix (a list of rows); got {type(A).__name__}"
        ) from None
    if not rows:
        return np.zeros((0,), dtype=object)
    lengths = []
    for row in rows:
        if isinstance(row, (str, bytes)) or not isinstance(row, Iterable):
            lengths.append(None)
        else:
            lengths.append(len(list(row)))
    if all(n is None for n in lengths):
        out = np.empty(len(rows), dtype=object)
        out[:] = rows
        return out
    for i, n in enumerate(lengths):
        if n is None:
            raise ConeInputError(f"{name}: row {i + 1} is a single value, not a row of numbers")
        if n != lengths[0]:
            raise ConeInputError(
                f"{name}: row {i + 1} has {n} entries but row 1 has {lengths[0]}; "
                "every row needs the same number of columns"
            )
    out = np.empty((len(rows), lengths[0]), dtype=object)
    for i, row in enumerate(rows):
        vals = list(row)
        for j, v in enumerate(vals):
            if isinstance(v, (list, tuple, np.ndarray)):
                raise ConeInputError(
                    f"{name}: row {i + 1}, column {j + 1} is a list; nesting is deeper than a "
                    "matrix"
                )
            out[i, j] = v
    return out


def _validate_numeric(arr: np.ndarray, name: str) -> tuple[np.ndarray, IntMatrix, bool]:
    if arr.dtype.kind == "f":
        A = np.asarray(arr, dtype=np.float64)
        bad = ~np.isfinite(A) | (np.abs(A) >= FLOAT_MAX)
        if bad.any():
            i, j = map(int, np.argwhere(bad)[0])
            raise ConeInputError(f"{name}: row {i + 1}, column {j + 1}: {_describe_bad(A[i, j])}")
        integral = bool(np.all(A == np.trunc(A))) and bool(np.all(np.abs(A) < 2.0**53))
        if integral:
            return A, A.astype(np.int64).tolist(), True
        return A, [rationalize_row(row) for row in A.tolist()], False
    return np.asarray(arr, dtype=np.float64), np.asarray(arr).astype(np.int64).tolist(), True


def _primitive_ints(row: list[int]) -> list[int]:
    g = math.gcd(*row)
    return [v // g for v in row] if g > 1 else row


def _too_long(i: int, bits: int) -> ConeTooLargeError:
    # cddlib reads integers through their decimal text, and Python refuses to print integers
    # of over 4,300 digits; elimination would crawl long before.
    return ConeTooLargeError(
        f"A: row {i + 1} needs integers of about {int(bits * 0.30103):,} digits once its "
        f"fractions share a denominator; the limit is {int(MAX_ENTRY_BITS * 0.30103):,} "
        "(use shorter fractions or decimals)")


def _bounded_integer_rows(rows: list[list[Any]]) -> IntMatrix:
    """Primitive integer rows, refusing a row whose integers would pass ``MAX_ENTRY_BITS``
    as soon as its common denominator does (scaling 275 rows of 17-digit fractions to the
    end took a second before the refusal)."""
    out: IntMatrix = []
    for i, row in enumerate(rows):
        if not all(type(v) is int for v in row):
            lcm = 1
            for v in row:
                q = v.denominator
                lcm = lcm * q // math.gcd(lcm, q)
                if lcm.bit_length() > MAX_ENTRY_BITS:
                    raise _too_long(i, lcm.bit_length())
            row = primitive(row)
        row = _primitive_ints(row)
        bits = max((abs(v).bit_length() for v in row), default=0)
        if bits > MAX_ENTRY_BITS:
            raise _too_long(i, bits)
        out.append(row)
    return out


def _integer_rows(rows: list[list[Any]]) -> IntMatrix:
    """Rows of ints and Fractions scaled to integer rows (ints pass through untouched)."""
    return [row if all(type(v) is int for v in row) else primitive(row) for row in rows]


def _direction_rows(floats: np.ndarray, rows: list[list[Any]], exact: bool) -> IntMatrix:
    """Generators as primitive integer rows. A generator is a direction (any positive multiple
    is the same), so a float row is also read scaled by its smallest entry: a unit vector
    ``(2, 1, -1) / sqrt(6)`` in floats has entries whose simplest rationals (each within the
    float tolerance) are not in the ratio 2 : 1 : -1, but the scaled row is ``(2, 1, -1)`` to
    round-off. The simpler of the two readings (both within the tolerance) is kept."""
    out = _integer_rows(rows)
    if exact:
        return out
    for i, row in enumerate(floats.tolist()):
        size = [abs(v) for v in row]
        peak = max(size, default=0.0)
        small = [v for v in size if v > FLOAT_REL_TOL * peak]
        if not small:
            continue
        scaled = primitive(rationalize_row([v / min(small) for v in row]))
        if max(map(abs, scaled)) < max(map(abs, out[i])):
            out[i] = scaled
    return out


def _describe_bad(v: float) -> str:
    if math.isnan(v):
        return "NaN is not a number a cone can use"
    if math.isinf(v):
        return "infinity is not allowed"
    return f"{v!r} overflows (|x| must be below 1e308)"


def _validate_objects(arr: np.ndarray, name: str) -> tuple[np.ndarray, IntMatrix, bool]:
    m, d = arr.shape
    A = np.empty((m, d), dtype=np.float64)
    rows: list[list[Any]] = []
    rational = True
    for i in range(m):
        row: list[Any] = []
        for j in range(d):
            where = f"{name}: row {i + 1}, column {j + 1}"
            value = _entry(arr[i, j], where)
            try:
                A[i, j] = float(value)
            except OverflowError:
                A[i, j] = math.inf
            if not abs(A[i, j]) < FLOAT_MAX:
                raise ConeInputError(f"{where}: {arr[i, j]!r} overflows (|x| must be below 1e308)")
            row.append(value)
        if any(isinstance(v, float) for v in row):
            # Floats are rationalised relative to the whole row (see exact.rationalize_row).
            rational = False
            approx = rationalize_row(A[i].tolist())
            row = [a if isinstance(v, float) else v for v, a in zip(row, approx)]
        rows.append(row)
    return A, rows, rational


def _entry(v: Any, where: str) -> Fraction | float:
    """One entry: exact (a Fraction) when it was given exactly, else a finite float."""
    if isinstance(v, (bool, np.bool_)):
        return Fraction(int(v))
    if isinstance(v, (Integral, np.integer)):
        return Fraction(int(v))
    if isinstance(v, Rational):
        return Fraction(v.numerator, v.denominator)
    if isinstance(v, Decimal):
        if not v.is_finite():
            raise ConeInputError(f"{where}: {v} is not a finite number")
        return Fraction(v)
    if isinstance(v, (float, np.floating)) or (isinstance(v, Real) and not isinstance(v, complex)):
        f = float(v)
        if not math.isfinite(f) or abs(f) >= FLOAT_MAX:
            raise ConeInputError(f"{where}: {_describe_bad(f)}")
        if f == math.trunc(f) and abs(f) < 2.0**53:
            return Fraction(int(f))
        return f
    if isinstance(v, str):
        shown = v if len(v) <= 20 else v[:20] + "…"
        raise ConeInputError(f"{where}: '{shown}' is text, not a number")
    raise ConeInputError(f"{where}: {type(v).__name__} is not a real number")

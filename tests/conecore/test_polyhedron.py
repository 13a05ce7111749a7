"""Polyhedra: counts by formula, kinds, exact vertices, an independent brute-force check of
random polyhedra, H -> V -> H round trips, empty polyhedra, stored parts and errors.

Every test runs once per exact backend (the ``dd_backend`` fixture, tests/conftest.py).
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

import conecore as cc
from conecore.exact import solve
from conecore.polyhedron import Polyhedron, PolyhedronKind

pytestmark = pytest.mark.usefixtures("dd_backend")

K = PolyhedronKind


# ---------------------------------------------------------------------- the classic polyhedra
def cube(n: int, lo: int = -1, hi: int = 1) -> Polyhedron:
    A = np.vstack([np.eye(n, dtype=np.int64), -np.eye(n, dtype=np.int64)])
    return Polyhedron.from_inequalities(A, [hi] * n + [-lo] * n)


def simplex(n: int, probability: bool = False) -> Polyhedron:
    """``{x >= 0, sum x <= 1}`` (n + 1 vertices) or ``{x >= 0, sum x = 1}`` (n vertices)."""
    A = np.vstack([-np.eye(n, dtype=np.int64), np.ones((1, n), dtype=np.int64)])
    return Polyhedron.from_inequalities(A, [0] * n + [1], equalities=[n] if probability else None)


def cross_polytope(n: int) -> Polyhedron:
    A = np.array(list(itertools.product([-1, 1], repeat=n)), dtype=np.int64)
    return Polyhedron.from_inequalities(A, [1] * len(A))


def rows_of(M: np.ndarray | None) -> set[tuple]:
    assert M is not None
    return {tuple(row) for row in M.tolist()}


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6])
def test_cube_has_2_to_the_n_vertices_and_2n_facets(n):
    P = cube(n)
    assert P.vertices.shape == (2**n, n) and P.rays.shape == (0, n) and P.lines.shape == (0, n)
    assert rows_of(P.vertices_exact) == set(itertools.product([-1, 1], repeat=n))
    assert P.kind == K.POLYTOPE and P.is_bounded and P.is_pointed
    Q = Polyhedron.from_generators(P.vertices_exact)
    assert Q.A.shape == (2 * n, n) and not Q.equalities
    assert Q.same_as(P)
    # Each facet a x <= b of the cube is +-e_i x <= 1.
    assert {(tuple(a), b) for a, b in zip(Q.A.tolist(), Q.b.tolist())} == {
        (tuple(s * e), 1.0) for e in np.eye(n) for s in (1, -1)}


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_simplex_has_n_plus_1_vertices(n):
    P = simplex(n)
    assert len(P.vertices) == n + 1 and P.kind == K.POLYTOPE
    assert rows_of(P.vertices_exact) == {tuple(r) for r in np.vstack(
        [np.zeros((1, n), dtype=int), np.eye(n, dtype=int)]).tolist()}
    Q = Polyhedron.from_generators(P.vertices_exact)
    assert Q.A.shape == (n + 1, n) and Q.same_as(P)


@pytest.mark.parametrize("n", [2, 3, 6])
def test_probability_simplex_has_n_vertices_and_an_equality(n):
    P = simplex(n, probability=True)
    assert rows_of(P.vertices_exact) == {tuple(r) for r in np.eye(n, dtype=int).tolist()}
    assert P.kind == K.POLYTOPE and P.equalities == (n,)
    Q = Polyhedron.from_generators(np.eye(n, dtype=np.int64))
    assert len(Q.equalities) == 1 and Q.A.shape == (n + 1, n)
    (k,) = Q.equalities
    assert abs(Q.A[k]).tolist() == [1.0] * n and abs(Q.b[k]) == 1.0
    assert Q.same_as(P)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_cross_polytope_has_2n_vertices_and_2_to_the_n_facets(n):
    P = cross_polytope(n)
    assert len(P.vertices) == 2 * n and P.kind == K.POLYTOPE
    assert rows_of(P.vertices_exact) == {tuple(int(s) * e) for e in np.eye(n, dtype=int)
                                         for s in (1, -1)}
    Q = Polyhedron.from_generators(P.vertices_exact)
    assert Q.A.shape == (2**n, n) and Q.same_as(P)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_shifted_orthant_has_one_vertex_and_n_rays(n):
    P = Polyhedron.from_inequalities(-np.eye(n, dtype=np.int64), [-1] * n)  # x >= 1
    assert P.vertices.tolist() == [[1.0] * n]
    assert rows_of(P.rays_exact) == {tuple(e) for e in np.eye(n, dtype=int).tolist()}
    assert P.kind == (K.HALF_SPACE if n == 1 else K.UNBOUNDED)  # a half-line is a half-space
    assert not P.is_bounded and P.is_pointed
    Q = Polyhedron.from_generators([[1] * n], rays=np.eye(n, dtype=np.int64))
    assert Q.same_as(P) and Q.A.shape == (n, n)


def test_slab_with_lines_has_the_two_vertices_of_its_pointed_part():
    # {-1 <= x_1 <= 1} in R^3: no vertex as a set; conv{(+-1, 0, 0)} + lin{e2, e3}.
    P = Polyhedron.from_inequalities([[1, 0, 0], [-1, 0, 0]], [1, 1])
    assert rows_of(P.vertices_exact) == {(1, 0, 0), (-1, 0, 0)}
    assert P.rays.shape == (0, 3) and P.lines.shape == (2, 3)
    assert np.allclose(P.lines @ P.lines.T, np.eye(2)) and np.allclose(P.lines[:, 0], 0)
    assert P.kind == K.CONTAINS_LINES and not P.is_bounded and not P.is_pointed
    Q = Polyhedron.from_generators([[1, 0, 0], [-1, 0, 0]], lines=[[0, 1, 0], [0, 1, 1]])
    assert Q.same_as(P) and Q.A.shape == (2, 3)
    assert P.contains([[0.5, 1e6, -1e6], [1.5, 0, 0]]).tolist() == [True, False]


def test_the_vertices_of_a_skew_slab_are_orthogonal_to_its_lines():
    # {0 <= x + y <= 2} in R^2: lines along (1, -1), pointed part on the diagonal.
    P = Polyhedron.from_inequalities([[1, 1], [-1, -1]], [2, 0])
    assert rows_of(P.vertices_exact) == {(0, 0), (1, 1)}
    assert np.allclose(P.vertices @ P.lines.T, 0)


@pytest.mark.parametrize(("A", "b", "eq", "kind", "counts"), [
    ([[1], [-1]], [-1, -1], None, K.EMPTY, (0, 0, 0)),             # x <= -1, x >= 1
    ([[1, 0], [0, 1], [-1, 0], [0, -1]], [2, 3, -2, -3], None, K.POINT, (1, 0, 0)),
    ([[1, 1]], [4], None, K.HALF_SPACE, (1, 1, 1)),
    ([[1, 1, 0]], [4], [0], K.AFFINE_SUBSPACE, (1, 0, 2)),         # a plane
    ([[1, 0, 0], [0, 1, 0]], [1, 2], [0, 1], K.AFFINE_SUBSPACE, (1, 0, 1)),  # a line
    ([[0, 0]], [1], None, K.WHOLE_SPACE, (1, 0, 2)),
    (np.zeros((0, 3)), [], None, K.WHOLE_SPACE, (1, 0, 3)),
    ([[-1, 0, 0], [0, -1, 0]], [0, 0], None, K.CONTAINS_LINES, (1, 2, 1)),  # a wedge x a line
    ([[1, -2], [-3, 1]], [0, 0], None, K.UNBOUNDED, (1, 2, 0)),    # a cone is one too
    ([[0, 0], [1, 0]], [-1, 5], None, K.EMPTY, (0, 0, 0)),         # 0 <= -1
    ([[1, 1]], [1], [0], K.AFFINE_SUBSPACE, (1, 0, 1)),
])
def test_kinds(A, b, eq, kind, counts):
    P = Polyhedron.from_inequalities(A, b, equalities=eq)
    assert P.kind == kind
    assert (len(P.vertices), len(P.rays), len(P.lines)) == counts
    assert str(P.kind) == kind.value and kind.value in P.summary() and "Polyhedron(" in repr(P)


def test_empty_polyhedra_never_crash():
    P = Polyhedron.from_inequalities([[1], [-1]], [-1, -1])
    assert P.is_empty and P.is_bounded and P.scale == 0.0
    assert P.contains([[0.0], [5.0]]).tolist() == [False, False]
    assert P.contains([0.0]) is False
    assert P.vertices.shape == P.rays.shape == P.lines.shape == (0, 1)
    assert P.redundant_rows == ()
    with pytest.raises(cc.ConeInputError, match="empty"):
        P.recession_cone()
    Q = Polyhedron.from_generators(np.zeros((0, 2)), rays=[[1, 0]])  # no vertex
    assert Q.kind == K.EMPTY and Q.dim == 2
    assert Polyhedron.from_generators(np.zeros((0, 3))).kind == K.EMPTY
    # cddlib's infeas.ine: the unit cube with x_1 >= 2.
    A = np.vstack([-np.eye(6, dtype=int), np.eye(6, dtype=int), [[-1, 0, 0, 0, 0, 0]]])
    assert Polyhedron.from_inequalities(A, [0] * 6 + [1] * 6 + [-2]).kind == K.EMPTY


def test_exact_vertices_of_rational_input():
    # x + y <= 1/2, 3 x - y <= 1/3, x >= 0, y >= 0
    F = Fraction
    P = Polyhedron.from_inequalities([[1, 1], [3, -1], [-1, 0], [0, -1]],
                                     [F(1, 2), F(1, 3), 0, 0])
    assert P.is_rational and P.vertices_exact.dtype == object
    assert rows_of(P.vertices_exact) == {(F(0), F(0)), (F(0), F(1, 2)), (F(1, 9), F(0)),
                                         (F(5, 24), F(7, 24))}
    for v, vf in zip(P.vertices_exact, P.vertices):
        assert [float(x) for x in v] == vf.tolist()  # floats correctly rounded
    assert P.A_exact.tolist() == [[1, 1], [3, -1], [-1, 0], [0, -1]]
    assert P.b_exact.tolist() == [F(1, 2), F(1, 3), 0, 0]


def test_float_input_is_read_as_in_a_cone():
    P = Polyhedron.from_inequalities([[0.1 + 0.2, 0.0], [-1.0, 0.0]], [0.3, 0.0])  # 0 <= x <= 1
    assert not P.is_rational and P.vertices_exact is None and P.A_exact is None
    assert sorted(P.vertices[:, 0].tolist()) == [0.0, 1.0]
    # Round-off next to the row's entries is read as zero (relative to the whole row [a, b]).
    Q = Polyhedron.from_inequalities([[1.0, 1e-17], [-1.0, 0.0]], [2.0, 1e-18])
    assert Q.kind == K.CONTAINS_LINES and Q.lines.shape == (1, 2)
    assert np.allclose(sorted(Q.vertices[:, 0]), [0.0, 2.0])


def test_huge_and_tiny_integers_stay_exact():
    big = 10**30
    P = Polyhedron.from_inequalities([[1, 0], [-1, 0], [0, 1], [0, -1]], [big, 0, 1, -1])
    assert rows_of(P.vertices_exact) == {(big, 1), (0, 1)}
    assert sorted(P.vertices[:, 0].tolist()) == [0.0, 1e30]
    tiny = Fraction(1, 10**40)
    Q = Polyhedron.from_inequalities([[1], [-1]], [tiny, 0])
    assert rows_of(Q.vertices_exact) == {(tiny,), (0,)}


def test_redundant_rows_and_irredundant():
    P = Polyhedron.from_inequalities([[1, 0], [1, 0], [0, 1], [2, 0], [-1, 0], [0, -1],
                                      [1, 1]], [1, 1, 1, 5, 0, 0, 7])
    assert P.redundant_rows == (1, 3, 6)
    Q = P.irredundant()
    assert Q.A.shape == (4, 2) and Q.same_as(P) and Q.redundant_rows == ()
    # an equality is kept when it matters
    E = Polyhedron.from_inequalities([[1, 1], [-1, 0], [0, -1], [1, 0]], [1, 0, 0, 3],
                                     equalities=[0])
    assert E.redundant_rows == (3,)
    assert E.irredundant().equalities == (0,) and E.irredundant().same_as(E)


def test_from_generators_reads_facets_and_equalities_back():
    # a segment in R^2: the line through it is an equality, two facets bound it
    P = Polyhedron.from_generators([[0, 0], [2, 2]])
    assert P.kind == K.POLYTOPE and len(P.equalities) == 1 and P.A.shape == (3, 2)
    assert rows_of(P.vertices_exact) == {(0, 0), (2, 2)}
    # the facets are reduced modulo the equality: orthogonal to its normal
    (k,) = P.equalities
    others = [i for i in range(3) if i != k]
    assert np.allclose(P.A[others] @ P.A[k], 0)
    # an affine line away from the origin: no trivial row s >= 0 left
    L = Polyhedron.from_generators([[1, 1]], lines=[[0, 1]])
    assert L.kind == K.AFFINE_SUBSPACE and L.A.shape == (1, 2) and L.equalities == (0,)
    assert L.contains([[1, 5], [2, 5]]).tolist() == [True, False]
    # interior points and redundant rays are dropped
    R = Polyhedron.from_generators([[0, 0], [1, 0], [0, 1], [0.25, 0.25]],
                                   rays=[[1, 1], [1, 0], [2, 1]])
    assert len(R.vertices) == 2 and len(R.rays) == 2 and R.kind == K.UNBOUNDED
    W = Polyhedron.from_generators([[0, 0]], lines=np.eye(2, dtype=int))
    assert W.kind == K.WHOLE_SPACE and W.A.shape == (0, 2)


def test_from_generators_errors():
    with pytest.raises(cc.ConeInputError, match="columns"):
        Polyhedron.from_generators([[0, 0]], rays=[[1, 0, 0]])
    with pytest.raises(cc.ConeInputError, match="vertices"):
        Polyhedron.from_generators([[0, "x"]])


@pytest.mark.parametrize(("A", "b", "eq", "pattern"), [
    ([[1, 0]], [1, 2], None, r"b has 2 entries but A has 1 rows"),
    ([[1, 0]], [float("nan")], None, r"b: row 1, column 1: NaN"),
    ([[1, 0]], "1", None, r"b must be a vector"),
    ([[1, 0]], [[1, 2]], None, r"b must be a vector of length 1, not a matrix"),
    ([[1, "a"]], [1], None, r"A: row 1, column 2"),
    ([[1, 0]], [1], [3], r"equalities: row index 3"),
    ([[1, 0]], [1], [True, False], r"one entry per row"),
    ([[1, 0]], [1], [0.5], r"0-based row indices"),
    ([], [], None, r"A is empty"),
])
def test_from_inequalities_errors(A, b, eq, pattern):
    with pytest.raises(cc.ConeInputError, match=pattern):
        Polyhedron.from_inequalities(A, b, equalities=eq)


def test_limits_are_passed_to_the_cone():
    with pytest.raises(cc.ConeTooLargeError, match="columns"):
        Polyhedron.from_inequalities(np.eye(3, dtype=int), [1, 1, 1], limits=cc.Limits(max_dim=3))
    with pytest.raises(cc.ConeTooLargeError):
        Polyhedron.from_inequalities(cross_polytope(4).A, [1] * 16,
                                            limits=cc.Limits(max_rays_bound=5))


def test_time_limit_child_process_and_ticket_are_the_cones():
    from conecore.gate import Ticket

    rng = np.random.default_rng(1)
    N = rng.integers(-50, 51, size=(60, 6))
    with pytest.raises(cc.ConeTimeoutError, match=r"did not finish within 0\.2 s"):
        Polyhedron.from_inequalities(N, [100] * 60,
                                     limits=cc.Limits(timeout=0.2, in_process_seconds=0.0))
    # in a child process, with a ticket, redundant rows computed in the same run
    P = Polyhedron.from_inequalities([[1, 0], [2, 0], [-1, 0], [0, 1], [0, -1]], [1, 5, 0, 1, 0],
                                     ticket=Ticket(owner="test"), precompute=True,
                                     limits=cc.Limits(in_process_seconds=0.0))
    assert "redundant_rows" in P.homogenized.__dict__ and P.redundant_rows == (1,)
    Q = Polyhedron.from_generators([[0, 0], [1, 0], [0, 1]], ticket=Ticket(owner="test"),
                                   limits=cc.Limits(in_process_seconds=0.0))
    assert Q.kind == K.POLYTOPE and len(Q.vertices) == 3


def test_contains_and_scale():
    P = cube(2, 10, 12)
    assert P.scale == pytest.approx(np.hypot(12, 12))
    X = np.array([[11, 11], [12, 12], [12 + 1e-6, 11], [9, 11]])
    assert P.contains(X).tolist() == [True, True, False, False]
    assert P.contains(X[0]) is True
    with pytest.raises(cc.ConeInputError, match="coordinates"):
        P.contains([[1, 2, 3]])
    E = Polyhedron.from_inequalities([[1, 1]], [1], equalities=[0])
    assert E.contains([[0.5, 0.5], [0.5, 0.4]]).tolist() == [True, False]
    # the default tolerance follows the points' precision
    third = np.array([[1 / 3, 2 / 3]], dtype=np.float32)  # rounded: off x + y = 1 by ~3e-8
    assert E.contains(third).tolist() == [True]
    assert E.contains(third.astype(np.float64)).tolist() == [False]
    assert E.contains(third.astype(np.float64), atol=1e-6).tolist() == [True]
    assert E.contains(np.array([[0.5, 0.5001]], dtype=np.float32)).tolist() == [False]


def test_recession_cone_and_from_cone():
    P = Polyhedron.from_inequalities([[-1, 0, 0], [0, -1, 0]], [-1, 2])
    C = P.recession_cone()
    assert isinstance(C, cc.Cone) and len(C.rays) == 2 and len(C.lines) == 1
    cone = cc.Cone.from_inequalities(cc.preset("pyramid"))
    Q = Polyhedron.from_cone(cone)
    assert Q.kind == K.UNBOUNDED and Q.vertices.tolist() == [[0.0] * cone.dim]
    assert len(Q.rays) == len(cone.rays) and Q.same_as(
        Polyhedron.from_inequalities(cc.preset("pyramid"), [0] * len(cone.A)))
    W = Polyhedron.from_cone(cc.Cone.from_inequalities(cc.preset("wedge-line")))
    assert W.kind == K.CONTAINS_LINES
    with pytest.raises(cc.ConeInputError):
        Polyhedron.from_cone("not a cone")  # type: ignore[arg-type]


def test_homogenized_cone_is_the_cone_over_the_polyhedron():
    P = simplex(2)
    H = P.homogenized
    assert H.dim == 3 and H.A[0].tolist() == [0, 0, -1] and len(H.rays) == 3


def test_from_parts_checks_and_keeps_exact_parts():
    P = Polyhedron.from_parts([[1, 0], [-1, 0], [0, 1], [0, -1]], [1, 1, 1, 1],
                              [[1, 1], [1, -1], [-1, 1], [-1, -1]])
    assert P.kind == K.POLYTOPE and P.vertices_exact is not None and P.same_as(cube(2))
    with pytest.raises(cc.ConeInputError, match="vertex 2 does not satisfy"):
        Polyhedron.from_parts([[1, 0]], [1], [[0, 0], [2, 0]], lines=[[0, 1]])
    with pytest.raises(cc.ConeInputError, match="'rays': row 1 violates"):
        Polyhedron.from_parts([[1, 0]], [1], [[0, 0]], rays=[[1, 0]])
    with pytest.raises(cc.ConeInputError, match="'lines': row 1 is not in the null space"):
        Polyhedron.from_parts([[1, 0]], [1], [[1, 0]], lines=[[1, 1]])
    with pytest.raises(cc.ConeInputError, match="not orthogonal to the lines"):
        Polyhedron.from_parts([[1, 0]], [1], [[1, 3]], rays=[[-1, 0]], lines=[[0, 1]])
    with pytest.raises(cc.ConeInputError, match="needs a vertex"):
        Polyhedron.from_parts([[1, 0]], [1], [])
    with pytest.raises(cc.ConeInputError, match="'rays': row 2 is zero"):
        Polyhedron.from_parts([[1, 0]], [1], [[0, 0]], rays=[[-1, 0], [0, 0]])


def test_huge_parts_and_points():
    """Entries past 1e154: a ray's plain norm overflowed (the ray became 0), and so did a
    point's (its tolerance became inf: every such point was inside). Points with inf or NaN
    are in no polyhedron."""
    P = Polyhedron.from_parts([[0, -1]], [0], [[0, 0]], rays=[[0, 1e300]], lines=[[1e300, 0]])
    assert np.array_equal(P.rays, [[0, 1]]) and np.array_equal(np.abs(P.lines), [[1, 0]])
    inside = P.contains(np.array([[1e200, -1e200], [1e200, 1e200], [np.inf, 1], [np.nan, 1],
                                  [1, -1e-12], [1, -1e-3]]))
    assert inside.tolist() == [False, True, False, False, True, False]


# ---------------------------------------------------------------------- random polyhedra
@st.composite
def polyhedra(draw, max_rows=6, max_dim=3):
    d = draw(st.integers(1, max_dim))
    m = draw(st.integers(1, max_rows))
    A = draw(st.lists(st.lists(st.integers(-3, 3), min_size=d, max_size=d),
                      min_size=m, max_size=m))
    b = draw(st.lists(st.integers(-2, 4), min_size=m, max_size=m))
    eq = draw(st.lists(st.integers(0, m - 1), max_size=1))
    return np.array(A, dtype=np.int64), b, eq


def brute_force_vertices(A, b, eq, lines) -> set[tuple]:
    """Vertices of P ∩ (lines)^⊥ by trying every square system of active rows (exact)."""
    d = A.shape[1]
    extra = [list(map(int, row)) for row in lines.tolist()] if lines is not None else []
    need = d - len(extra)
    found = set()
    for S in itertools.combinations(range(len(A)), need):
        M = [list(map(int, A[i])) for i in S] + extra
        rhs = [Fraction(b[i]) for i in S] + [Fraction(0)] * len(extra)
        if np.linalg.matrix_rank(np.array(M, dtype=float)) < d:
            continue
        x = solve(M, rhs)
        ok = all(sum(Fraction(int(a)) * v for a, v in zip(A[i], x)) <= b[i]
                 for i in range(len(A)))
        ok = ok and all(sum(Fraction(int(a)) * v for a, v in zip(A[i], x)) == b[i] for i in eq)
        if ok:
            found.add(tuple(x))
    return found


def exactly_inside(A, b, eq, x) -> bool:
    vals = [sum(Fraction(int(a)) * v for a, v in zip(row, x)) for row in A]
    return all(v <= bi for v, bi in zip(vals, b)) and all(vals[i] == b[i] for i in eq)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(polyhedra())
def test_random_polyhedra_agree_with_brute_force_and_lp(data):
    A, b, eq = data
    P = Polyhedron.from_inequalities(A, b, equalities=eq)
    d = A.shape[1]
    res = linprog(np.zeros(d), A_ub=A[[i for i in range(len(A)) if i not in eq]] if len(
        [i for i in range(len(A)) if i not in eq]) else None,
        b_ub=[b[i] for i in range(len(A)) if i not in eq] or None,
        A_eq=A[eq] if eq else None, b_eq=[b[i] for i in eq] or None,
        bounds=[(None, None)] * d, method="highs")
    assert P.is_empty == (res.status == 2)
    if P.is_empty:
        assert P.kind == K.EMPTY
        return
    assert len(P.lines) == d - np.linalg.matrix_rank(A.astype(float))
    # every generator is exactly feasible
    for v in P.vertices_exact:
        assert exactly_inside(A, b, eq, v)
    for r in P.rays_exact:
        assert np.all(A @ r <= 0) and all((A @ r)[i] == 0 for i in eq)
    for ell in P.lines_exact:
        assert np.all(A @ ell == 0)
    # the vertices of the pointed part, independently
    assert rows_of(P.vertices_exact) == brute_force_vertices(A, b, eq, P.lines_exact)
    assert P.contains(P.vertices).all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(polyhedra(max_dim=4))
def test_h_to_v_to_h_round_trip(data):
    A, b, eq = data
    P = Polyhedron.from_inequalities(A, b, equalities=eq)
    if P.is_empty:
        return
    Q = Polyhedron.from_generators(P.vertices_exact, P.rays_exact, P.lines_exact)
    assert Q.same_as(P)
    assert Q.redundant_rows == ()  # V -> H gives facets only
    # and back again: the same facets
    R = Polyhedron.from_generators(Q.vertices_exact, Q.rays_exact, Q.lines_exact)
    assert sorted(zip(R.A.tolist(), R.b.tolist())) == sorted(zip(Q.A.tolist(), Q.b.tolist()))
    # the facets hold on P's generators and each is tight at one vertex at least
    for a, bi in zip(Q.A_exact, Q.b_exact):
        vals = [sum(x * y for x, y in zip(a, v)) for v in P.vertices_exact]
        assert max(vals) == bi


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 3), st.lists(st.lists(st.integers(-4, 4), min_size=3, max_size=3),
                                   min_size=1, max_size=7))
def test_v_to_h_to_v_round_trip(d, points):
    V = np.array(points, dtype=np.int64)[:, :d]
    P = Polyhedron.from_generators(V)
    assert P.kind in (K.POINT, K.POLYTOPE)
    assert P.contains(V).all()
    assert rows_of(P.vertices_exact) <= {tuple(map(Fraction, row)) for row in V.tolist()}


def test_torch_tensors_are_read_like_arrays():
    torch = pytest.importorskip("torch")
    P = Polyhedron.from_inequalities(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]), torch.tensor([1, 1]))
    assert P.kind == K.CONTAINS_LINES and P.is_rational
    assert P.contains(torch.tensor([[0.5, 3.0]], requires_grad=True)).tolist() == [True]
    Q = Polyhedron.from_generators(torch.eye(2), rays=torch.ones(1, 2))
    assert Q.kind == K.UNBOUNDED


def test_a_vertex_past_float64_is_refused_with_the_reason():
    """0 <= x1 <= 1e200, 0 <= x2 <= 1e200 x1: the vertex (1e200, 1e400) is exact but no
    float64 holds it; float(Fraction) raised OverflowError (the Polyhedra page crashed)."""
    A = np.array([[-1, 0], [1, 0], [0, -1], [-10**200, 1]], dtype=object)
    with pytest.raises(cc.ConeInputError, match="vertex with a coordinate past 1e308"):
        cc.Polyhedron.from_inequalities(A, [0, 10**200, 0, 0])
    P = cc.Polyhedron.from_inequalities(A, [0, 10**100, 0, 0])  # (1e100, 1e300): it fits
    assert np.isclose(P.vertices.max(), 1e300)

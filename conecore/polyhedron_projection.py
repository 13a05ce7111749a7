r"""Test-time projection onto a polyhedron, the baselines of the PolyhedronLayer.

:func:`project_polyhedron` solves :math:`\min_z \tfrac12 \|z - y\|^2` s.t. :math:`A z \le b`
(equalities included) for each row ``y`` of ``Y``:

* ``"osqp"``: one QP per sample with OSQP (the paper's baseline; any polyhedron), set up once
  and warm-started, ``eps_abs = eps_rel = tol``, polished;
* ``"simplex"``: the exact projection onto the probability simplex
  :math:`\{x \ge 0, \sum x = 1\}` by sorting (Held, Wolfe and Crowder 1974; Duchi et al. 2008),
  batched in torch, :math:`O(d \log d)` per sample;
* ``"faces"``: an exact batched projection onto a small polytope. The projection ``p*`` lies in
  the relative interior of a face ``F`` and is the orthogonal projection of ``y`` onto
  ``aff(F)`` (KKT: ``y - p*`` is a combination of the normals tight on ``F``). So the
  candidates are the projections of ``y`` onto the affine hulls of all faces (the polytope
  itself, its facets, ..., its vertices), each an affine map ``P_F y + q_F`` precomputed once,
  and ``p*`` is the nearest feasible candidate: every candidate that is feasible is at least as
  far from ``y`` as ``p*``. Exact up to round-off, no iterations; one candidate per face (a 3-D
  polytope with ``V`` vertices has at most ``6V - 10`` faces), so for small dimensions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from conecore.errors import ConeInputError
from conecore.polyhedron import Polyhedron
from conecore.projection import import_osqp

PROJECTIONS = ("osqp", "simplex", "faces")


def project_polyhedron(poly: Polyhedron, Y: Any, method: str = "osqp", *, tol: float = 1e-6,
                       return_info: bool = False) -> Any:
    """The projections of the rows of ``Y`` (``(n, d)``, numpy or torch) onto ``poly``.

    Returns the same kind of array as ``Y`` (float64 for OSQP; ``Y``'s dtype and device for the
    torch methods), and with ``return_info`` also a dict (``unsolved``: samples OSQP did not
    solve; ``candidates``: the faces tried by ``"faces"``). To project many batches, build a
    :class:`Projector` once (it holds the solver or the precomputed face maps).
    """
    proj = Projector(poly, method, tol=tol)
    Z = proj(Y)
    return (Z, proj.info) if return_info else Z


class Projector:
    """``Projector(poly, method)(Y)``: :func:`project_polyhedron` with its set-up done once
    (OSQP's problem, the face maps, the simplex check)."""

    def __init__(self, poly: Polyhedron, method: str = "osqp", *, tol: float = 1e-6) -> None:
        if not isinstance(poly, Polyhedron):
            raise ConeInputError(
                f"poly has to be a conecore.Polyhedron. Got {type(poly).__name__}")
        if poly.is_empty:
            raise ConeInputError("the polyhedron is empty: there is nothing to project onto")
        if method not in PROJECTIONS:
            raise ConeInputError(
                f"method must be one of {', '.join(PROJECTIONS)}; got {method!r}")
        self.poly, self.method, self.tol = poly, method, tol
        self.info: dict[str, Any] = {}
        if method == "osqp":
            self._solver = osqp_solver(poly, tol)
        elif method == "simplex":
            _check_probability_simplex(poly)
        else:
            self._faces = _FaceData(poly)
            self.info = {"candidates": self._faces.count}

    def __call__(self, Y: Any) -> Any:
        if self.method == "osqp":
            Yn = np.asarray(Y.detach().cpu().numpy() if hasattr(Y, "detach") else Y,
                            dtype=np.float64)
            Z, unsolved = _osqp(self._solver, Yn, self.poly)
            self.info = {"unsolved": unsolved}
            return Z
        import torch

        Yt = Y if isinstance(Y, torch.Tensor) else torch.as_tensor(
            np.asarray(Y, dtype=np.float64))
        Z = project_simplex(Yt) if self.method == "simplex" else self._faces(Yt)
        return Z if isinstance(Y, torch.Tensor) else Z.cpu().numpy()


# ---------------------------------------------------------------------- OSQP
def osqp_solver(poly: Polyhedron, tol: float = 1e-6) -> Any:
    """An OSQP problem ``min 1/2 |z|^2 - y.z  s.t.  A z <= b`` (equalities as ``l = u``), set up
    once; update ``q = -y`` per sample."""
    from scipy import sparse

    osqp = import_osqp()

    d = poly.dim
    A, b = poly.rows_in_range()  # (rows past 1e154: OSQP returned wrong points, with no sign)
    lower = np.full(A.shape[0], -np.inf)
    lower[list(poly.equalities)] = b[list(poly.equalities)]
    G = sparse.csc_matrix(A) if A.shape[0] else sparse.csc_matrix((0, d))
    solver = osqp.OSQP()
    solver.setup(sparse.eye(d, format="csc"), np.zeros(d), G, lower, b,
                 eps_abs=tol, eps_rel=tol, polishing=True, warm_starting=True, verbose=False)
    return solver


def _inside(poly: Polyhedron, Y: np.ndarray) -> np.ndarray:
    """Which rows of ``Y`` meet every constraint exactly (no tolerance): their own projection."""
    A, b = poly.rows_in_range()
    slack = Y @ A.T - b
    eq = np.zeros(slack.shape[1], dtype=bool)
    eq[list(poly.equalities)] = True
    return (slack[:, ~eq] <= 0).all(axis=1) & (slack[:, eq] == 0).all(axis=1)


def _osqp(solver: Any, Y: np.ndarray, poly: Polyhedron | None = None) -> tuple[np.ndarray, int]:
    """One solve per row; rows already inside ``poly`` (exactly) are returned as they are: no
    solve, and OSQP 1.x does not print "Polishing not needed" for them (osqp/osqp#785)."""
    osqp = import_osqp()

    Z = np.empty_like(Y)
    unsolved = 0
    inside = _inside(poly, Y) if poly is not None else np.zeros(len(Y), dtype=bool)
    for i, y in enumerate(Y):
        if inside[i]:
            Z[i] = y
            continue
        solver.update(q=-y)
        result = solver.solve(raise_error=False)
        if result.info.status_val != osqp.SolverStatus.OSQP_SOLVED or result.x is None:
            unsolved += 1
        Z[i] = y if result.x is None else result.x
    return Z, unsolved


# ---------------------------------------------------------------------- the simplex
def _check_probability_simplex(poly: Polyhedron) -> None:
    V = poly.vertices
    d = poly.dim
    ok = (len(poly.rays) == 0 and len(poly.lines) == 0 and V.shape == (d, d)
          and np.array_equal(np.sort(V, axis=0)[::-1][0], np.ones(d))
          and np.array_equal(np.sort(V.ravel()), np.r_[np.zeros(d * d - d), np.ones(d)]))
    if not ok:
        raise ConeInputError(
            "method 'simplex' projects onto the probability simplex {x >= 0, sum x = 1} only "
            f"(vertices e_1, ..., e_d); this polyhedron is {poly.summary()}")


def project_simplex(Y: Any) -> Any:
    r"""The exact projection of each row of ``Y`` (torch) onto :math:`\{x \ge 0, \sum x = 1\}`:
    :math:`x = (y - \theta)_+` with :math:`\theta` from the sorted entries."""
    import torch

    u, _ = torch.sort(Y, dim=-1, descending=True)
    css = u.cumsum(dim=-1) - 1
    k = torch.arange(1, Y.shape[-1] + 1, dtype=Y.dtype, device=Y.device)
    cond = u - css / k > 0
    # cond holds on a prefix of the sorted entries: rho is its last index
    rho = cond.to(Y.dtype).cumsum(dim=-1).argmax(dim=-1, keepdim=True)
    theta = css.gather(-1, rho) / (rho + 1).to(Y.dtype)
    return torch.clamp(Y - theta, min=0)


# ---------------------------------------------------------------------- small polytopes
MAX_CANDIDATES = 20_000


def face_maps(poly: Polyhedron, *, rank_tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """``(P, q)``: ``(k, d, d)`` and ``(k, d)``, one affine map per face of the polytope (the
    polytope itself first, then its facets, ..., its vertices): ``P[s] y + q[s]`` is the
    projection of ``y`` onto the affine hull of face ``s``. Faces are the intersections of the
    facets' vertex sets; a face's affine hull is spanned by its vertices (``rank_tol``: relative,
    for the differences' singular values). Raises :class:`ConeInputError` for a polyhedron
    that is not bounded or has more than ``MAX_CANDIDATES`` faces."""
    if not poly.is_bounded:
        raise ConeInputError("method 'faces' projects onto polytopes (bounded) only; this one is "
                             f"{poly.kind}")
    A, b = poly.rows_in_range()
    norms = np.linalg.norm(A, axis=1)
    keep = norms > 0
    A_hat = A / np.where(keep, norms, 1.0)[:, None]
    b_hat = b / np.where(keep, norms, 1.0)
    ineq = [i for i in range(len(A)) if keep[i] and i not in poly.equalities]
    slack = poly.vertices @ A_hat[ineq].T - b_hat[ineq]
    tight = np.abs(slack) <= 1e-9 * max(1.0, poly.scale)  # (vertices, inequality rows)
    everything = frozenset(range(len(poly.vertices)))
    facets = {frozenset(np.flatnonzero(tight[:, j]).tolist()) for j in range(len(ineq))}
    facets = {f for f in facets if f and f != everything}
    faces, frontier = {everything} | facets, list(facets)
    while frontier:
        new = []
        for face in frontier:
            for facet in facets:
                meet = face & facet
                if meet and meet not in faces:
                    faces.add(meet)
                    new.append(meet)
                    if len(faces) > MAX_CANDIDATES:
                        raise ConeInputError(f"method 'faces': more than {MAX_CANDIDATES:,} "
                                             "faces; use 'osqp'")
        frontier = new
    d = poly.dim
    V = np.asarray(poly.vertices, dtype=np.float64)
    P_list, q_list = [], []
    for face in sorted(faces, key=len, reverse=True):
        # The face's affine hull from its vertices (a face of a polytope is the hull of its
        # vertices): exact for a vertex, and accurate where the tight normals are nearly
        # parallel (a thin simplex's vertex solved from them was 3e-8 off; found by hypothesis).
        F = V[sorted(face)]
        v0 = F[0]
        B = np.zeros((0, d))
        if len(F) > 1:
            _, S, Wt = np.linalg.svd(F[1:] - v0, full_matrices=False)
            B = Wt[: int((S > rank_tol * max(1.0, S[0])).sum())]
        P = B.T @ B
        P_list.append(P)
        q_list.append(v0 - P @ v0)
    return np.array(P_list), np.array(q_list)


class _FaceData:
    """The face maps and the normalised rows of a polytope, as torch tensors per device."""

    def __init__(self, poly: Polyhedron) -> None:
        self.P, self.q = face_maps(poly)
        self.count = int(self.P.shape[0])
        A, b = poly.rows_in_range()
        norms = np.linalg.norm(A, axis=1)
        rows = norms > 0
        self.A = A[rows] / norms[rows, None]
        self.b = b[rows] / norms[rows]
        self.eq = np.array([i in poly.equalities for i in np.flatnonzero(rows)], dtype=bool)
        self.tol = 1e-9 * max(1.0, poly.scale)
        self._on: dict[tuple[str, Any], tuple[Any, ...]] = {}

    def tensors(self, device: Any, work: Any) -> tuple[Any, ...]:
        import torch

        key = (str(device), work)
        if key not in self._on:
            self._on[key] = tuple(torch.as_tensor(v, dtype=work if v.dtype != bool else None,
                                                  device=device)
                                  for v in (self.P, self.q, self.A, self.b, self.eq))
        return self._on[key]

    def __call__(self, Y: Any, chunk: int = 0) -> Any:
        import torch

        dtype, device = Y.dtype, Y.device
        work = torch.float64 if device.type != "mps" else torch.float32
        Pt, qt, At, bt, eq = self.tensors(device, work)
        k, d = Pt.shape[0], Pt.shape[1]
        m = At.shape[0]
        chunk = chunk or max(1, 2**21 // max(1, k * (d + m)))  # about 16 MB a chunk
        out = []
        for Yc in Y.to(work).split(chunk):
            cand = torch.einsum("kij,nj->nki", Pt, Yc) + qt  # (n, k, d)
            s = cand @ At.T - bt  # (n, k, m): distance past each hyperplane
            s = torch.where(eq, s.abs(), s)
            feasible = (s <= self.tol * cand.norm(dim=-1, keepdim=True).clamp_min(1.0)).all(-1)
            dist = (cand - Yc[:, None, :]).square().sum(dim=-1)
            dist = torch.where(feasible, dist, torch.full_like(dist, float("inf")))
            best = dist.argmin(dim=-1)
            out.append(cand[torch.arange(len(Yc), device=device), best])
        return torch.cat(out).to(dtype) if out else Y.clone()

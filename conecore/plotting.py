"""Plotly figures of cones (no Streamlit here: pages draw what these functions build).

One builder per view:

* the cone itself: :func:`figure_2d` (the plane), :func:`figure_3d` (space),
  :func:`figure_projected` and :func:`figure_parallel` (d > 3), :func:`image_grid` (rows or rays
  of an image-shaped cone);
* the double description: :func:`figure_dd_step`;
* training and samples: :func:`figure_curves`, :func:`figure_outputs`,
  :func:`figure_sample_animation`, and on a polyhedron :func:`figure_polyhedron_outputs`,
  :func:`figure_polyhedron_sample_animation`;
* the VAE: :func:`figure_painting`, :func:`figure_block_sums`;
* the benchmark: :func:`figure_benchmark`;
* polyhedra ``A x <= b``: :func:`figure_polyhedron_2d`, :func:`figure_polyhedron_3d`,
  :func:`figure_polyhedron_projected` (d > 3: the shadow on 2 or 3 coordinates).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import plotly.graph_objects as go

from conecore.cone import Cone, row_scales, unit_rows
from conecore.errors import ConeError, ConeInputError

CONE_FILL = "rgba(31, 111, 235, 0.30)"
HALF_FILL = "rgba(120, 120, 120, 0.08)"
RAY_COLOR = "#1f6feb"
LINE_COLOR = "#8250df"
NORMAL_COLOR = "#cf222e"
NEUTRAL = "#8c959f"  # marks and axes readable on a light and on a dark background
CUT_COLOR = "#e5534b"  # rays the double description cuts off


def _clip_to_view(normals: list[np.ndarray], R: float) -> np.ndarray:
    """The square ``[-R, R]^2`` cut by the half-planes ``a . x <= 0``, as a closed polygon;
    empty when nothing but the origin is left."""
    A = np.asarray(normals, dtype=float).reshape(-1, 2)
    return _clip_to_box(A, np.zeros(len(A)), np.array([-R, -R]), np.array([R, R]))


def right_angle_marks(cone: Cone, size: float = 0.12) -> np.ndarray:
    """Small square corners where a ray (or line) of the polar cone meets, at a right angle, a
    ray or line of the cone: each facet normal ``a_i`` of ``C`` is a ray of the polar and is
    orthogonal to the rays of ``C`` on that facet. Polylines of 3 points separated by NaN rows,
    ``(n, d)``; empty when there is nothing to mark."""
    polar = cone.polar()
    P = [p for p in np.asarray(polar.rays)] + [s * v for v in np.asarray(polar.lines)
                                               for s in (1, -1)]
    C = [r for r in np.asarray(cone.rays)] + [s * v for v in np.asarray(cone.lines)
                                              for s in (1, -1)]
    pieces = []
    for p in P:
        for r in C:
            if abs(float(p @ r)) < 1e-9 and np.linalg.norm(p) and np.linalg.norm(r):
                u, w = p / np.linalg.norm(p) * size, r / np.linalg.norm(r) * size
                pieces.append(np.array([u, u + w, w, np.full(cone.dim, np.nan)]))
    return np.concatenate(pieces) if pieces else np.zeros((0, cone.dim))


def _normals_name(m: int) -> str:
    """The legend's one entry for all the normals: "normals a1–a4" (not "a1…", which read as
    a label cut short)."""
    return "normal a1" if m == 1 else f"normals a1–a{m}"


def figure_2d(cone: Cone, radius: float = 1.0, show_normals: bool = True,
              show_polar: bool = False) -> go.Figure:
    """The cone in the plane: half-planes lightly shaded, the cone strongly shaded, rays as
    arrows, lines dotted, normals ``a_i`` dashed; optionally the polar cone in red."""
    if cone.dim != 2:
        raise ValueError(f"figure_2d draws cones in R^2; this cone is in R^{cone.dim}")
    fig = go.Figure()
    R = 1.25 * radius
    for i, a in enumerate(unit_rows(cone.A)):  # (a plain norm of entries past 1e154: inf)
        if not a.any():
            continue
        # The half-plane a.x <= 0, cut to the view: it reaches every edge it touches.
        poly = _clip_to_view([a], R)
        fig.add_trace(go.Scatter(x=poly[:, 0], y=poly[:, 1], fill="toself", fillcolor=HALF_FILL,
                                 mode="lines", line=dict(width=0), hoverinfo="skip",
                                 showlegend=i == 0, name="half-planes", legendgroup="half"))
        edge = np.array([-a[1], a[0]]) * 2 * R  # the boundary line, cut by the axes' range
        fig.add_trace(go.Scatter(x=[-edge[0], edge[0]], y=[-edge[1], edge[1]], mode="lines",
                                 line=dict(width=1, color="rgba(110,110,110,0.6)"),
                                 hoverinfo="skip", showlegend=False, legendgroup="half"))
        if show_normals:
            tip = a * 0.6 * radius
            fig.add_trace(go.Scatter(x=[0, tip[0]], y=[0, tip[1]], mode="lines+markers+text",
                                     line=dict(color=NORMAL_COLOR, dash="dash"),
                                     marker=dict(symbol="arrow", angleref="previous", size=10),
                                     text=["", f"a{i + 1}"], textposition="bottom center",
                                     textfont=dict(color=NORMAL_COLOR),
                                     name=_normals_name(len(cone.A)),
                                     legendgroup="normals", showlegend=i == 0,
                                     hovertext=f"a{i + 1} = {cone.A[i]}"))
    if show_polar:
        polar = cone.polar()
        ppoly = _clip_to_view(list(polar.A), R) if len(polar.rays) or len(polar.lines) else []
        if len(ppoly):
            fig.add_trace(go.Scatter(x=ppoly[:, 0], y=ppoly[:, 1], fill="toself", mode="lines",
                                     fillcolor="rgba(207, 34, 46, 0.18)", line=dict(width=0),
                                     name="polar cone", hoverinfo="skip"))
        for k, r in enumerate(polar.rays):
            fig.add_trace(go.Scatter(x=[0, r[0] * 0.9 * radius], y=[0, r[1] * 0.9 * radius],
                                     mode="lines", line=dict(color=NORMAL_COLOR, width=2),
                                     name="polar rays", legendgroup="polar", showlegend=k == 0))
        marks = right_angle_marks(cone, 0.12 * radius)
        if len(marks):
            fig.add_trace(go.Scatter(x=marks[:, 0], y=marks[:, 1], mode="lines",
                                     line=dict(color=NEUTRAL, width=1.5), hoverinfo="skip",
                                     name="right angles (a ⟂ facet)"))
    if len(cone.rays) or len(cone.lines):  # only the origin: nothing to shade
        poly = _clip_to_view(list(unit_rows(cone.A)), R)
        if len(poly):
            fig.add_trace(go.Scatter(x=poly[:, 0], y=poly[:, 1], fill="toself", mode="lines",
                                     fillcolor=CONE_FILL, line=dict(width=0), name="cone",
                                     hoverinfo="skip"))
    for k, r in enumerate(cone.rays):
        fig.add_trace(go.Scatter(x=[0, r[0] * radius], y=[0, r[1] * radius],
                                 mode="lines+markers+text", line=dict(color=RAY_COLOR, width=3),
                                 marker=dict(symbol="arrow", angleref="previous", size=14),
                                 text=["", f"r{k + 1}"], textposition="top center",
                                 name=f"ray r{k + 1}", hovertext=f"r{k + 1} = {np.round(r, 4)}"))
    for k, ell in enumerate(cone.lines):
        fig.add_trace(go.Scatter(x=[-ell[0] * radius, ell[0] * radius],
                                 y=[-ell[1] * radius, ell[1] * radius], mode="lines",
                                 line=dict(color=LINE_COLOR, width=3, dash="dot"),
                                 name=f"line l{k + 1}"))
    # constrain="domain": a frame wider or taller than square shrinks the plot instead of
    # widening one axis's range past the shading (which then stopped short of the edge).
    fig.update_layout(xaxis=dict(range=[-R, R], zeroline=True, constrain="domain"),
                      yaxis=dict(range=[-R, R], scaleanchor="x", scaleratio=1, zeroline=True,
                                 constrain="domain"),
                      margin=dict(l=10, r=10, t=10, b=10), height=420,
                      legend=dict(orientation="h", yref="container", y=0, yanchor="bottom"))
    return fig


# ---------------------------------------------------------------------- 3-D
FACET_COLORS = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2",
                "#ff9da6", "#9d755d", "#bab0ac"]


def _fibonacci_sphere(n: int) -> np.ndarray:
    i = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * i / n)
    theta = np.pi * (1 + 5**0.5) * i
    return np.column_stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)])


def cone_surface_points(cone: Cone, n: int = 1200) -> np.ndarray:
    """Points of the cone on the unit sphere, dense on its boundary: the sphere's points
    projected onto the cone (Moreau, exact NNLS) and normalised, plus the rays and lines."""
    from scipy.optimize import nnls

    S = _fibonacci_sphere(n)
    At = unit_rows(cone.A).T  # the same cone; NNLS overflowed on entries past 1e154
    pts = []
    for y in S:
        z = y - At @ nnls(At, y)[0] if cone.A.shape[0] else y
        nz = np.linalg.norm(z)
        if nz > 1e-9:
            pts.append(z / nz)
    pts += list(cone.rays) + list(cone.lines) + list(-cone.lines)
    return np.array(pts).reshape(-1, 3)


def figure_3d(cone: Cone, show_normals: bool = True, show_polar: bool = False,
              preview: tuple[float, float, float] | None = None) -> go.Figure:
    """The cone cut by the unit ball: facets coloured by the row of ``A`` they lie on, the
    spherical cap grey, rays as arrows, lines as double lines, normals dashed.

    The figure depends on the cone only (and the toggles), so Streamlit keeps the camera across
    reruns that do not change ``A`` (``uirevision`` is fixed as well). ``preview`` draws the
    plane ``a . x = 0`` of a constraint about to be added, and its normal ``a``.
    """
    if cone.dim != 3:
        raise ValueError(f"figure_3d draws cones in R^3; this cone is in R^{cone.dim}")
    fig = go.Figure()
    _add_solid(fig, cone, "cone", 0.55)
    if show_polar:
        _add_solid(fig, cone.polar(), "polar cone", 0.25, color="#d62728")
        marks = right_angle_marks(cone, 0.15)
        if len(marks):
            fig.add_trace(go.Scatter3d(x=marks[:, 0], y=marks[:, 1], z=marks[:, 2], mode="lines",
                                       line=dict(color=NEUTRAL, width=4), hoverinfo="skip",
                                       name="right angles (a ⟂ facet)"))
    for k, r in enumerate(cone.rays):
        _arrow(fig, r * 1.15, RAY_COLOR, f"r{k + 1}", f"ray r{k + 1} = {np.round(r, 4)}")
    for k, ell in enumerate(cone.lines):
        # Solid, thick, with both ends marked: a dashed line inside the shaded solid was lost.
        seg = np.array([-ell, ell]) * 1.15
        fig.add_trace(go.Scatter3d(x=seg[:, 0], y=seg[:, 1], z=seg[:, 2],
                                   mode="lines+markers+text", text=["", f"l{k + 1}"],
                                   line=dict(color=LINE_COLOR, width=9),
                                   marker=dict(size=5, color=LINE_COLOR, symbol="diamond"),
                                   name=f"line l{k + 1}",
                                   hovertext=f"l{k + 1} = {np.round(ell, 4)}"))
    if show_normals:
        for i, a in enumerate(unit_rows(cone.A)):
            if a.any():
                a = a * 0.7
                fig.add_trace(go.Scatter3d(x=[0, a[0]], y=[0, a[1]], z=[0, a[2]],
                                           mode="lines+text", text=["", f"a{i + 1}"],
                                           textfont=dict(color=NORMAL_COLOR),
                                           line=dict(color=NORMAL_COLOR, width=3, dash="dot"),
                                           name=_normals_name(len(cone.A)),
                                           legendgroup="normals", showlegend=i == 0,
                                           hovertext=f"a{i + 1} = {cone.A[i]}"))
    if preview is not None:
        _add_plane(fig, np.asarray(preview, dtype=float))
    fig.add_trace(go.Scatter3d(x=[0], y=[0], z=[0], mode="markers", marker=dict(size=4,
                               color=NEUTRAL), name="origin", showlegend=False))
    axis = dict(range=[-1.25, 1.25], zeroline=True)
    fig.update_layout(scene=dict(xaxis=axis, yaxis=axis, zaxis=axis, aspectmode="cube"),
                      margin=dict(l=0, r=0, t=10, b=0), height=520, uirevision="cone3d",
                      legend=dict(orientation="h", y=-0.05))
    return fig


def _add_plane(fig: go.Figure, a: np.ndarray) -> None:
    """The disc of radius 1 in the plane a . x = 0, and the normal a (a new constraint)."""
    a = a / np.linalg.norm(a)
    u = np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0])
    u /= np.linalg.norm(u)
    v = np.cross(a, u)
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    ring = np.outer(np.cos(t), u) + np.outer(np.sin(t), v)
    n = len(ring)
    fig.add_trace(go.Mesh3d(x=np.append(ring[:, 0], 0), y=np.append(ring[:, 1], 0),
                            z=np.append(ring[:, 2], 0), i=[n] * n, j=list(range(n)),
                            k=[(j + 1) % n for j in range(n)], color="#f0883e", opacity=0.35,
                            name="new constraint (preview)", showlegend=True, hoverinfo="name"))
    _arrow(fig, a * 0.8, "#f0883e", "new a", f"new a = {np.round(a, 3)}")


def _arrow(fig: go.Figure, tip: np.ndarray, color: str, label: str, hover: str) -> None:
    fig.add_trace(go.Scatter3d(x=[0, tip[0]], y=[0, tip[1]], z=[0, tip[2]], mode="lines+text",
                               line=dict(color=color, width=6), text=["", label],
                               name=label, hovertext=hover, showlegend=False))
    fig.add_trace(go.Cone(x=[tip[0]], y=[tip[1]], z=[tip[2]], u=[tip[0]], v=[tip[1]], w=[tip[2]],
                          anchor="tail", sizemode="absolute", sizeref=0.12, showscale=False,
                          colorscale=[[0, color], [1, color]], hoverinfo="skip"))


def _add_solid(fig: go.Figure, cone: Cone, name: str, opacity: float,
               color: str | None = None) -> None:
    """The cone ∩ unit ball as a Mesh3d (convex hull of boundary samples and the origin)."""
    from scipy.spatial import ConvexHull, QhullError

    k, ell = cone.rays.shape[0], cone.lines.shape[0]
    if k + ell == 0:
        return  # only the origin: the marker says it
    pts = np.vstack([[0.0, 0.0, 0.0], cone_surface_points(cone)])
    try:
        hull = ConvexHull(pts)
    except QhullError:
        _add_flat(fig, cone, pts, name, opacity, color)
        return
    tri = hull.simplices
    centroids = pts[tri].mean(axis=1)
    unit = unit_rows(cone.A)
    kept = unit.any(axis=1)
    A_hat, rows = unit[kept], np.flatnonzero(kept)
    colors = []
    for c in centroids:
        if A_hat.shape[0]:
            act = np.abs(A_hat @ c)
            i = int(np.argmin(act))
            on_facet = act[i] < 1e-6 and np.linalg.norm(c) < 0.999
        else:
            on_facet = False
        if color is not None:
            colors.append(color)
        else:
            colors.append(FACET_COLORS[rows[i] % len(FACET_COLORS)] if on_facet else "#c9d1d9")
    fig.add_trace(go.Mesh3d(x=pts[:, 0], y=pts[:, 1], z=pts[:, 2], i=tri[:, 0], j=tri[:, 1],
                            k=tri[:, 2], facecolor=colors, opacity=opacity, name=name,
                            showlegend=True, hoverinfo="name", flatshading=True))


def _add_flat(fig: go.Figure, cone: Cone, pts: np.ndarray, name: str, opacity: float,
              color: str | None) -> None:
    """A cone of dimension < 3: a flat fan (2-D) or a segment (1-D)."""
    centered = pts - pts.mean(axis=0)
    _, s, Vt = np.linalg.svd(centered, full_matrices=False)
    rank = int(np.sum(s > 1e-9 * max(s[0], 1e-12)))
    if rank <= 1:
        return  # rays and lines are drawn as arrows already
    plane = Vt[:2]
    uv = pts @ plane.T
    angles = np.arctan2(uv[:, 1], uv[:, 0])
    order = np.argsort(angles)
    ring = pts[order]
    n = len(ring)
    fig.add_trace(go.Mesh3d(x=np.append(ring[:, 0], 0), y=np.append(ring[:, 1], 0),
                            z=np.append(ring[:, 2], 0), i=[n] * (n - 1), j=list(range(n - 1)),
                            k=list(range(1, n)), color=color or "#4c78a8", opacity=opacity,
                            name=name, showlegend=True, hoverinfo="name"))


# ---------------------------------------------------------------------- d > 3
def projection_basis(d: int, coords: tuple[int, ...] | None = None, seed: int | None = None,
                     k: int = 3) -> np.ndarray:
    """A ``(k, d)`` orthonormal projection: chosen coordinates, or a random one from ``seed``."""
    if coords is not None:
        P = np.zeros((len(coords), d))
        for row, c in enumerate(coords):
            P[row, c] = 1.0
        return P
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(d, k)))
    return Q.T


def figure_projected(cone: Cone, P: np.ndarray, labels: list[str] | None = None,
                     max_vectors: int = 40) -> go.Figure:
    """Rays (and ± lines) of a cone in R^d mapped by the projection ``P`` (2 or 3 rows).

    At most ``max_vectors`` rays and as many lines are drawn (the first ones; the title says so):
    hundreds of arrows from one point tell nothing and make a figure of megabytes."""
    k = P.shape[0]
    fig = go.Figure()
    rays, lines = cone.rays[:max_vectors], cone.lines[:max_vectors]
    groups = [(rays, "ray r", RAY_COLOR, "solid")]
    groups += [(lines, "line l", LINE_COLOR, "dash"), (-lines, "line -l", LINE_COLOR, "dash")]
    cut = [f"the first {max_vectors} of {n:,} {what}" for n, what in
           ((len(cone.rays), "rays"), (len(cone.lines), "lines")) if n > max_vectors]
    if cut:
        fig.update_layout(title=dict(text="Showing " + " and ".join(cut), font=dict(size=13)))
    for vecs, prefix, color, dash in groups:
        for j, v in enumerate(vecs):
            p = P @ v
            if k == 3:
                fig.add_trace(go.Scatter3d(x=[0, p[0]], y=[0, p[1]], z=[0, p[2]],
                                           mode="lines+markers", line=dict(color=color, width=5,
                                                                           dash=dash),
                                           marker=dict(size=[0, 4]), name=f"{prefix}{j + 1}",
                                           showlegend=False))
            else:
                fig.add_trace(go.Scatter(x=[0, p[0]], y=[0, p[1]], mode="lines+markers",
                                         line=dict(color=color, width=3, dash=dash),
                                         marker=dict(symbol="arrow", angleref="previous", size=10),
                                         name=f"{prefix}{j + 1}", showlegend=False))
    names = labels or [f"axis {i + 1}" for i in range(k)]
    if k == 3:
        fig.update_layout(scene=dict(xaxis_title=names[0], yaxis_title=names[1],
                                     zaxis_title=names[2], aspectmode="cube"), uirevision="proj")
    else:
        fig.update_layout(xaxis_title=names[0], yaxis_title=names[1],
                          yaxis=dict(scaleanchor="x", scaleratio=1))
    fig.update_layout(margin=dict(l=0, r=0, t=40 if cut else 10, b=0), height=480)
    return fig


def figure_parallel(cone: Cone, max_dims: int = 40) -> go.Figure:
    """The rays in parallel coordinates (one polyline per ray, one axis per coordinate)."""
    d = min(cone.dim, max_dims)
    R = cone.rays[:, :d]
    fig = go.Figure(go.Parcoords(
        line=dict(color=np.arange(len(R)), colorscale="Viridis"),
        dimensions=[dict(label=f"x{i + 1}", values=R[:, i], range=[-1, 1]) for i in range(d)],
    ))
    fig.update_layout(margin=dict(l=40, r=40, t=40, b=20), height=360)
    return fig


def image_grid(vectors: np.ndarray, side: int, titles: list[str], cols: int = 8) -> go.Figure:
    """Rows of ``A`` or rays of an image-shaped cone (d = side^2) as small signed images."""
    from plotly.subplots import make_subplots

    n = len(vectors)
    rows = max(1, -(-n // cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.01,
                        vertical_spacing=0.06)
    for idx, v in enumerate(vectors):
        img = np.asarray(v, dtype=float).reshape(side, side)
        m = np.abs(img).max() or 1.0
        # Signed levels of 1 %, as int8: a 28 x 28 image is 784 bytes in the page, not 6 KB.
        z = np.round(img[::-1] / m * 100).astype(np.int8)
        fig.add_trace(go.Heatmap(z=z, zmin=-100, zmax=100, colorscale="RdBu", showscale=False,
                                 hovertemplate="%{z} %<extra></extra>"),
                      row=idx // cols + 1, col=idx % cols + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    fig.update_layout(height=110 * rows + 40, margin=dict(l=5, r=5, t=30, b=5))
    return fig


# ---------------------------------------------------------------------- training
METHOD_COLORS = {"cone_layer": "#1f6feb", "polyhedron_layer": "#1f6feb",
                 "unconstrained": "#cf222e", "penalty": "#bf8700", "projection": "#8250df",
                 "closed_form": "#1a7f37"}
METHOD_DASHES = {"cone_layer": "solid", "polyhedron_layer": "solid", "unconstrained": "dot",
                 "penalty": "dashdot", "projection": "dash", "closed_form": "longdash"}
FEASIBLE_LAYERS = ("cone_layer", "polyhedron_layer")  # drawn last and thickest


def figure_curves(history: list[dict[str, dict[str, float]]], metric: str, title: str,
                  titles: dict[str, str] | None = None, log: bool = True,
                  x_title: str = "step", max_points: int = 1500) -> go.Figure:
    """One line per method of ``history[step][method][metric]`` against the step, with about
    ``max_points`` points a line at most (every k-th step).

    Built from plain dicts without Plotly's validation (the live Train view draws two of these
    up to four times a second per session: 3 ms instead of 15)."""
    data = []
    if history:
        steps = np.arange(1, len(history) + 1)
        stride = max(1, -(-len(history) // max_points))
        kept = history[::stride]
        # The ConeLayer last, so it is drawn on top: its line at 0 must not hide under another
        # method's (the closed form's is at 0 too). Each method its own dash as well as colour.
        order = sorted(history[0], key=lambda m: m in FEASIBLE_LAYERS)
        for method in order:
            values = np.array([h[method][metric] for h in kept], dtype=float)
            if log:
                values = np.maximum(values, 1e-8)
            style = dict(color=METHOD_COLORS.get(method, "#888"),
                         dash=METHOD_DASHES.get(method, "solid"),
                         width=4 if method in FEASIBLE_LAYERS else 2)
            data.append(dict(type="scatter", x=steps[::stride], y=values, mode="lines",
                             name=(titles or {}).get(method, method), line=style))
    # Log axes: one label per power of ten (Plotly's default labels read "10, 5, 2, 1, 5, 2").
    yaxis = dict(type="log", dtick=1, exponentformat="power") if log else dict(type="linear")
    layout = dict(title=dict(text=title), height=300, margin=dict(l=10, r=10, t=40, b=10),
                  yaxis=yaxis, xaxis=dict(title=dict(text=x_title)),
                  legend=dict(orientation="h", y=-0.3))
    return go.Figure(data=data, layout=layout, _validate=False)


def figure_outputs(cone: Cone, outputs: dict[str, np.ndarray], violating: dict[str, np.ndarray],
                   titles: dict[str, str] | None = None, P: np.ndarray | None = None) -> go.Figure:
    """Model outputs over the cone: for d = 2 on the plane view, for d = 3 in space with the
    cone (a fixed camera), otherwise projected to 2-D by ``P``; points outside the cone marked
    with a red x."""
    three = cone.dim == 3
    if cone.dim == 2:
        fig = figure_2d(cone, radius=max(1.0, max((float(np.abs(z).max()) for z in
                                                   outputs.values()), default=1.0)),
                        show_normals=False)
        P = np.eye(2)
    elif three:
        fig = figure_3d(cone, show_normals=False)
        P = np.eye(3)
    else:
        P = projection_basis(cone.dim, seed=0, k=2) if P is None else P
        fig = figure_projected(cone, P)

    def scatter(Q: np.ndarray, **kw):
        if three:
            return go.Scatter3d(x=Q[:, 0], y=Q[:, 1], z=Q[:, 2], mode="markers", **kw)
        return go.Scatter(x=Q[:, 0], y=Q[:, 1], mode="markers", **kw)

    for method, Z in outputs.items():
        Q = np.asarray(Z) @ P.T
        if three:  # figure_3d draws the cone at unit scale: the outputs at the same scale
            Q = Q / max(1.0, float(np.abs(np.vstack(list(outputs.values()))).max()))
        bad = violating[method]
        name = (titles or {}).get(method, method)
        fig.add_trace(scatter(Q[~bad], name=name, marker=dict(
            size=3 if three else 5, color=METHOD_COLORS.get(method), opacity=0.7)))
        if bad.any():
            fig.add_trace(scatter(Q[bad], name=f"{name}: outside",
                                  marker=dict(size=5 if three else 8, color="red", symbol="x")))
    # yref="paper": figure_2d's legend is placed in the container; this one sits under the plot.
    fig.update_layout(height=480, showlegend=True,
                      legend=dict(orientation="h", yref="paper", y=-0.15, yanchor="auto"))
    if three:  # the scene fills the figure: legend above it, camera closer (it was ~250 px)
        fig.update_layout(height=560, margin=dict(l=0, r=0, t=0, b=0),
                          legend=dict(orientation="h", yref="paper", y=1.0, yanchor="bottom"),
                          scene=dict(domain=dict(x=[0, 1], y=[0, 0.92])),
                          scene_camera=dict(eye=dict(x=1.4, y=1.4, z=0.95)),
                          uirevision="outputs")
    return fig


def figure_sample_animation(cone: Cone, frames, titles: dict[str, str] | None = None,
                            P: np.ndarray | None = None) -> go.Figure:
    """Samples moving as training proceeds (frames computed once): one colour per model inside
    the cone, red crosses outside, the escape count per model in each frame's title. 2-D cones
    are drawn in the plane, 3-D ones in 3-D with a fixed camera, higher ones projected to 2-D."""
    d = cone.dim
    three = d == 3
    if d == 2:
        base = figure_2d(cone, radius=2.0, show_normals=False)
        P = np.eye(2)
    elif three:
        base = figure_3d(cone, show_normals=False)
        P = np.eye(3)
    else:
        P = projection_basis(d, seed=0, k=2) if P is None else P
        base = figure_projected(cone, P)
    return _sample_animation(base, P, frames, titles, three, "the cone")


def _sample_animation(base: go.Figure, P: np.ndarray, frames, titles: dict[str, str] | None,
                      three: bool, where: str) -> go.Figure:
    """The animation of :func:`figure_sample_animation` over the figure ``base`` of the set
    (``where``, in the frames' titles), the samples mapped by ``P``."""
    names = list(frames.samples)
    colors = {"cone_layer": "#1f6feb", "polyhedron_layer": "#1f6feb", "unconstrained": "#bf8700"}

    def traces(i: int) -> list:
        out = []
        for m in names:
            Z = frames.samples[m][i] @ P.T
            bad = frames.outside[m][i]
            label = (titles or {}).get(m, m)
            for mask, suffix, style in ((~bad, "", dict(size=4, color=colors.get(m, "#444"))),
                                        (bad, " outside", dict(size=6, color="red",
                                                               symbol="x"))):
                pts = Z[mask] if mask.any() else np.full((1, Z.shape[1]), np.nan)
                kw = dict(x=pts[:, 0], y=pts[:, 1], mode="markers", marker=style,
                          name=label + suffix)
                out.append(go.Scatter3d(z=pts[:, 2], **kw) if three else go.Scatter(**kw))
        return out

    def title(i: int) -> str:
        counts = ", ".join(f"{(titles or {}).get(m, m)}: {int(frames.outside[m][i].sum())}"
                           for m in names)
        return f"step {frames.steps[i]} — samples outside {where}: {counts}"

    n_base = len(base.data)
    fig = go.Figure(data=list(base.data) + traces(0), layout=base.layout)
    fig.frames = [go.Frame(data=traces(i), traces=list(range(n_base, n_base + 2 * len(names))),
                           name=str(i), layout=dict(title=title(i)))
                  for i in range(len(frames.steps))]
    # Frames redraw: a frame's title (the step and the escape counts) is applied only on a
    # redraw, and a 2-D redraw of a few hundred points is cheap. The legend sits under the plot,
    # so the title has the top to itself; plain words on the buttons (no symbol glyphs, which
    # some browsers' fonts lack).
    fig.update_layout(
        title=dict(text=title(0), y=0.98, yanchor="top"), height=660,
        margin=dict(l=10, r=10, t=50, b=170),
        legend=dict(orientation="h", yref="paper", y=-0.075, yanchor="top", x=0),  # under the ticks
        updatemenus=[dict(type="buttons", showactive=False, x=0, y=-0.2, xanchor="left",
                          yanchor="top", direction="right",
                          buttons=[dict(label="Play", method="animate",
                                        args=[None, dict(frame=dict(duration=250, redraw=True),
                                                         fromcurrent=True, transition=dict(
                                                             duration=0))]),
                                   dict(label="Pause", method="animate",
                                        args=[[None], dict(mode="immediate", frame=dict(
                                            duration=0, redraw=True))])])],
        sliders=[dict(active=0, y=-0.18, yanchor="top", x=0.2, len=0.8,
                      currentvalue=dict(prefix="step "),
                      steps=[dict(label=str(frames.steps[i]), method="animate",
                                  args=[[str(i)], dict(mode="immediate", frame=dict(
                                      duration=0, redraw=True))])
                             for i in range(len(frames.steps))])],
    )
    if three:
        fig.update_layout(scene_camera=dict(eye=dict(x=1.6, y=1.6, z=1.1)))
    return fig


def figure_benchmark(rows: list) -> go.Figure:
    """Time per sample against batch size, log-log, one line per method and device (the rows of
    ``conecore.bench.layer_suite``)."""
    fig = go.Figure()
    keys = sorted({(r.method, r.device) for r in rows})
    for method, device in keys:
        pts = sorted((r.batch, r.per_sample_us) for r in rows
                     if r.method == method and r.device == device)
        fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts],
                                 mode="lines+markers", name=f"{method} ({device})",
                                 line=dict(width=4 if method == "ConeLayer" else 2)))
    # Log axes labelled by the batches measured and by powers of ten (Plotly's default minor
    # labels read "8 9 1 2 3").
    batches = sorted({r.batch for r in rows})
    fig.update_layout(xaxis=dict(type="log", title=dict(text="batch size"), tickmode="array",
                                 tickvals=batches, ticktext=[str(b) for b in batches]),
                      yaxis=dict(type="log", title=dict(text="µs per sample"), dtick=1,
                                 exponentformat="power"),
                      height=420, margin=dict(l=10, r=10, t=10, b=10),
                      legend=dict(orientation="h", y=-0.2))
    return fig


_FLOAT_MAX = 10**308  # about float64's largest (1.8e308), as the input checks bound entries


def _scaled_exact(v) -> list[Fraction]:
    """An exact vector (integers, fractions) divided by a power of two near its largest entry:
    the same direction, with entries a float64 holds (as primitive integers a row like
    (1e-300, 1e200) has ~500 digits, past 1e308)."""
    values = [Fraction(x) for x in v]
    peak = max((abs(x) for x in values), default=Fraction(0))
    if not peak:
        return values
    scale = Fraction(2) ** (peak.numerator.bit_length() - peak.denominator.bit_length())
    return [x / scale for x in values]


def _exact_direction(v) -> np.ndarray:
    """:func:`_scaled_exact` as floats (a plain conversion overflowed past 1e308)."""
    return np.array([float(x) for x in _scaled_exact(v)])


def _exact_rows_in_range(rows: list) -> np.ndarray:
    """Exact rows (or rays, lines) each scaled by :func:`_scaled_exact` (the same cone,
    exactly), as an object array that :meth:`Cone.from_inequalities` and
    :meth:`Polyhedron.from_parts` accept (they refuse entries past 1e308)."""
    return np.array([_scaled_exact(row) for row in rows], dtype=object)


def figure_dd_step(dd, k: int, animate: bool = True) -> go.Figure:
    """Step ``k`` of a :class:`conecore.ddsteps.DoubleDescription` (0: the whole space): the cone
    of the constraints added so far, the new constraint's normal (orange), rays cut off (red,
    dotted) and rays born (green) with dashed lines from the pair that made them.

    With ``animate`` an "Animate this step" button replays it in the browser: the cut-off rays
    fade out while the new rays grow from the origin."""
    d = len(dd.A[0])
    if d not in (2, 3):
        raise ValueError("figure_dd_step draws cones in R^2 or R^3")
    if k == 0:
        current = Cone.from_inequalities(np.zeros((1, d), dtype=int))
        step = None
    else:
        step = dd.steps[k - 1]
        current = Cone.from_inequalities(_exact_rows_in_range([dd.A[i] for i in dd.order[:k]]))
    fig = figure_2d(current, show_normals=True) if d == 2 else figure_3d(current)
    if step is None:
        return fig
    _label_rays_as(fig, current, step.rays)

    def unit(v) -> np.ndarray:
        return unit_rows(_exact_direction(v).reshape(1, -1))[0]

    def trace(P: np.ndarray, color: str, **kw):
        line = dict(color=color, dash=kw.pop("dash", "solid"), width=kw.pop("width", 4))
        if d == 2:
            return go.Scatter(x=P[:, 0], y=P[:, 1], mode="lines", line=line, **kw)
        return go.Scatter3d(x=P[:, 0], y=P[:, 1], z=P[:, 2], mode="lines", line=line, **kw)

    def seg(points: list, color: str, name: str, dash: str, width: int, show: bool) -> int:
        fig.add_trace(trace(np.array(points, dtype=float), color, dash=dash, width=width,
                            name=name, legendgroup=name, showlegend=show))
        return len(fig.data) - 1

    origin = np.zeros(d)
    seg([origin, unit(step.normal) * 0.8], "#f0883e", f"new constraint a{step.row + 1}", "solid",
        6, True)
    fading, growing = [], []
    for j, r in enumerate(step.dropped):  # red and dotted: the rays the new constraint removes
        fading.append((seg([origin, unit(r)], CUT_COLOR, "cut off", "dot", 6, j == 0),
                       unit(r)))
    for j, (r, (p, n)) in enumerate(zip(step.born, step.parents)):
        growing.append((seg([origin, unit(r) * 1.05], "#1a7f37", "born", "solid", 6, j == 0),
                        unit(r) * 1.05))
        seg([unit(p), unit(n)], "#1a7f37", "from the pair", "dash", 2, j == 0)
    if step.line_to_ray is not None:
        growing.append((seg([origin, unit(step.line_to_ray) * 1.05], "#1a7f37",
                            "born (from a line)", "solid", 6, True),
                        unit(step.line_to_ray) * 1.05))
    if animate and (fading or growing):
        _animate_step(fig, fading, growing, trace)
    return fig


def _label_rays_as(fig: go.Figure, cone: Cone, rays: list) -> None:
    """Name the figure's rays r1, r2, ... in the order of ``rays`` (the page lists them so), not
    in the order the cone happens to hold them."""
    import re

    # The cone holds its rays orthogonal to its lines; the step's rays may lean along them.
    L = np.asarray(cone.lines, dtype=float)
    units = []
    for r in rays:
        v = _exact_direction(r)
        v = v - L.T @ (L @ v) if len(L) else v
        units.append(v / (np.linalg.norm(v) or 1.0))
    units = np.array(units) if units else np.zeros((0, cone.dim))
    order = {}
    for k, r in enumerate(cone.rays):
        if len(units):
            j = int(np.argmin(np.linalg.norm(units - r, axis=1)))
            order[k + 1] = j + 1
    for t in fig.data:
        match = re.fullmatch(r"(ray )?r(\d+)", t.name or "")
        if match and int(match.group(2)) in order:
            j = order[int(match.group(2))]
            t.name = f"{match.group(1) or ''}r{j}"
            if t.text is not None:
                t.text = ["", f"r{j}"]


def _animate_step(fig: go.Figure, fading: list, growing: list, trace) -> None:
    """Frames from t = 0 to 1: the cut-off rays (red, dotted) fade, the born rays (green) grow."""
    frames = []
    for t in np.linspace(0.0, 1.0, 13):
        data, idx = [], []
        for i, tip in fading:
            data.append(trace(np.array([np.zeros_like(tip), tip]),
                              f"rgba(229, 83, 75, {1 - t:.3f})", dash="dot", width=6))
            idx.append(i)
        for i, tip in growing:
            data.append(trace(np.array([np.zeros_like(tip), tip * max(t, 1e-3)]), "#1a7f37",
                              width=6))
            idx.append(i)
        frames.append(go.Frame(data=data, traces=idx, name=f"{t:.2f}"))
    fig.frames = frames
    fig.update_layout(updatemenus=[dict(
        type="buttons", showactive=False, x=0.0, y=1.02, xanchor="left", yanchor="bottom",
        buttons=[dict(label="Animate this step", method="animate",
                      args=[None, dict(frame=dict(duration=120, redraw=True), fromcurrent=False,
                                       transition=dict(duration=0), mode="immediate")])])])
    fig.update_layout(margin=dict(t=40))


# ---------------------------------------------------------------------- constrained VAE
PAINT_COLORS = {".": "#ffffff", "+": "#1f6feb", "-": "#cf222e", "0": "#8c959f"}
PAINT_WORDS = {".": "free", "+": "sum ≥ 0", "-": "sum ≤ 0", "0": "sum = 0"}


def figure_painting(painting) -> go.Figure:
    """The painted blocks on the pixel grid: blue ``+`` (sum >= 0), red ``-`` (sum <= 0), grey
    ``0`` (sum = 0), white free; thin lines between pixels, thick ones between blocks."""
    n, b, side = painting.grid, painting.block, painting.image
    codes = {m: i for i, m in enumerate(PAINT_COLORS)}
    z = np.zeros((side, side))
    for k, m in enumerate(painting.marks):
        i, j = divmod(k, n)
        z[i * b : (i + 1) * b, j * b : (j + 1) * b] = codes[m]
    scale = [[v, c] for i, c in enumerate(PAINT_COLORS.values())
             for v in (i / len(PAINT_COLORS), (i + 1) / len(PAINT_COLORS))]
    hover = np.vectorize(lambda c: PAINT_WORDS[list(PAINT_COLORS)[int(c)]])(z)
    fig = go.Figure(go.Heatmap(z=z, zmin=-0.5, zmax=len(PAINT_COLORS) - 0.5, colorscale=scale,
                               showscale=False, customdata=hover, xgap=0.5 if side <= 16 else 0,
                               ygap=0.5 if side <= 16 else 0,
                               hovertemplate="pixel (%{y}, %{x}): %{customdata}<extra></extra>"))
    for t in range(n + 1):
        pos = t * b - 0.5
        fig.add_shape(type="line", x0=pos, x1=pos, y0=-0.5, y1=side - 0.5,
                      line=dict(color=NEUTRAL, width=2))
        fig.add_shape(type="line", y0=pos, y1=pos, x0=-0.5, x1=side - 0.5,
                      line=dict(color=NEUTRAL, width=2))
    if n <= 8:
        for k, m in enumerate(painting.marks):
            i, j = divmod(k, n)
            fig.add_annotation(x=j * b + (b - 1) / 2, y=i * b + (b - 1) / 2, showarrow=False,
                               text={"+": "+", "-": "−", "0": "0", ".": ""}[m],
                               font=dict(size=18, color="white" if m != "." else "black"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    fig.update_layout(height=320, width=320, margin=dict(l=5, r=5, t=5, b=5))
    return fig


def figure_block_sums(block_sums: dict[str, np.ndarray], titles: dict[str, str] | None = None
                      ) -> go.Figure:
    """Histogram of ``(A x)_k`` over samples and rows for each model: the constraint asks for
    every value to be at most 0 (the shaded side)."""
    fig = go.Figure()
    everything = np.concatenate([np.ravel(v) for v in block_sums.values()]) if block_sums else []
    lo, hi = (float(np.min(everything)), float(np.max(everything))) if len(everything) else (-1, 1)
    lo, hi = min(lo, -1e-3), max(hi, 1e-3)
    fig.add_vrect(x0=lo, x1=0, fillcolor="#1a7f37", opacity=0.08, line_width=0,
                  annotation_text="allowed: (A x)ₖ ≤ 0", annotation_position="top left")
    for name, values in block_sums.items():
        fig.add_trace(go.Histogram(x=np.ravel(values), name=(titles or {}).get(name, name),
                                   opacity=0.6, nbinsx=60,
                                   marker_color=METHOD_COLORS.get(name)))
    fig.add_vline(x=0, line=dict(color=NEUTRAL, width=2))
    fig.update_layout(barmode="overlay", height=320, margin=dict(l=10, r=10, t=40, b=10),
                      title="Signed block sums (A x)ₖ of the samples",
                      xaxis_title="(A x)ₖ: a block sum times its sign", yaxis_title="count",
                      legend=dict(orientation="h", y=-0.3))
    return fig


# ---------------------------------------------------------------------- polyhedra
POLY_FILL = "rgba(31, 111, 235, 0.25)"
CAMERA_3D = dict(eye=dict(x=1.8, y=1.8, z=1.3))  # Plotly's default eye crops a cube's corners
VERTEX_COLOR = "#bf8700"


def _clip_to_box(A: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The rectangle ``[lo, hi]`` cut by ``A x <= b`` (Sutherland-Hodgman), a closed polygon;
    empty when nothing is left."""
    poly = [np.array(p, dtype=float) for p in ((lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1]),
                                                (lo[0], hi[1]))]
    for a, beta in zip(np.asarray(A, dtype=float), np.asarray(b, dtype=float), strict=True):
        if not np.any(a):
            if beta < 0:
                return np.zeros((0, 2))
            continue
        out = []
        for j, p in enumerate(poly):
            q = poly[(j + 1) % len(poly)]
            fp, fq = float(a @ p - beta), float(a @ q - beta)
            if fp <= 0:
                out.append(p)
            if (fp < 0 < fq) or (fq < 0 < fp):
                out.append(p + (q - p) * fp / (fp - fq))
        poly = out
        if len(poly) < 3:
            return np.zeros((0, 2))
    return np.array([*poly, poly[0]])


def _view(poly, points: np.ndarray | None,
          extra: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A square view around the vertices (and the points, and ``extra`` points that must show),
    with room for rays and lines."""
    pts = [np.asarray(poly.vertices, dtype=float)]
    for more in (points, extra):
        if more is not None and len(more):
            pts.append(np.asarray(more, dtype=float).reshape(-1, poly.dim))
    P = np.vstack(pts) if sum(len(p) for p in pts) else np.zeros((1, poly.dim))
    center = (P.max(axis=0) + P.min(axis=0)) / 2
    half = max(float((P.max(axis=0) - P.min(axis=0)).max()) / 2, 1.0) * 1.4
    if len(poly.rays) or len(poly.lines):
        half *= 1.6
    return center - half, center + half


MAX_BOUNDARIES = 40
"""The 2-D figure draws the boundary lines of at most this many constraints."""


def _add_boundaries(fig: go.Figure, poly, lo: np.ndarray, hi: np.ndarray,
                    highlight: int | None) -> None:
    """Each constraint's line ``a x = b`` across the view, labelled with its number, and the side
    it cuts away lightly shaded (an equality keeps only its line); ``highlight`` (a row index) in
    orange."""
    A, b = poly.rows_in_range()  # the same lines: a . a overflowed past 1e154 (none drawn)
    segs, labels, label_at = [], [], []
    for i, (a, beta) in enumerate(zip(A[:MAX_BOUNDARIES], b[:MAX_BOUNDARIES])):
        if not np.any(a) or not np.isfinite(beta):  # (a boundary past float64: off any view)
            continue
        # The line foot + t * direction, a . foot = b, within the view (Liang-Barsky).
        foot = a * beta / (a @ a)
        direction = np.array([-a[1], a[0]]) / np.linalg.norm(a)
        t0, t1 = -np.inf, np.inf
        for k in range(2):
            if abs(direction[k]) > 1e-15:
                ends = sorted(((lo[k] - foot[k]) / direction[k], (hi[k] - foot[k]) / direction[k]))
                t0, t1 = max(t0, ends[0]), min(t1, ends[1])
            elif not lo[k] <= foot[k] <= hi[k]:
                t0, t1 = 1.0, 0.0
        if not t0 < t1:
            continue  # the line misses the view
        p, q = foot + t0 * direction, foot + t1 * direction
        color = "#f0883e" if i == highlight else NEUTRAL
        if i == highlight:
            fig.add_trace(go.Scatter(x=[p[0], q[0]], y=[p[1], q[1]], mode="lines",
                                     line=dict(color=color, width=4),
                                     name=f"new constraint {i + 1}"))
        else:
            segs += [p, q, np.full(2, np.nan)]
        if i not in poly.equalities:
            cut = _clip_to_box(-a[None, :], np.array([-beta]), lo, hi)  # where a x >= b
            if len(cut):
                fig.add_trace(go.Scatter(x=cut[:, 0], y=cut[:, 1], fill="toself", mode="none",
                                         fillcolor=HALF_FILL, hoverinfo="skip",
                                         name="cut away by a constraint",
                                         legendgroup="cut away", showlegend=not labels))
        labels.append(str(i + 1))
        label_at.append(foot + (t0 + t1) / 2 * direction)
    if segs:
        P = np.array(segs)
        fig.add_trace(go.Scatter(x=P[:, 0], y=P[:, 1], mode="lines", hoverinfo="skip",
                                 line=dict(color=NEUTRAL, width=1.5, dash="dash"),
                                 name="boundaries a·x = b"))
    if labels:
        Q = np.array(label_at)
        fig.add_trace(go.Scatter(x=Q[:, 0], y=Q[:, 1], mode="text", text=labels,
                                 textfont=dict(color=NEUTRAL), hoverinfo="skip",
                                 name="constraint numbers", showlegend=False))


def figure_polyhedron_2d(poly, points: np.ndarray | None = None,
                         points_name: str = "outputs", *, show_constraints: bool = True,
                         highlight: int | None = None,
                         also_in_view: np.ndarray | None = None) -> go.Figure:
    """A polyhedron ``{x : A x <= b}`` in the plane: the feasible region shaded to the edge of
    the view (a polygon, or an unbounded region cut only by the view), its vertices, its
    recession rays drawn from each vertex, its lines; optionally ``points`` (a layer's outputs)
    with those outside marked.

    With ``show_constraints`` each constraint's boundary line ``a_i x = b_i`` (it need not pass
    through the origin) is drawn across the view with its number, and the side it cuts away is
    lightly shaded (the first :data:`MAX_BOUNDARIES`); row ``highlight`` is drawn in orange.
    ``also_in_view`` are points the view must include."""
    if poly.dim != 2:
        raise ValueError(f"figure_polyhedron_2d draws polyhedra in R^2; this one is in "
                         f"R^{poly.dim}")
    lo, hi = _view(poly, points, also_in_view)
    fig = go.Figure()
    if show_constraints:
        _add_boundaries(fig, poly, lo, hi, highlight)
    region = _clip_to_box(*poly.rows_in_range(), lo, hi) if not poly.is_empty else np.zeros((0, 2))
    if len(region):
        fig.add_trace(go.Scatter(x=region[:, 0], y=region[:, 1], fill="toself", mode="lines",
                                 fillcolor=POLY_FILL, line=dict(width=0, color=RAY_COLOR),
                                 name="the polyhedron", hoverinfo="skip"))
        # Its edges, without the view's sides where an unbounded region is only cut off.
        eps = 1e-9 * float((hi - lo).max())
        on_side = [np.isclose(p, lo, atol=eps) | np.isclose(p, hi, atol=eps) for p in region]
        edges = []
        for j in range(len(region) - 1):
            if not np.any(on_side[j] & on_side[j + 1]):
                edges += [region[j], region[j + 1], np.full(2, np.nan)]
        if edges:
            E = np.array(edges)
            fig.add_trace(go.Scatter(x=E[:, 0], y=E[:, 1], mode="lines", hoverinfo="skip",
                                     line=dict(width=2, color=RAY_COLOR), name="its edges",
                                     showlegend=False))
    V = np.asarray(poly.vertices, dtype=float)
    reach = float((hi - lo).max())
    for k, r in enumerate(np.asarray(poly.rays, dtype=float)):
        for j, v in enumerate(V):
            tip = v + r * reach
            fig.add_trace(go.Scatter(x=[v[0], tip[0]], y=[v[1], tip[1]], mode="lines",
                                     line=dict(color=RAY_COLOR, width=2, dash="dot"),
                                     name=f"ray r{k + 1} (from each vertex)",
                                     legendgroup=f"r{k}", showlegend=j == 0))
    for k, ell in enumerate(np.asarray(poly.lines, dtype=float)):
        for j, v in enumerate(V):
            a, b = v - ell * reach, v + ell * reach
            fig.add_trace(go.Scatter(x=[a[0], b[0]], y=[a[1], b[1]], mode="lines",
                                     line=dict(color=LINE_COLOR, width=2, dash="dash"),
                                     name=f"line l{k + 1}", legendgroup=f"l{k}",
                                     showlegend=j == 0))
    if len(V):
        fig.add_trace(go.Scatter(x=V[:, 0], y=V[:, 1], mode="markers+text",
                                 marker=dict(size=10, color=VERTEX_COLOR),
                                 text=[f"v{i + 1}" for i in range(len(V))],
                                 textposition="top right", name="vertices"))
    if points is not None and len(points):
        Z = np.asarray(points, dtype=float)
        inside = poly.contains(Z)
        fig.add_trace(go.Scatter(x=Z[inside, 0], y=Z[inside, 1], mode="markers",
                                 # A white rim: blue dots on the blue shading vanished in the
                                 # dark theme.
                                 marker=dict(size=5, color=METHOD_COLORS["cone_layer"],
                                             opacity=0.9, line=dict(width=0.6, color="white")),
                                 name=points_name))
        if (~inside).any():
            fig.add_trace(go.Scatter(x=Z[~inside, 0], y=Z[~inside, 1], mode="markers",
                                     marker=dict(size=8, color="red", symbol="x"),
                                     name=f"{points_name}: outside"))
    # "domain": the plot area shrinks to the square view, so nothing shows past the shading.
    fig.update_layout(xaxis=dict(range=[lo[0], hi[0]], zeroline=True, constrain="domain"),
                      yaxis=dict(range=[lo[1], hi[1]], scaleanchor="x", scaleratio=1,
                                 zeroline=True, constrain="domain"),
                      margin=dict(l=10, r=10, t=10, b=10), height=460,
                      legend=dict(orientation="h", y=-0.12))
    return fig


def _triangles(P: np.ndarray) -> np.ndarray:
    """Triangles ``(t, 3)`` (indices into ``P``) covering the convex hull of points ``P`` in
    space: its faces, or a fan over the polygon when the points lie in one plane; none for
    fewer than three points or points on a line."""
    from scipy.spatial import ConvexHull, QhullError

    if len(P) < 3:
        return np.zeros((0, 3), dtype=int)
    if len(P) >= 4:
        try:
            return ConvexHull(P).simplices
        except QhullError:
            pass  # flat: all in one plane (an equality, a face)
    centred = P - P.mean(axis=0)
    _, sv, Vt = np.linalg.svd(centred, full_matrices=False)
    if sv[1] <= 1e-9 * max(sv[0], 1.0):
        return np.zeros((0, 3), dtype=int)
    flat = centred @ Vt[:2].T
    try:
        ring = ConvexHull(flat).vertices
    except QhullError:
        return np.zeros((0, 3), dtype=int)
    return np.array([[ring[0], ring[j], ring[j + 1]] for j in range(1, len(ring) - 1)])


def _clipped_vertices(poly, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The vertices of the polyhedron cut by the box ``[lo, hi]`` (an unbounded one as far as
    the view shows it), through :meth:`Polyhedron.from_inequalities` on the rows plus the box's
    (exact when ``A`` and ``b`` are)."""
    from conecore.polyhedron import Polyhedron

    d = poly.dim
    A = poly.A_exact if poly.A_exact is not None else poly.A
    b = poly.b_exact if poly.b_exact is not None else poly.b
    box = np.vstack([np.eye(d), -np.eye(d)]).astype(int)
    rows = np.concatenate([np.asarray(A, dtype=object).reshape(-1, d), box.astype(object)])
    rhs = [*list(b), *np.round(hi, 6).tolist(), *(-np.round(lo, 6)).tolist()]
    try:
        return np.asarray(Polyhedron.from_inequalities(rows, rhs,
                                                       equalities=poly.equalities).vertices)
    except ConeError:  # over the limits: the picture goes without the region, never an error
        return np.zeros((0, d))


def figure_polyhedron_3d(poly, points: np.ndarray | None = None,
                         points_name: str = "outputs", *,
                         also_in_view: np.ndarray | None = None) -> go.Figure:
    """A polyhedron in space: a polytope as a mesh of its faces (the convex hull of its
    vertices; a flat polygon when it lies in a plane), an unbounded one as the part the view
    shows (the polyhedron cut by the view's box), its vertices, its rays drawn from each vertex,
    its lines through them, and optionally ``points``. ``also_in_view`` are points the view must
    include."""
    if poly.dim != 3:
        raise ValueError(f"figure_polyhedron_3d draws polyhedra in R^3; this one is in "
                         f"R^{poly.dim}")
    fig = go.Figure()
    V = np.asarray(poly.vertices, dtype=float)
    lo, hi = _view(poly, points, also_in_view)
    if not poly.is_empty:
        if poly.is_bounded:
            body, name = V, "the polytope"
        else:
            body, name = _clipped_vertices(poly, lo, hi), "the polyhedron (cut by the view)"
        tri = _triangles(body)
        if len(tri):
            fig.add_trace(go.Mesh3d(x=body[:, 0], y=body[:, 1], z=body[:, 2], i=tri[:, 0],
                                    j=tri[:, 1], k=tri[:, 2], color=RAY_COLOR, opacity=0.35,
                                    name=name, flatshading=True, hoverinfo="skip",
                                    showlegend=True))
    if len(V):
        fig.add_trace(go.Scatter3d(x=V[:, 0], y=V[:, 1], z=V[:, 2], mode="markers+text",
                                   marker=dict(size=4, color=VERTEX_COLOR),
                                   text=[f"v{i + 1}" for i in range(len(V))],
                                   name="vertices"))
    reach = float((hi - lo).max()) / 2
    for k, ell in enumerate(np.asarray(poly.lines, dtype=float)):
        segs = [p for v in V for p in (v - ell * reach, v + ell * reach, np.full(3, np.nan))]
        if segs:
            S = np.array(segs)
            fig.add_trace(go.Scatter3d(x=S[:, 0], y=S[:, 1], z=S[:, 2], mode="lines",
                                       line=dict(color=LINE_COLOR, width=4, dash="dash"),
                                       name=f"line l{k + 1}"))
    for k, r in enumerate(np.asarray(poly.rays, dtype=float)):
        for j, v in enumerate(V):
            tip = v + r * reach
            fig.add_trace(go.Scatter3d(x=[v[0], tip[0]], y=[v[1], tip[1]], z=[v[2], tip[2]],
                                       mode="lines", line=dict(color=RAY_COLOR, width=4),
                                       name=f"ray r{k + 1}", legendgroup=f"r{k}",
                                       showlegend=j == 0))
    if points is not None and len(points):
        Z = np.asarray(points, dtype=float)
        inside = poly.contains(Z)
        for mask, name, style in ((inside, points_name, dict(size=2, color=METHOD_COLORS[
                "cone_layer"])), (~inside, f"{points_name}: outside", dict(size=4, color="red",
                                                                          symbol="x"))):
            if mask.any():
                fig.add_trace(go.Scatter3d(x=Z[mask, 0], y=Z[mask, 1], z=Z[mask, 2],
                                           mode="markers", marker=style, name=name))
    fig.update_layout(scene=dict(aspectmode="data", camera=CAMERA_3D),
                      margin=dict(l=0, r=0, t=10, b=0),
                      height=520, uirevision="polyhedron3d", legend=dict(orientation="h"))
    return fig


# ---------------------------------------------------------------------- polyhedra: train, samples
_VIEW = "(view)"  # the points figure_polyhedron_2d sizes its view by; not drawn here


def coordinate_shadow(poly, coords: tuple[int, int] = (0, 1)):
    r"""The projection of ``poly`` onto the coordinates ``coords`` (its shadow in that plane),
    a 2-D :class:`~conecore.Polyhedron`: :math:`\operatorname{conv}(V') + \operatorname{cone}(R')
    + \operatorname{lin}(L')` with every generator projected (Minkowski-Weyl: the projection of
    a sum is the sum of the projections). A point of the shadow need not come from a point of
    ``poly`` with the other coordinates it has: inside the shadow is not inside ``poly``."""
    from conecore.polyhedron import Polyhedron

    d = poly.dim
    if len(coords) != 2 or len(set(coords)) != 2 or not all(0 <= c < d for c in coords):
        raise ValueError(f"coords must be two different coordinates of R^{d}; got {coords}")
    cols = list(coords)

    def nonzero(M) -> np.ndarray:
        M = np.asarray(M, dtype=float).reshape(-1, d)[:, cols]
        return M[np.linalg.norm(M, axis=1) > 1e-12]

    return Polyhedron.from_generators(np.asarray(poly.vertices, dtype=float)[:, cols],
                                      nonzero(poly.rays), nonzero(poly.lines))


def _polyhedron_base(poly, points: np.ndarray, coords: tuple[int, int]
                     ) -> tuple[go.Figure, np.ndarray]:
    """The plane figure of ``poly`` (d = 2) or of its shadow on ``coords`` (d > 2), its view
    sized to hold ``points`` too, and the ``(2, d)`` map from R^d to the figure's plane."""
    d = poly.dim
    P = np.zeros((2, d))
    P[0, coords[0]] = P[1, coords[1]] = 1.0
    shown = poly if d == 2 else coordinate_shadow(poly, coords)
    fig = figure_polyhedron_2d(shown, points=np.asarray(points, dtype=float).reshape(-1, d) @ P.T,
                               points_name=_VIEW)
    fig.data = [t for t in fig.data if not (t.name or "").startswith(_VIEW)]
    if d > 2:
        x, y = (f"x{c + 1}" for c in coords)
        for trace in fig.data:
            if trace.name == "the polyhedron":
                trace.name = f"its shadow on ({x}, {y})"
            elif trace.name == "vertices":
                trace.name = "vertices of the shadow"
        fig.update_layout(
            title=dict(text=f"Coordinates {x} and {y} of points in R^{d}: the polyhedron's "
                            "shadow; outside (red x) is judged in R^" + str(d),
                       font=dict(size=13)),
            margin=dict(t=40), xaxis_title=x, yaxis_title=y)
    return fig, P


def figure_polyhedron_outputs(poly, outputs: dict[str, np.ndarray],
                              violating: dict[str, np.ndarray],
                              titles: dict[str, str] | None = None,
                              coords: tuple[int, int] = (0, 1)) -> go.Figure:
    """Model outputs over a polyhedron (:func:`figure_outputs` for a cone): in the plane for
    d = 2 (:func:`figure_polyhedron_2d`), else coordinates ``coords`` of the outputs over the
    polyhedron's shadow on them (:func:`coordinate_shadow`, the title says so). Whether a point
    is outside is ``violating`` (judged in R^d), drawn as a red x."""
    everything = np.vstack([np.asarray(Z, dtype=float).reshape(-1, poly.dim)
                            for Z in outputs.values()]) if outputs else np.zeros((0, poly.dim))
    fig, P = _polyhedron_base(poly, everything, coords)
    for method, Z in outputs.items():
        Q = np.asarray(Z, dtype=float) @ P.T
        bad = np.asarray(violating[method], dtype=bool)
        name = (titles or {}).get(method, method)
        fig.add_trace(go.Scatter(x=Q[~bad, 0], y=Q[~bad, 1], mode="markers", name=name,
                                 marker=dict(size=5, color=METHOD_COLORS.get(method),
                                             opacity=0.7)))
        if bad.any():
            fig.add_trace(go.Scatter(x=Q[bad, 0], y=Q[bad, 1], mode="markers",
                                     name=f"{name}: outside",
                                     marker=dict(size=8, color="red", symbol="x")))
    fig.update_layout(height=480, showlegend=True, legend=dict(orientation="h", y=-0.15))
    return fig


def figure_polyhedron_sample_animation(poly, frames, titles: dict[str, str] | None = None,
                                       coords: tuple[int, int] = (0, 1)) -> go.Figure:
    """:func:`figure_sample_animation` over a polyhedron: in the plane for d = 2, else
    coordinates ``coords`` over its shadow (outside judged in R^d; the title is the frame's, so
    the page says that the view is a shadow)."""
    everything = np.concatenate([S.reshape(-1, poly.dim) for S in frames.samples.values()])
    base, P = _polyhedron_base(poly, everything, coords)
    fig = _sample_animation(base, P, frames, titles, False, "the polyhedron")
    # This plane has tick labels (the cone's view has none): the legend goes below them.
    fig.update_layout(legend=dict(y=-0.08))
    return fig


def _hull(points: np.ndarray):
    """``scipy.spatial.ConvexHull`` of ``points``, or None when they are too few or flat."""
    from scipy.spatial import ConvexHull, QhullError

    k = points.shape[1]
    if len(points) <= k:
        return None
    try:
        return ConvexHull(points)
    except QhullError:  # all in a line (2-D) or a plane (3-D)
        return None


def figure_polyhedron_projected(poly, coords: tuple[int, ...], points: np.ndarray | None = None,
                                points_name: str = "outputs", max_rays: int = 40) -> go.Figure:
    r"""The shadow of a polyhedron in :math:`\mathbb{R}^d` on 2 or 3 of its coordinates.

    The projection :math:`\pi` onto coordinates ``coords`` maps
    :math:`P = \operatorname{conv}(V) + \operatorname{cone}(R) + \operatorname{lin}(L)` onto
    :math:`\operatorname{conv}(\pi V) + \operatorname{cone}(\pi R) + \operatorname{lin}(\pi L)`:
    drawn are the projected vertices, their convex hull (the whole shadow of a polytope: a
    polygon, or a mesh in 3-D), the projected rays (dotted) and lines (dashed) from the hull's
    vertices, and optionally ``points`` projected, those outside ``P`` (in :math:`\mathbb{R}^d`)
    marked. The title says it is a projection. At most ``max_rays`` rays and lines are drawn."""
    coords = tuple(int(c) for c in coords)
    k = len(coords)
    if k not in (2, 3) or len(set(coords)) != k or not all(0 <= c < poly.dim for c in coords):
        raise ValueError(f"project on 2 or 3 distinct coordinates among 0..{poly.dim - 1}; got "
                         f"{coords}")
    names = [f"x{c + 1}" for c in coords]
    fig = go.Figure()
    V = np.asarray(poly.vertices, dtype=float)[:, coords]
    hull = _hull(V)
    corners = V[hull.vertices] if hull is not None else V
    three = k == 3

    def scatter(Q: np.ndarray, **kw):
        if three:
            return go.Scatter3d(x=Q[:, 0], y=Q[:, 1], z=Q[:, 2], **kw)
        return go.Scatter(x=Q[:, 0], y=Q[:, 1], **kw)

    if hull is not None and not three:  # 2-D hull vertices come counter-clockwise
        ring = np.vstack([corners, corners[:1]])
        fig.add_trace(scatter(ring, mode="lines", fill="toself", fillcolor=POLY_FILL,
                              line=dict(width=2, color=RAY_COLOR), hoverinfo="skip",
                              name="shadow: the hull of the projected vertices"))
    elif hull is not None:
        index = {int(v): j for j, v in enumerate(hull.vertices)}
        i, j, t = (np.array([[index[int(v)] for v in tri] for tri in hull.simplices]).T)
        fig.add_trace(go.Mesh3d(x=corners[:, 0], y=corners[:, 1], z=corners[:, 2], i=i, j=j,
                                k=t, color=RAY_COLOR, opacity=0.3, flatshading=True,
                                hoverinfo="skip", showlegend=True,
                                name="shadow: the hull of the projected vertices"))
    elif len(V) > 1:  # a flat shadow: the segment (or flat polygon's outline) through them
        order = np.lexsort(V.T[::-1])
        fig.add_trace(scatter(V[order], mode="lines", line=dict(width=3, color=RAY_COLOR),
                              name="shadow (flat)"))
    lo = np.vstack([V, np.zeros((1, k))]).min(axis=0) if len(V) else -np.ones(k)
    hi = np.vstack([V, np.zeros((1, k))]).max(axis=0) if len(V) else np.ones(k)
    reach = max(float((hi - lo).max()), 1.0) * 0.6
    for vecs, label, color, dash, both in (
            (np.asarray(poly.rays, dtype=float), "rays (projected)", RAY_COLOR, "dot", False),
            (np.asarray(poly.lines, dtype=float), "lines (projected)", LINE_COLOR, "dash", True)):
        segs = []
        for r in vecs[:max_rays, coords]:
            n = float(np.linalg.norm(r))
            if n < 1e-12:  # orthogonal to the shown coordinates: a point in the shadow
                continue
            for v in corners:
                segs += [v - r / n * reach if both else v, v + r / n * reach,
                         np.full(k, np.nan)]
        if segs:
            fig.add_trace(scatter(np.array(segs), mode="lines", name=label,
                                  line=dict(color=color, width=2 if not three else 4,
                                            dash=dash if not three else "solid")))
    if len(V):
        fig.add_trace(scatter(V, mode="markers", marker=dict(size=5 if three else 9,
                                                             color=VERTEX_COLOR),
                              name="vertices (projected)",
                              text=[f"v{i + 1}" for i in range(len(V))], hoverinfo="text"))
    if points is not None and len(points):
        Z = np.asarray(points, dtype=float)
        inside = poly.contains(Z)
        for mask, name, style in (
                (inside, f"{points_name} (projected)",
                 dict(size=2 if three else 4, color=METHOD_COLORS["cone_layer"], opacity=0.6)),
                (~inside, f"{points_name}: outside", dict(size=4 if three else 8, color="red",
                                                          symbol="x"))):
            if mask.any():
                fig.add_trace(scatter(Z[mask][:, coords], mode="markers", marker=style,
                                      name=name))
    noun = "polytope" if poly.is_bounded else "polyhedron"
    title = f"Projection onto {', '.join(names)} of a {noun} in R^{poly.dim}"
    fig.update_layout(title=dict(text=title, font=dict(size=13)),
                      margin=dict(l=10, r=10, t=40, b=10), height=500 if three else 460,
                      legend=dict(orientation="h", y=-0.12))
    if three:
        fig.update_layout(scene=dict(xaxis_title=names[0], yaxis_title=names[1],
                                     zaxis_title=names[2], aspectmode="data", camera=CAMERA_3D),
                          uirevision="polyhedron-projection")
    else:
        fig.update_layout(xaxis_title=names[0], yaxis=dict(title=names[1], scaleanchor="x",
                                                           scaleratio=1))
    return fig


BORN_COLOR = "#1a7f37"


def figure_polyhedron_dd_step(steps, k: int) -> go.Figure:
    """Step ``k`` of a :class:`conecore.ddsteps.PolyhedronSteps` (0: no constraint yet): the
    polyhedron of the first ``k`` inequalities as :func:`figure_polyhedron_2d` or
    :func:`figure_polyhedron_3d` draws it (the newest constraint's line in orange in 2-D), the
    vertices it cut off (red crosses) and the vertices born on its boundary (green)."""
    from conecore.polyhedron import Polyhedron

    d = steps.dim
    if d not in (2, 3):
        raise ValueError("figure_polyhedron_dd_step draws polyhedra in R^2 or R^3")
    step = steps.steps[k]
    points = [*step.vertices, *step.dropped_vertices, *step.born_vertices]
    if any(abs(Fraction(v)) >= _FLOAT_MAX for p in points for v in p):
        raise ConeInputError(f"the polyhedron of the first {k} constraints has a vertex with a "
                             "coordinate past 1e308, which float64 cannot hold: no picture of "
                             "this step (its vertices are listed exactly)")
    A = np.array(steps.A[:k], dtype=object).reshape(k, d) if k else np.zeros((0, d), dtype=int)
    b = list(steps.b[:k])
    if step.is_empty:
        poly = Polyhedron.from_inequalities(A, b)
    else:
        # (rays and lines are directions: each scaled by a power of two, as primitive integers
        # they can pass 1e308, which from_parts refuses)
        poly = Polyhedron.from_parts(A, b, np.array(step.vertices, dtype=object).reshape(-1, d),
                                     _exact_rows_in_range(step.rays).reshape(-1, d),
                                     _exact_rows_in_range(step.lines).reshape(-1, d))
    gone = np.array(step.dropped_vertices, dtype=float).reshape(-1, d)
    born = np.array(step.born_vertices, dtype=float).reshape(-1, d)
    view = gone
    if k:  # the new boundary's point nearest the origin shows too
        a, beta = np.array(steps.A[k - 1], dtype=float), float(steps.b[k - 1])
        scale = row_scales(a[None, :])[0]  # a . a past 1e154 overflowed: a NaN point
        a, beta = a / scale, beta / scale
        if np.any(a):
            view = np.vstack([gone, a * beta / (a @ a)])
    if d == 2:
        fig = figure_polyhedron_2d(poly, highlight=k - 1 if k else None, also_in_view=view)
    else:
        fig = figure_polyhedron_3d(poly, also_in_view=view)
    for P, name, marker in ((gone, "cut off", dict(size=12, color=CUT_COLOR, symbol="x")),
                            (born, "born", dict(size=14, color=BORN_COLOR, symbol="circle-open",
                                                line=dict(width=3, color=BORN_COLOR)))):
        if not len(P):
            continue
        if d == 2:
            fig.add_trace(go.Scatter(x=P[:, 0], y=P[:, 1], mode="markers", marker=marker,
                                     name=name))
        else:
            marker = dict(size=6, color=marker["color"],
                          symbol="x" if name == "cut off" else "circle-open")
            fig.add_trace(go.Scatter3d(x=P[:, 0], y=P[:, 1], z=P[:, 2], mode="markers",
                                       marker=marker, name=name))
    if d == 3:  # one camera for every step: the slider does not turn the picture
        fig.update_layout(uirevision="polyhedron-steps")
    return fig

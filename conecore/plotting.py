"""Plotly figures of cones (no Streamlit here: pages draw what these functions build).

One builder per view. So far: :func:`figure_2d`, the plane view of a cone in R^2.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from conecore.cone import Cone

CONE_FILL = "rgba(31, 111, 235, 0.30)"
HALF_FILL = "rgba(120, 120, 120, 0.08)"
RAY_COLOR = "#1f6feb"
LINE_COLOR = "#8250df"
NORMAL_COLOR = "#cf222e"


def _wedge_polygon(cone: Cone, radius: float) -> np.ndarray | None:
    """Corners of the cone cut by a disc of ``radius``, as a closed polygon (2-D only)."""
    gens = np.vstack([cone.rays, cone.lines, -cone.lines])
    if len(gens) == 0:
        return None
    if len(cone.lines) == 2:  # the whole plane
        t = np.linspace(0, 2 * np.pi, 90)
        return np.column_stack([np.cos(t), np.sin(t)]) * radius
    angles = np.sort(np.arctan2(gens[:, 1], gens[:, 0]))
    if len(gens) == 1:
        return None
    # The cone is the arc between consecutive generator angles that lies inside it.
    gaps = np.diff(np.concatenate([angles, [angles[0] + 2 * np.pi]]))
    start = int(np.argmax(gaps))  # the largest gap is outside the cone
    a0 = angles[(start + 1) % len(angles)]
    a1 = a0 + 2 * np.pi - gaps[start]
    t = np.linspace(a0, a1, 60)
    arc = np.column_stack([np.cos(t), np.sin(t)]) * radius
    return np.vstack([[0.0, 0.0], arc, [0.0, 0.0]])


def figure_2d(cone: Cone, radius: float = 1.0, show_normals: bool = True) -> go.Figure:
    """The cone in the plane: half-planes lightly shaded, the cone strongly shaded, rays as
    arrows, lines dotted, normals ``a_i`` dashed."""
    if cone.dim != 2:
        raise ValueError(f"figure_2d draws cones in R^2; this cone is in R^{cone.dim}")
    fig = go.Figure()
    R = 1.25 * radius
    for i, a in enumerate(cone.A):
        n = np.linalg.norm(a)
        if n == 0:
            continue
        a = a / n
        edge = np.array([-a[1], a[0]])
        # The half-plane a.x <= 0: a square on the side opposite to a.
        poly = np.array([edge * R, edge * R - a * R, -edge * R - a * R, -edge * R, edge * R])
        fig.add_trace(go.Scatter(x=poly[:, 0], y=poly[:, 1], fill="toself", fillcolor=HALF_FILL,
                                 line=dict(width=1, color="rgba(90,90,90,0.5)"),
                                 hoverinfo="skip", showlegend=i == 0, name="half-planes",
                                 legendgroup="half"))
        if show_normals:
            fig.add_trace(go.Scatter(x=[0, a[0] * 0.6 * radius], y=[0, a[1] * 0.6 * radius],
                                     mode="lines+markers",
                                     line=dict(color=NORMAL_COLOR, dash="dash"),
                                     marker=dict(symbol="arrow", angleref="previous", size=10),
                                     name=f"normal a{i + 1}", legendgroup="normals",
                                     showlegend=i == 0, hovertext=f"a{i + 1} = {cone.A[i]}"))
    poly = _wedge_polygon(cone, radius)
    if poly is not None:
        fig.add_trace(go.Scatter(x=poly[:, 0], y=poly[:, 1], fill="toself", fillcolor=CONE_FILL,
                                 line=dict(width=0), name="cone", hoverinfo="skip"))
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
    fig.update_layout(xaxis=dict(range=[-R, R], zeroline=True),
                      yaxis=dict(range=[-R, R], scaleanchor="x", scaleratio=1, zeroline=True),
                      margin=dict(l=10, r=10, t=10, b=10), height=420,
                      legend=dict(orientation="h", y=-0.1))
    return fig

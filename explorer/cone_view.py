"""Build a cone's view of the session's cone: kind, counts, the 2-D / 3-D / projected figure,
the rays and lines, ``A`` with its redundant rows, and the downloads."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

import conecore as cc
from conecore import plotting
from explorer import session, shell
from explorer.limits import APP_LIMITS

DOWNLOADS = ((".ine", cc.to_ine, "cone.ine"), (".ext", cc.to_ext, "cone.ext"),
             ("JSON", cc.cone_to_json, "cone.json"), ("CSV", cc.to_csv, "cone.csv"))


# Cached by the cone's key (its URL form); the cone itself is not hashed.
@st.cache_data(max_entries=64, show_spinner=False)
def fig_2d(key: str, _cone: cc.Cone, polar: bool):
    return plotting.figure_2d(_cone, show_polar=polar)


@st.cache_data(max_entries=64, show_spinner=False)
def fig_3d(key: str, _cone: cc.Cone, polar: bool, normals: bool, preview: tuple | None = None):
    return plotting.figure_3d(_cone, show_normals=normals, show_polar=polar, preview=preview)


EXPLAIN = r"""
**What the picture shows.** Each row $a_i$ of $A$ is a half-space $a_i \cdot x \le 0$ (lightly
shaded, its outward normal $a_i$ dashed). The cone $C = \{x : Ax \le 0\}$ is where all of them
overlap (strongly shaded).

**Rays and lines.** By the Minkowski–Weyl theorem $C = \{L^\top t + R^\top \mu : \mu \ge 0\}$:
every point is a non-negative combination of the extreme rays $r_k$ (arrows) plus any
combination of the lines $l_j$ (the lineality space $\ker A$, drawn as double lines). The double
description method finds $R$ and $L$ exactly.

**Why it matters for networks.** A layer that outputs $L t + R^\top \mu$ with $\mu \ge 0$
(softplus, relu, ...) can only produce points of $C$: $A L^\top = 0$ and $A R^\top \le 0$, so
$A z \le 0$ for every input, during training and at test time.

**The polar cone.** $C^\circ = \{y : y \cdot x \le 0 \text{ for all } x \in C\}$ is generated
by the rows of $A$ (Farkas' lemma), so the two swap roles: the facet normals $a_i$ of $C$ are
(generators of) the rays of $C^\circ$, and the extreme rays of $C$ are the facet normals of
$C^\circ$. A ray $r$ of $C$ and a row $a_i$ tight on it meet at a right angle ($a_i \cdot r = 0$),
which the picture shows when the polar cone is on; and $(C^\circ)^\circ = C$.
"""


def kind_sentence(cone: cc.Cone) -> str:
    return {
        cc.Kind.ONLY_ORIGIN: "The constraints leave only the origin: no ray, no line. A layer "
                             "on this cone could only output 0.",
        cc.Kind.WHOLE_SPACE: "No row constrains anything (A is zero or empty): the cone is the "
                             "whole space, spanned by its lines.",
        cc.Kind.HALF_SPACE: "All rows point the same way: the cone is one half-space, one ray "
                            "(the inner normal) plus the lines of its boundary.",
        cc.Kind.POINTED: "Pointed: no line inside; every point is a non-negative combination of "
                         "the rays.",
        cc.Kind.SUBSPACE: "The rows cancel out to equalities: the cone is a linear subspace "
                          "(lines only).",
        cc.Kind.CONTAINS_LINES: "Contains lines: non-negative combinations of the rays plus any "
                                "point of the lineality space.",
    }[cone.kind]


def generators_table(M: np.ndarray, prefix: str) -> pd.DataFrame:
    """Rays or lines, one column per coordinate up to ``MAX_TABLE_COLS``. Exact entries that
    Arrow cannot hold (integers past 64 bits: the rays of a row with entries like 10^30;
    fractions) are shown as text, every one of them exactly: such a table crashed the page."""
    d = M.shape[1]
    shown = min(d, MAX_TABLE_COLS)
    cells = np.asarray(M)[:, :shown]
    if cells.dtype == object:
        small = all(isinstance(v, (int, np.integer)) and -2**63 <= v < 2**63 for v in cells.flat)
        cells = cells.astype(np.int64) if small else cells.astype(str)
    frame = pd.DataFrame(cells, columns=[f"x{j + 1}" for j in range(shown)],
                         index=[f"{prefix}{i + 1}" for i in range(len(M))])
    if frame.dtypes.map(lambda t: t.kind == "f").any():
        frame = frame.round(4)
    return frame


def show_cone(cone: cc.Cone) -> None:
    """The whole view, in one column: :func:`show_view`, then :func:`show_tables`."""
    show_view(cone)
    show_tables(cone)


def show_view(cone: cc.Cone) -> None:
    """The kind, the counts, the picture and the explanation (the tables are apart)."""
    text = session.cone_key()
    badge_color = {"pointed": "blue", "contains lines": "violet", "half-space": "orange",
                   "only the origin": "gray", "whole space": "green", "linear subspace": "red"}
    st.markdown(f":{badge_color[str(cone.kind)]}-badge[{cone.kind}]  "
                f"{kind_sentence(cone)}")
    # Two by two: four in a row are cut to "dime…" in the output column of an 800 px window.
    c1, c2 = st.columns(2)
    c3, c4 = st.columns(2)
    c1.metric("dimension d", cone.dim)
    c2.metric("rows of A", cone.A.shape[0])
    c3.metric("extreme rays", cone.rays.shape[0])
    c4.metric("lines", cone.lines.shape[0])
    if cone.dim == 2:
        polar = (shell.setting("show_polar_2d", False) if shell.controls_hidden() else
                 st.toggle("Show the polar cone", key="show_polar_2d", bind="query-params"))
        st.plotly_chart(fig_2d(text, cone, polar), key="fig2d", width="stretch")
    elif cone.dim == 3:
        if shell.controls_hidden():
            polar = shell.setting("show_polar_3d", False)
            normals = shell.setting("show_normals_3d", True)
        else:
            t1, t2 = st.columns(2)
            polar = t1.toggle("Show the polar cone", key="show_polar_3d", bind="query-params")
            normals = t2.toggle("Show the normals", value=True, key="show_normals_3d",
                                bind="query-params")
        preview = None
        if st.session_state.get("build_mode") == "Angles (3-D)":
            preview = tuple(st.session_state.get("angle_preview", ())) or None
        st.plotly_chart(fig_3d(text, cone, polar, normals, preview), key="fig3d", width="stretch")
    elif cone.dim > 3:
        high_dim_views(cone)
    else:
        st.write("In R^1 a cone is {0}, a half-line or the whole line; the table below says "
                 "which.")
    with st.expander("Explain", expanded=False):
        st.markdown(EXPLAIN)


def high_dim_views(cone: cc.Cone) -> None:
    d = cone.dim
    how = st.radio("Projection", ["chosen coordinates", "random orthogonal"], horizontal=True,
                   key="proj_kind")
    if how == "chosen coordinates":
        coords = st.multiselect("Coordinates (2 or 3)", list(range(d)), default=[0, 1, 2],
                                max_selections=3, format_func=lambda j: f"x{j + 1}",
                                key="proj_coords")
        if len(coords) < 2:
            st.info("Choose two or three coordinates.")
            return
        P = plotting.projection_basis(d, tuple(coords))
        labels = [f"x{j + 1}" for j in coords]
    else:
        seed = st.number_input("Seed", 0, 10_000, 0, key="proj_seed")
        k = st.radio("Dimensions", [2, 3], horizontal=True, key="proj_k")
        P = plotting.projection_basis(d, seed=int(seed), k=int(k))
        labels = None
    st.plotly_chart(plotting.figure_projected(cone, P, labels), key="figproj", width="stretch")
    if len(cone.rays):
        st.caption("The rays in parallel coordinates (first 40 coordinates)")
        st.plotly_chart(plotting.figure_parallel(cone), key="figpar", width="stretch")
    side = math.isqrt(d)
    if side * side == d and d >= 16:
        st.caption("Image-shaped cone: each row of A and each ray as a small image "
                   "(red negative, blue positive).")
        st.plotly_chart(plotting.image_grid(cone.A[:32], side, [f"a{i + 1}" for i in
                                                                range(min(32, len(cone.A)))]),
                        key="figimgA", width="stretch")
        if len(cone.rays):
            st.plotly_chart(plotting.image_grid(cone.rays[:32], side,
                                                [f"r{i + 1}" for i in range(min(32,
                                                                              len(cone.rays)))]),
                            key="figimgR", width="stretch")


MAX_TABLE_ROWS = 64  # rays or lines in a table; more are summarised (never thousands of cells)
MAX_EXACT_LINE_ENTRIES = 4096  # an exact line basis costs ~ l * d**2: computed only when small


def show_tables(cone: cc.Cone) -> None:
    """Rays, lines and A, each as wide as the page (half-width tables hid x5 of a 5-D cone)."""
    st.markdown("**Extreme rays**" + (" (exact, primitive integers)"
                                      if cone.rays_exact is not None else " (unit length)"))
    rays = cone.rays_exact if cone.rays_exact is not None else cone.rays
    if len(rays) > MAX_TABLE_ROWS:
        st.caption(f"{len(rays):,} rays: the first {MAX_TABLE_ROWS} below; all of them in the "
                   ".ext download.")
    if len(rays):
        st.dataframe(generators_table(rays[:MAX_TABLE_ROWS], "r"), width="stretch")
    else:
        st.caption("none")
    st.markdown("**Lines** (a basis of the lineality space)")
    n_lines = len(cone.lines)
    if n_lines > MAX_TABLE_ROWS:
        st.caption(f"{n_lines:,} lines (the lineality space has dimension {n_lines:,}): too many "
                   "to list here; they are in the .ext and JSON downloads.")
    elif n_lines:
        exact = n_lines * cone.dim <= MAX_EXACT_LINE_ENTRIES and cone.lines_exact is not None
        st.dataframe(generators_table(cone.lines_exact if exact else cone.lines, "l"),
                     width="stretch")
    else:
        st.caption("none")
    st.markdown("**A**, with redundant rows flagged")
    st.dataframe(a_table(cone), width="stretch")
    if cone.dim > MAX_TABLE_COLS:
        st.caption(f"The first {MAX_TABLE_COLS} of {cone.dim} columns; every entry is in the "
                   "downloads.")
    st.markdown("**Download**")
    offered = offered_downloads(cone)
    for col, (label, write, name) in zip(st.columns(4), DOWNLOADS, strict=True):
        if name in offered:
            shell.download(col, label, lambda write=write: write(cone), name,
                           key=f"dl_{name.rsplit('.', 1)[1]}")
    if len(offered) < len(DOWNLOADS):
        st.caption("No .ext for this cone: its generators (as many lines as here) would be a "
                   "file this app cannot read back; the .ine, JSON and CSV files can.")


MAX_TABLE_COLS = 12


def offered_downloads(cone: cc.Cone) -> set[str]:
    """The files Build offers for ``cone``: only those the app reads back (under its upload
    cap and its limits; a test loads every one of every preset). An .ext holds the generators,
    and reading it back is a V -> H conversion with one row per ray and two per line."""
    names = {name for _, _, name in DOWNLOADS}
    if len(cone.rays) + 2 * len(cone.lines) > APP_LIMITS.max_rows:
        names.discard("cone.ext")
    return names


def a_table(cone: cc.Cone) -> pd.DataFrame:
    """A's rows as the user gave them (exact entries as integers and fractions), one column per
    coordinate up to ``MAX_TABLE_COLS``, and whether each row is implied by the others."""
    redundant = set(cone.redundant_rows)
    cells = [row[:MAX_TABLE_COLS] for row in cc.matrix_cells(cone)]
    frame = pd.DataFrame(cells, columns=[f"x{j + 1}" for j in range(min(cone.dim,
                                                                       MAX_TABLE_COLS))],
                         index=[f"a{i + 1}" for i in range(len(cells))])
    frame["redundant"] = ["implied by the others" if i in redundant else ""
                          for i in range(len(cells))]
    return frame


# ---------------------------------------------------------------------- page

"""Build a cone: enter A (table, text, file, preset, drawing, angles) and see its rays and lines."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import streamlit as st

import conecore as cc
from conecore import plotting
from pages import common

MAX_TABLE_COLS = 10
MAX_UPLOAD_BYTES = 1_000_000
MODES = ["Table", "Text", "Upload", "Preset", "Draw (2-D)", "Angles (3-D)"]
DOWNLOADS = ((".ine", cc.to_ine, "cone.ine"), (".ext", cc.to_ext, "cone.ext"),
             ("JSON", cc.cone_to_json, "cone.json"), ("CSV", cc.to_csv, "cone.csv"))


# ---------------------------------------------------------------------- cached figures
@st.cache_data(max_entries=64, show_spinner=False)
def fig_2d(text: str, polar: bool):
    return plotting.figure_2d(common.cone_from_text(text), show_polar=polar)


@st.cache_data(max_entries=64, show_spinner=False)
def fig_3d(text: str, polar: bool, normals: bool, preview: tuple | None = None):
    return plotting.figure_3d(common.cone_from_text(text), show_normals=normals, show_polar=polar,
                              preview=preview)


# ---------------------------------------------------------------------- inputs
def _rows_text(text: str) -> list[list[str]]:
    return [row.split(",") for row in text.split(";")] if text else []


def _apply(A: object, preset: str | None = None, where: str = "input") -> None:
    error = common.set_cone(A, preset)
    if error:
        st.session_state[f"error_{where}"] = error
    else:
        st.session_state.pop(f"error_{where}", None)


def _show_error(where: str) -> None:
    if f"error_{where}" in st.session_state:
        st.error(st.session_state[f"error_{where}"], icon="⚠️")


def table_input() -> None:
    text = common.current_text()
    rows = _rows_text(text)
    d_now = len(rows[0]) if rows else 2
    if d_now > MAX_TABLE_COLS:
        st.info(f"The table edits up to {MAX_TABLE_COLS} columns; this cone has {d_now}. "
                "Use Text or Upload for it.")
        return
    # The editor's source frame changes only when the cone changed elsewhere.
    if st.session_state.get("table_origin") != text:
        st.session_state["table_origin"] = text
        st.session_state["table_version"] = st.session_state.get("table_version", 0) + 1
        # A cone from elsewhere (a preset, a lesson, a link) sets the dimension; the widget
        # would otherwise keep its old value and cut the new cone's columns.
        st.session_state["table_d"] = d_now
    st.session_state.setdefault("table_d", d_now)  # dropped while another page was shown
    d = st.number_input("Dimension d", 1, MAX_TABLE_COLS, key="table_d",
                        help="Columns of A; changing it pads with zeros or drops columns.")
    cols = [f"x{j + 1}" for j in range(d)]
    # Edits are deltas against this frame, so it stays fixed until the cone changes elsewhere.
    frame_key = (st.session_state["table_version"], d)
    if st.session_state.get("table_frame_key") != frame_key:
        data = [(row + ["0"] * d)[:d] for row in rows] or [["0"] * d]
        st.session_state["table_frame"] = pd.DataFrame(data, columns=cols)
        st.session_state["table_frame_key"] = frame_key
    edited = st.data_editor(
        st.session_state["table_frame"], num_rows="dynamic", width="stretch",
        key=f"table_editor_{frame_key[0]}_{d}",
        column_config={c: st.column_config.TextColumn(c, help="a number or a fraction like 1/2")
                       for c in cols},
    )
    st.caption("One row of A per constraint a·x ≤ 0. Add rows at the bottom; select rows to "
               "delete them. Numbers or fractions (1/2).")
    cells = [["0" if pd.isna(v) or str(v).strip() == "" else str(v).strip() for v in row]
             for row in edited.itertuples(index=False)]
    try:
        if not cells:
            raise cc.ConeInputError("the table has no rows; add at least one")
        A = cc.parse_matrix("\n".join(",".join(row) for row in cells))
    except cc.ConeInputError as exc:
        st.session_state["error_table"] = f"Table: {exc}"
    else:
        if cc.to_url_text(A) != text:
            _apply(A, where="table")
            st.session_state["table_origin"] = common.current_text()
        else:
            st.session_state.pop("error_table", None)
    _show_error("table")


def text_input() -> None:
    if "text_draft" not in st.session_state:
        st.session_state["text_draft"] = common.current_text().replace(";", "\n")

    def on_change() -> None:
        st.session_state["text_draft"] = st.session_state["text_area"]
        try:
            A = cc.parse_matrix(st.session_state["text_area"],
                                homogenize=st.session_state.get("text_homogenize", False))
        except cc.ConeInputError as exc:
            st.session_state["error_text"] = f"Text: {exc}"
            return
        _apply(A, where="text")

    st.text_area("Rows of A", value=st.session_state["text_draft"], key="text_area", height=180,
                 on_change=on_change,
                 help="Rows separated by newlines; entries by spaces, commas or tabs. Also "
                      "Python/JSON lists, fractions like 1/2 and cddlib .ine text.")
    st.checkbox("Homogenise a .ine with b ≠ 0 (the cone over the polyhedron)",
                key="text_homogenize", on_change=on_change)
    if st.button("Load the current cone into the text box"):
        st.session_state["text_draft"] = common.current_text().replace(";", "\n")
        st.session_state.pop("text_area", None)
        st.rerun()
    _show_error("text")


def upload_input() -> None:
    file = st.file_uploader("A file: .ine, .ext, .csv, .json or .txt",
                            type=["ine", "ext", "csv", "json", "txt"], key="upload")
    homogenize = st.checkbox("Homogenise a .ine with b ≠ 0", key="upload_homogenize")
    if file is None:
        return
    signature = (file.name, file.size, homogenize)
    if st.session_state.get("upload_done") == signature:
        _show_error("upload")
        return
    st.session_state["upload_done"] = signature
    if file.size > MAX_UPLOAD_BYTES:
        st.session_state["error_upload"] = (f"{file.name}: {file.size:,} bytes; files up to "
                                            f"{MAX_UPLOAD_BYTES:,} bytes are read.")
        _show_error("upload")
        return
    raw = file.getvalue()
    try:
        A = cc.read_cone_file(file.name, raw, homogenize=homogenize, limits=common.APP_LIMITS)
    except cc.ConeError as exc:
        st.session_state["error_upload"] = f"{file.name}: {exc}"
    else:
        _apply(A, where="upload")
    _show_error("upload")


def preset_input() -> None:
    names = list(cc.PRESETS)
    current = st.session_state.get(common.PRESET_KEY, names[0])
    name = st.selectbox("Preset", names, index=names.index(current) if current in names else 0,
                        format_func=lambda n: cc.PRESETS[n].title, key="preset_name")
    p = cc.PRESETS[name]
    st.caption(p.description)
    params = {}
    for pname, default in p.params.items():
        params[pname] = int(st.number_input(pname, 1, 1024, int(default),
                                            key=f"preset_{name}_{pname}"))
    if st.button("Use this preset", type="primary"):
        try:
            A = cc.preset(name, **params)
        except cc.ConeInputError as exc:
            st.session_state["error_preset"] = str(exc)
        else:
            _apply(A, preset=name if params == p.params else None, where="preset")
    _show_error("preset")


def draw_input() -> None:
    cone = common.current_cone()
    if cone.dim != 2:
        st.info(f"Drawing works in the plane; the current cone is in R^{cone.dim}. Pick a 2-D "
                "preset or type a 2-column A to draw on it, or start a fresh drawing below.")
        if not st.button("Start a fresh 2-D drawing"):
            return
        _apply([[1, -2], [-3, 1]], where="draw")
        st.rerun()
    try:
        from pages.draw2d import draw_vectors
    except ImportError:  # pragma: no cover - the component ships with the app
        st.warning("The drawing component is not available in this build.")
        return
    mode = st.radio("Each arrow is", ["an outward normal a", "a boundary direction",
                                      "a generator (ray)"], horizontal=True, key="draw_mode")
    kind = {"an outward normal a": "normal", "a boundary direction": "boundary",
            "a generator (ray)": "generator"}[mode]
    text = common.current_text()
    stored = st.session_state.get(f"drawn_{kind}")
    if stored and stored[0] == text:
        vectors = stored[1]  # what was drawn, while it is still the current cone
    elif kind == "normal":
        vectors = cone.A.tolist()
    elif kind == "boundary":
        vectors = [[-a[1], a[0]] for a in cone.A.tolist()]  # a = (v_y, -v_x)
    else:
        vectors = cone.rays.tolist() + cone.lines.tolist() + (-cone.lines).tolist()
    drawn = draw_vectors(vectors, mode=kind, key=f"draw_{kind}")
    st.caption("Click to add an arrow, drag a tip to move it, double-click an arrow to delete it.")
    if drawn == vectors:
        _show_error("draw")
        return
    # Drawn coordinates have 3 decimals: read them as exact decimals (0.5 -> 1/2).
    rounded = [[Fraction(str(round(x, 3))), Fraction(str(round(y, 3)))] for x, y in drawn]
    if kind == "normal":
        _apply(rounded or [[0, 0]], where="draw")
    elif kind == "boundary":
        _apply([[y, -x] for x, y in rounded] or [[0, 0]], where="draw")
    else:
        try:
            gens = np.array(rounded, dtype=object).reshape(-1, 2)
            made = cc.Cone.from_generators(gens, limits=common.APP_LIMITS)
        except cc.ConeError as exc:
            st.session_state["error_draw"] = str(exc)
        else:  # the cone itself keeps A exact; no facet at all means the whole plane
            _apply(made if len(made.A) else np.zeros((1, 2)), where="draw")
    if "error_draw" not in st.session_state:
        st.session_state[f"drawn_{kind}"] = (common.current_text(), drawn)
        st.rerun()  # redraw the output with the new cone
    _show_error("draw")


def angles_input() -> None:
    cone = common.current_cone()
    if cone.dim != 3:
        st.info(f"Angles add constraints in 3-D; the current cone is in R^{cone.dim}.")
        return
    az = st.slider("Azimuth (degrees)", -180, 180, 30, key="angle_az")
    el = st.slider("Elevation (degrees)", -90, 90, -45, key="angle_el")
    a = np.array([math.cos(math.radians(el)) * math.cos(math.radians(az)),
                  math.cos(math.radians(el)) * math.sin(math.radians(az)),
                  math.sin(math.radians(el))]).round(3)
    st.write(f"New row: a = ({a[0]:g}, {a[1]:g}, {a[2]:g}) — the half-space a·x ≤ 0")
    st.session_state["angle_preview"] = a.tolist()
    if st.button("Add this constraint", type="primary"):
        # Keep the rows exact (integers stay integers); the new row is a 3-decimal number.
        rows = [list(r) for r in _rows_text(common.current_text())]
        rows.append([str(Fraction(str(v))) for v in a])
        _apply(cc.parse_matrix("\n".join(",".join(r) for r in rows)), where="angles")
    _show_error("angles")


# ---------------------------------------------------------------------- output
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
    d = M.shape[1]
    shown = min(d, 12)
    frame = pd.DataFrame(np.asarray(M)[:, :shown], columns=[f"x{j + 1}" for j in range(shown)],
                         index=[f"{prefix}{i + 1}" for i in range(len(M))])
    if frame.dtypes.map(lambda t: t.kind == "f").any():
        frame = frame.round(4)
    return frame


def show_cone(cone: cc.Cone) -> None:
    text = common.current_text()
    badge_color = {"pointed": "blue", "contains lines": "violet", "half-space": "orange",
                   "only the origin": "gray", "whole space": "green", "linear subspace": "red"}
    st.markdown(f":{badge_color[str(cone.kind)]}-badge[{cone.kind}]  "
                f"{kind_sentence(cone)}")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("dimension d", cone.dim)
    c2.metric("rows of A", cone.A.shape[0])
    c3.metric("extreme rays", cone.rays.shape[0])
    c4.metric("lines", cone.lines.shape[0])
    if cone.dim == 2:
        polar = st.toggle("Show the polar cone", key="show_polar_2d", bind="query-params")
        st.plotly_chart(fig_2d(text, polar), key="fig2d", width="stretch")
    elif cone.dim == 3:
        t1, t2 = st.columns(2)
        polar = t1.toggle("Show the polar cone", key="show_polar_3d", bind="query-params")
        normals = t2.toggle("Show the normals", value=True, key="show_normals_3d",
                            bind="query-params")
        preview = None
        if st.session_state.get("build_mode") == "Angles (3-D)":
            preview = tuple(st.session_state.get("angle_preview", ())) or None
        st.plotly_chart(fig_3d(text, polar, normals, preview), key="fig3d", width="stretch")
    elif cone.dim > 3:
        high_dim_views(cone)
    else:
        st.write("In R^1 a cone is {0}, a half-line or the whole line; the table below says "
                 "which.")
    with st.expander("Explain", expanded=False):
        st.markdown(EXPLAIN)
    show_tables(cone)


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


def show_tables(cone: cc.Cone) -> None:
    left, right = st.columns(2)
    with left:
        st.markdown("**Extreme rays**" + (" (exact, primitive integers)"
                                          if cone.rays_exact is not None else " (unit length)"))
        rays = cone.rays_exact if cone.rays_exact is not None else cone.rays
        if len(rays):
            st.dataframe(generators_table(rays, "r"), width="stretch")
        else:
            st.caption("none")
        st.markdown("**Lines** (a basis of the lineality space)")
        lines = cone.lines_exact if cone.lines_exact is not None else cone.lines
        if len(lines):
            st.dataframe(generators_table(lines, "l"), width="stretch")
        else:
            st.caption("none")
    with right:
        st.markdown("**A**, with redundant rows flagged")
        redundant = set(cone.redundant_rows)
        rows = common.current_text().split(";")
        frame = pd.DataFrame({"row": [r.replace(",", ", ")[:60] for r in rows],
                              "redundant": ["implied by the others" if i in redundant else ""
                                            for i in range(len(rows))]},
                             index=[f"a{i + 1}" for i in range(len(rows))])
        st.dataframe(frame, width="stretch")
        st.markdown("**Download**")
        b = st.columns(2) + st.columns(2)  # two by two: four in a row get cut to "…"
        for col, (label, write, name) in zip(b, DOWNLOADS, strict=True):
            common.download(col, label, lambda write=write: write(cone), name,
                            key=f"dl_{name.rsplit('.', 1)[1]}")


# ---------------------------------------------------------------------- page
common.init_state()  # idempotent; app.py has normally done it already
st.title("Build a cone")
if common.controls_hidden():
    show_cone(common.current_cone())
else:
    inputs, output = st.columns([2, 3], gap="large")
    with inputs:
        mode = st.radio("Enter A by", MODES, horizontal=True, key="build_mode", bind="query-params")
        {"Table": table_input, "Text": text_input, "Upload": upload_input,
         "Preset": preset_input, "Draw (2-D)": draw_input, "Angles (3-D)": angles_input}[mode]()
    with output:
        show_cone(common.current_cone())

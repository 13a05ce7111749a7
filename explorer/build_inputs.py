"""Build a cone's inputs: the six ways to enter ``A`` (table, text, upload, preset, drawing,
angles). Each reads its widgets and hands a matrix to :func:`explorer.session.set_cone`; an
error is kept in the session and shown under its input, and what was typed stays. A cddlib
file with b != 0 is a polyhedron: Text and Upload say so and offer the Polyhedra page."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import streamlit as st

import conecore as cc
from explorer import session
from explorer.draw2d import draw_vectors
from explorer.limits import APP_LIMITS, MAX_UPLOAD_BYTES

MAX_TABLE_COLS = 10


def _apply(A: object, preset: str | None = None, where: str = "input") -> None:
    error = session.set_cone(A, preset)
    if error:
        st.session_state[f"error_{where}"] = error
    else:
        st.session_state.pop(f"error_{where}", None)


def _show_error(where: str) -> None:
    if f"error_{where}" in st.session_state:
        st.error(st.session_state[f"error_{where}"], icon="⚠️")


POLYHEDRA_PAGE = "pages/polyhedra.py"


def _polyhedron_arrived(where: str, label: str, text: str,
                        exc: cc.PolyhedronInputError) -> None:
    """A cddlib file with b != 0 is a polyhedron: say so plainly and keep the text, to offer
    the Polyhedra page."""
    place = str(exc).split(" is not 0")[0]  # "line 5 (row 1), column 1: b = 2"
    st.session_state[f"error_{where}"] = (
        f"{label}: {place} is not 0, so this describes a polyhedron A x ≤ b, not a cone.")
    st.session_state[f"polyhedron_{where}"] = text


def _offer_polyhedron(where: str) -> None:
    """Under an input that read a polyhedron: open it on the Polyhedra page as it is."""
    text = st.session_state.get(f"polyhedron_{where}")
    if text is None or f"error_{where}" not in st.session_state:
        return
    st.info("The Polyhedra page reads it as it is (vertices, rays, lines, pictures). Or tick "
            "Homogenise for the cone over it here, with one more coordinate.",
            icon=":material/pentagon:")
    if st.button("Open it on the Polyhedra page", icon=":material/arrow_forward:",
                 key=f"to_polyhedra_{where}", type="primary"):
        st.session_state["poly_text_draft"] = text  # the Polyhedra page's Text box
        st.session_state.pop("poly_text", None)
        st.switch_page(POLYHEDRA_PAGE, query_params={"poly_mode": "Text"})


def _as_text(cone: cc.Cone) -> str:
    """The cone's A as the text box shows it: one row a line."""
    return "\n".join(",".join(row) for row in cc.matrix_cells(cone))


def table_input() -> None:
    text = session.cone_key()
    rows = cc.matrix_cells(session.current_cone())
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
        if cc.matrix_cells(A) != rows:
            _apply(A, where="table")
            st.session_state["table_origin"] = session.cone_key()
        else:
            st.session_state.pop("error_table", None)
    _show_error("table")


def text_input() -> None:
    if "text_draft" not in st.session_state:
        st.session_state["text_draft"] = _as_text(session.current_cone())

    def on_change() -> None:
        st.session_state["text_draft"] = st.session_state["text_area"]
        st.session_state.pop("polyhedron_text", None)
        try:
            A = cc.parse_matrix(st.session_state["text_area"],
                                homogenize=st.session_state.get("text_homogenize", False))
        except cc.PolyhedronInputError as exc:
            _polyhedron_arrived("text", "Text", st.session_state["text_area"], exc)
            st.session_state.pop("text_shape", None)
            return
        except cc.ConeInputError as exc:
            st.session_state["error_text"] = f"Text: {exc}"
            st.session_state.pop("text_shape", None)
            return
        st.session_state["text_shape"] = A.shape
        _apply(A, where="text")

    st.text_area("Rows of A", value=st.session_state["text_draft"], key="text_area", height=180,
                 on_change=on_change,
                 help="Rows end at a newline or a ';'; entries are separated by spaces, commas or "
                      "tabs. Also MATLAB-style [1 2; 3 4], Python/JSON lists, fractions like 1/2 "
                      "and cddlib .ine text. Ctrl+Enter (or leaving the box) reads it.")
    if "text_shape" in st.session_state:  # what the last text was read as: a misreading shows
        m, d = st.session_state["text_shape"]
        st.caption(f"Read as {m} × {d}: {m} row{'s' * (m != 1)} of {d} "
                   f"entr{'ies' if d != 1 else 'y'}.")
    st.checkbox("Homogenise a .ine with b ≠ 0 (the cone over the polyhedron)",
                key="text_homogenize", on_change=on_change)
    if st.button("Load the current cone into the text box"):
        st.session_state["text_draft"] = _as_text(session.current_cone())
        st.session_state.pop("text_area", None)
        st.rerun()
    _show_error("text")
    _offer_polyhedron("text")


def upload_input() -> None:
    file = st.file_uploader("A file: .ine, .ext, .csv, .json or .txt",
                            type=["ine", "ext", "csv", "json", "txt"], key="upload")
    homogenize = st.checkbox("Homogenise a .ine with b ≠ 0", key="upload_homogenize")
    if file is None:
        return
    signature = (file.name, file.size, homogenize)
    if st.session_state.get("upload_done") == signature:
        _show_error("upload")
        _offer_polyhedron("upload")
        return
    st.session_state["upload_done"] = signature
    if file.size > MAX_UPLOAD_BYTES:
        st.session_state["error_upload"] = (f"{file.name}: {file.size:,} bytes; files up to "
                                            f"{MAX_UPLOAD_BYTES:,} bytes are read.")
        _show_error("upload")
        return
    raw = file.getvalue()
    st.session_state.pop("polyhedron_upload", None)
    try:
        A = cc.read_cone_file(file.name, raw, homogenize=homogenize, limits=APP_LIMITS)
    except cc.PolyhedronInputError as exc:  # it read as text, so it is UTF-8
        _polyhedron_arrived("upload", file.name, raw.decode("utf-8", errors="replace"), exc)
    except cc.ConeError as exc:
        st.session_state["error_upload"] = f"{file.name}: {exc}"
    else:
        _apply(A, where="upload")
    _show_error("upload")
    _offer_polyhedron("upload")


def preset_input() -> None:
    names = list(cc.PRESETS)
    current = st.session_state.get(session.PRESET_KEY, names[0])
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
    cone = session.current_cone()
    if cone.dim != 2:
        st.info(f"Drawing works in the plane; the current cone is in R^{cone.dim}. Pick a 2-D "
                "preset or type a 2-column A to draw on it, or start a fresh drawing below.")
        if not st.button("Start a fresh 2-D drawing"):
            return
        _apply([[1, -2], [-3, 1]], where="draw")
        st.rerun()
    mode = st.radio("Each arrow is", ["an outward normal a", "a boundary direction",
                                      "a generator (ray)"], horizontal=True, key="draw_mode")
    kind = {"an outward normal a": "normal", "a boundary direction": "boundary",
            "a generator (ray)": "generator"}[mode]
    text = session.cone_key()
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
            made = cc.Cone.from_generators(gens, limits=APP_LIMITS)
        except cc.ConeError as exc:
            st.session_state["error_draw"] = str(exc)
        else:  # the cone itself keeps A exact; no facet at all means the whole plane
            _apply(made if len(made.A) else np.zeros((1, 2)), where="draw")
    if "error_draw" not in st.session_state:
        st.session_state[f"drawn_{kind}"] = (session.cone_key(), drawn)
        st.rerun()  # redraw the output with the new cone
    _show_error("draw")


def angles_input() -> None:
    cone = session.current_cone()
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
        rows = cc.matrix_cells(cone)
        rows.append([str(Fraction(str(v))) for v in a])
        _apply(cc.parse_matrix("\n".join(",".join(r) for r in rows)), where="angles")
    _show_error("angles")


# ---------------------------------------------------------------------- output


INPUTS = {"Table": table_input, "Text": text_input, "Upload": upload_input,
          "Preset": preset_input, "Draw (2-D)": draw_input, "Angles (3-D)": angles_input}
"""The ways to enter A, in the order the page offers them."""

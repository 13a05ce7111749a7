"""Polyhedra: constraints A x <= b (b need not be 0), their vertices, rays and lines, and a layer
whose outputs stay inside (conecore.Polyhedron, conecore.PolyhedronLayer).

Entered as an example, cddlib rows [b | -A] or a whole cddlib file (Text), A and b apart (b
optional), or an upload; typed constraints travel in the URL (?P=). Drawn in 2-D and 3-D, as a
projection on chosen coordinates for d > 3; in 2-D and 3-D the double description step by step."""

from fractions import Fraction

import numpy as np
import streamlit as st

import conecore as cc
from conecore import plotting
from conecore.ddsteps import PolyhedronSteps, polyhedron_steps
from conecore.presets import POLYHEDRA
from explorer import shell
from explorer.draw2d import draw_vectors
from explorer.limits import APP_LIMITS, MAX_UPLOAD_BYTES, MAX_URL_CHARS

MODES = ["Example", "Text", "A and b", "Draw (2-D)", "Upload"]
DRAW_START = [[0.6, 0.0], [-0.3, 0.5], [-0.3, -0.5]]  # a triangle around the origin


def drawing_from_link(link: str | None) -> list[list[float]]:
    """The sides of a link's polyhedron (``?P=``, rows ``b, -a``) as the drawing's vectors
    when every row is a drawn side (``b = |a|²``, in 2-D), else :data:`DRAW_START`."""
    try:
        M = cc.parse_matrix(link) if link else None
    except cc.ConeInputError:
        M = None
    if M is None or M.ndim != 2 or M.shape[1] != 3:
        return [list(v) for v in DRAW_START]
    rows = [[Fraction(t) for t in row] for row in M.tolist()]
    if not all(row[0] == row[1] ** 2 + row[2] ** 2 and row[0] > 0 for row in rows):
        return [list(v) for v in DRAW_START]
    return [[-float(row[1]), -float(row[2])] for row in rows]


def drawn_rows(vectors: list[list[float]]) -> tuple[str, str]:
    """The drawing's sides as ``A`` and ``b`` texts: the vector ``p`` is the row
    ``p·x ≤ |p|²`` (its side passes through ``p``, at a right angle to it), exact from the
    drawing's decimals."""
    exact = [[Fraction(repr(float(t))) for t in v] for v in vectors]
    A_text = "\n".join(" ".join(str(t) for t in row) for row in exact)
    b_text = "\n".join(str(sum(t * t for t in row)) for row in exact)
    return A_text, b_text
N_OUTPUTS = 400


@st.cache_resource(max_entries=128, show_spinner=False)
def polyhedron_of(reader: str, first: str | bytes, second: str = "") -> cc.Polyhedron:
    """Pure result, shared: the polyhedron of typed text (``reader`` "text" or "A and b") or of
    a file named ``reader``."""
    if reader == "text":
        return cc.polyhedron_from_text(first, limits=APP_LIMITS)
    if reader == "A and b":
        return cc.polyhedron_from_A_b(first, second, limits=APP_LIMITS)
    return cc.read_polyhedron_file(reader, first, limits=APP_LIMITS)


def layer_outputs(poly: cc.Polyhedron, scale: float, seed: int) -> np.ndarray:
    """A PolyhedronLayer with seeded random weights, on random inputs of the given scale."""
    import torch

    from conecore.training import init_parameters_

    # float64, so "inside" means inside to 1e-9 (in float32 the guarantee is a relative
    # violation of at most 1e-5: round-off, e.g. p1 + p2 + p3 = 1 to seven digits).
    layer = init_parameters_(cc.PolyhedronLayer(poly, in_features=8), seed).double()
    h = torch.randn(N_OUTPUTS, 8, generator=torch.Generator().manual_seed(seed),
                    dtype=torch.float64) * scale
    with torch.no_grad():
        return layer(h).numpy()


def _typed(label: str, key: str, default: str, **kw) -> str:
    """A text area whose text outlives a mode switch or a page switch (a widget's own state is
    dropped when it is not drawn): the draft is kept under ``<key>_draft``."""
    draft = f"{key}_draft"
    st.session_state.setdefault(draft, default)

    def keep() -> None:
        st.session_state[draft] = st.session_state[key]

    return st.text_area(label, value=st.session_state[draft], key=key, on_change=keep, **kw)


def seed_from_link() -> None:
    """A link's polyhedron (``?P=``, rows b, −a as :func:`cc.polyhedron_to_url_text` writes
    them) fills the typed boxes once, so a shared link shows what was typed."""
    link = st.query_params.get("P")
    if not link or link == st.session_state.get("poly_P_seen"):
        return
    st.session_state["poly_P_seen"] = link
    st.session_state["poly_text_draft"] = link.replace(";", "\n")
    try:
        M = cc.parse_matrix(link)
    except cc.ConeInputError:  # the Text box shows the error, and keeps the link's text
        M = None
    if M is not None and M.shape[1] >= 2:
        st.session_state["poly_A_draft"] = "\n".join(
            " ".join(row) for row in cc.matrix_cells(-M[:, 1:]))
        st.session_state["poly_b_draft"] = "\n".join(row[0] for row in cc.matrix_cells(M[:, :1]))
    for key in ("poly_text", "poly_A", "poly_b"):  # the widgets take the new drafts
        st.session_state.pop(key, None)


def link_to(poly: cc.Polyhedron | None) -> None:
    """Typed constraints travel in the URL (``?P=``) when short enough; others do not."""
    url = cc.polyhedron_to_url_text(poly) if poly is not None else ""
    if url and len(url) <= MAX_URL_CHARS:
        if st.query_params.get("P") != url:
            st.query_params["P"] = url
        st.session_state["poly_P_seen"] = url
    else:
        st.query_params.pop("P", None)


def source() -> tuple[str, str | bytes, str] | None:
    """What the user chose, as (reader, text or bytes, b text) for :func:`polyhedron_of`."""
    seed_from_link()
    mode = st.radio("Enter the constraints by", MODES, horizontal=True, key="poly_mode",
                    bind="query-params")
    if mode == "Example":
        # Plain option names: a bound selectbox writes its displayed label into the URL.
        name = st.selectbox("Example", list(POLYHEDRA), key="poly_example", bind="query-params")
        st.caption(f"**{POLYHEDRA[name][0]}.** {POLYHEDRA[name][1]}")
        with st.expander("As a cddlib file"):
            st.code(POLYHEDRA[name][2], language=None)
        return f"{name}.ine", POLYHEDRA[name][2].encode(), ""
    if mode == "Text":
        text = _typed("Rows b −a₁ … −a_d, meaning b − a·x ≥ 0 (cddlib's order [b | −A]), or a "
                      "whole cddlib file", "poly_text", POLYHEDRA["hexagon"][2], height=200,
                      help="cddlib's .ine (and .ext) files load as they are. Bare rows are read "
                           "in cddlib's order: the first entry is b, then −a: the row 1 −1 0 is "
                           "1 − x₁ ≥ 0, i.e. x₁ ≤ 1. Rows end at a newline or ';'.")
        return "text", text, ""
    if mode == "A and b":
        a_col, b_col = st.columns([2, 1])
        with a_col:
            A_text = _typed("A (one row a per constraint a·x ≤ b)", "poly_A",
                            "1 0\n-1 0\n0 1\n0 -1", height=200,
                            help="Any layout Build reads: rows end at a newline or ';', entries "
                                 "are separated by spaces or commas; fractions like 1/2.")
        with b_col:
            b_text = _typed("b (optional)", "poly_b", "1\n1\n1\n1", height=200,
                            help="One number per row of A, one a line (or in one row). Empty: "
                                 "b = 0, the cone A x ≤ 0.")
        if not b_text.strip():
            st.caption("b is empty, so b = 0: the cone A x ≤ 0.")
        return "A and b", A_text, b_text
    if mode == "Draw (2-D)":
        st.caption("Each arrow ends on a side of the polygon, at a right angle: the side "
                   "a·x ≤ |a|² keeps the origin's side, and the shaded part is cut away. Click "
                   "to add a side, drag a tip to move its side, double-click an arrow to delete "
                   "it.")
        if "poly_draw" not in st.session_state:  # a shared link's sides, when drawn ones
            st.session_state["poly_draw"] = drawing_from_link(st.query_params.get("P"))
        vectors = draw_vectors(st.session_state["poly_draw"], mode="facet",
                               key="poly_draw_widget", height=320)
        st.session_state["poly_draw"] = vectors
        if not vectors:
            st.info("Click in the square to add a side.")
            return None
        return "A and b", *drawn_rows(vectors)
    file = st.file_uploader("A cddlib .ine or .ext file, JSON, or CSV rows a₁ … a_d b",
                            type=["ine", "ext", "json", "csv", "txt"], key="poly_upload")
    if file is not None and file.size > MAX_UPLOAD_BYTES:  # refused before its bytes are read
        st.error(f"{file.name}: {file.size:,} bytes; files up to {MAX_UPLOAD_BYTES:,} bytes are "
                 "read.")
        return None
    return None if file is None else (file.name, file.getvalue(), "")


@st.cache_resource(max_entries=64, show_spinner=False)
def steps_of(key: str, _poly: cc.Polyhedron) -> PolyhedronSteps:
    """Pure result, shared: the step-by-step double description of the polyhedron whose cddlib
    text is ``key``."""
    A = _poly.A_exact if _poly.A_exact is not None else _poly.A
    b = _poly.b_exact if _poly.b_exact is not None else _poly.b
    return polyhedron_steps(A, b, _poly.equalities)


def inequality(a, b) -> str:
    """``a·x ≤ b`` as a person writes it: ``x1 − 2 x2 ≤ 3``."""
    terms = []
    for j, v in enumerate(a):
        if v == 0:
            continue
        size = "" if abs(v) == 1 else f"{abs(v)} "
        sign = ("−" if v < 0 else "+") if terms else ("−" if v < 0 else "")
        terms.append(f"{sign} {size}x{j + 1}" if terms else f"{sign}{size}x{j + 1}")
    return f"{' '.join(terms) or '0'} ≤ {str(b).replace('-', '−')}"


def stepper(poly: cc.Polyhedron) -> None:
    """The double description one inequality at a time, on the cone over the polyhedron."""
    try:
        steps = steps_of(cc.polyhedron_to_ine(poly), poly)
    except cc.ConeError as exc:
        st.info(f"Step by step: {exc}.")
        return
    n = len(steps.A)
    k = shell.step_slider("Constraints added", n, "poly_step",
                          help="0: no constraint yet (the whole space); k: the polyhedron of "
                               "the first k inequalities.")
    step = steps.steps[k]
    if k:
        st.markdown(f"**Step {k}: add {steps.labels[k - 1]}, "
                    f"{inequality(steps.A[k - 1], steps.b[k - 1])}.** {step.sentence()}")
    else:
        st.markdown(f"**Start.** {step.sentence()}")
    left, right = st.columns([3, 2])
    try:
        left.plotly_chart(plotting.figure_polyhedron_dd_step(steps, k), key="poly_step_fig",
                          width="stretch")
    except cc.ConeError as exc:
        left.info(f"Step {k}: {exc}.")
    with right:
        st.metric("vertices so far", len(step.vertices))
        st.markdown("**Vertices**  \n" + ("  \n".join(
            f"v{i + 1} = ({', '.join(str(c) for c in v)})"
            for i, v in enumerate(step.vertices[:24])) or "none"))
        if step.rays or step.lines:
            st.markdown("**Rays**  \n" + ("  \n".join(str(r) for r in step.rays) or "none")
                        + "  \n**Lines**  \n" + ("  \n".join(str(ell) for ell in step.lines)
                                                  or "none"))
        if step.dropped_vertices or step.dropped_rays:
            st.markdown("**Cut off**  \n" + "  \n".join(
                [f"({', '.join(str(c) for c in v)})" for v in step.dropped_vertices]
                + [f"ray {r}" for r in step.dropped_rays]))
    st.caption("Computed on the cone over the polyhedron, {(x, s) : A x − b s ≤ 0, s ≥ 0}, "
               "exactly as on the page Double description, step by step: a ray (x, s) with "
               "s > 0 is the vertex x / s, one with s = 0 a ray.")


def projection(poly: cc.Polyhedron, outputs: np.ndarray | None) -> None:
    """d > 3: the shadow on 2 or 3 chosen coordinates."""
    names = [f"x{j + 1}" for j in range(poly.dim)]
    chosen = st.multiselect(
        "Coordinates to project on (2 or 3)", names, default=names[:3], max_selections=3,
        key=f"poly_coords_{poly.dim}",
        help="The picture drops the other coordinates: each vertex, ray and output is shown by "
             "the chosen coordinates only.")
    if len(chosen) < 2:
        st.info("Choose two or three coordinates to see the projection.")
        return
    coords = tuple(sorted(names.index(c) for c in chosen))
    st.caption(f"A projection, not a slice: a polyhedron in R^{poly.dim} seen from "
               f"{', '.join(names[c] for c in coords)}. The shaded shadow is the convex hull of "
               "the projected vertices (plus the projected rays and lines).")
    st.plotly_chart(plotting.figure_polyhedron_projected(poly, coords, outputs, "layer outputs"),
                    key="poly_fig_projected", width="stretch")


def show(poly: cc.Polyhedron) -> None:
    st.markdown(f":blue-badge[{poly.kind}]  {len(poly.A)} inequalities in R^{poly.dim}")
    c1, c2, c3 = st.columns(3)
    c1.metric("vertices", len(poly.vertices))
    c2.metric("rays", len(poly.rays))
    c3.metric("lines", len(poly.lines))
    if poly.is_empty:
        st.info("The constraints contradict each other: no point satisfies them all, so no "
                "layer could output anything.")
        return
    outputs = None
    with st.expander("A network that stays inside", expanded=True):
        st.caption("A PolyhedronLayer outputs V^T softmax(w) + R^T nonneg(u) + L^T t: a "
                   "convex combination of the vertices, plus non-negative multiples of the "
                   "rays, plus any multiple of the lines. Here with random weights, on random "
                   "inputs of the chosen scale (float64).")
        scale = st.select_slider("Input scale", [0.1, 1.0, 10.0, 100.0, 1000.0], value=10.0,
                                 key="poly_scale", bind="query-params")
        outputs = layer_outputs(poly, float(scale), seed=0)
        outside = int((~poly.contains(outputs)).sum())
        st.markdown(f"**{N_OUTPUTS - outside} of {N_OUTPUTS} outputs inside**"
                    + (" — every one." if outside == 0 else f", {outside} outside."))
    if poly.dim == 2:
        st.plotly_chart(plotting.figure_polyhedron_2d(poly, outputs, "layer outputs"),
                        key="poly_fig", width="stretch")
    elif poly.dim == 3:
        st.plotly_chart(plotting.figure_polyhedron_3d(poly, outputs, "layer outputs"),
                        key="poly_fig", width="stretch")
    elif poly.dim > 3:
        projection(poly, outputs)
    st.markdown("**Vertices**" + (" (exact)" if poly.vertices_exact is not None else ""))
    V = poly.vertices_exact if poly.vertices_exact is not None else poly.vertices
    st.dataframe([{f"x{j + 1}": str(v) for j, v in enumerate(row)} for row in V[:64]],
                 width="stretch")
    if len(poly.rays) or len(poly.lines):
        st.markdown("**Rays** " + (", ".join(map(vector_text, poly.rays)) or "none")
                    + ("  \n**Lines** " + ", ".join(map(vector_text, poly.lines))
                       if len(poly.lines) else ""))


def vector_text(v: np.ndarray) -> str:
    """``(1, 0.7071)``: each entry to 4 decimals, as a plain number (a tuple of NumPy 2's
    scalars printed as ``(np.float64(1.0), np.float64(0.0))``)."""
    return "(" + ", ".join(f"{round(float(x), 4) + 0.0:g}" for x in v) + ")"


with shell.page("polyhedra"):
    st.title("Polyhedra: A x ≤ b")
    st.caption("Not every constraint set is a cone: a box, a simplex (probability vectors), a "
               "budget. By Minkowski–Weyl a polyhedron is the convex hull of its vertices plus "
               "a cone, so the layer of the paper extends to it.")
    left, right = st.columns([2, 3], gap="large")
    with left:
        chosen = source()
    if chosen is not None:
        try:
            poly = polyhedron_of(*chosen)
        except cc.ConeError as exc:
            where = {"text": "Text: ", "A and b": ""}.get(chosen[0], f"{chosen[0]}: ")
            left.error(f"{where}{exc}", icon=":material/error:")
            poly = st.session_state.get("poly_last")
        else:
            st.session_state["poly_last"] = poly
            link_to(poly if chosen[0] in ("text", "A and b") else None)
    else:
        poly = st.session_state.get("poly_last")
    with right:
        if poly is None:
            st.info("Choose an example, type the rows, or upload a file.")
        else:
            show(poly)
    if poly is not None and poly.dim in (2, 3):
        with st.expander("Double description, step by step", icon=":material/stairs:"):
            stepper(poly)

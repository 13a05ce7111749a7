"""Double description, step by step: add the constraints one at a time and watch the rays."""

from __future__ import annotations

import streamlit as st

import conecore as cc
from conecore import plotting
from conecore.ddsteps import MAX_ROWS, double_description
from explorer import session, shell

EXPLAIN = r"""
Start from the whole space (lines $e_1, \dots, e_d$, no rays) and add one half-space
$a \cdot x \le 0$ at a time. Rays with $a \cdot r > 0$ are cut off; those with
$a \cdot r \le 0$ stay. Every *adjacent* pair $p$ (cut off) and $n$ (kept) gives a new ray
$(a\cdot p)\,n - (a\cdot n)\,p$ on the hyperplane $a \cdot x = 0$ — a positive combination of the
two, so it lies in the old cone, and it satisfies the new constraint with equality. Two rays are
adjacent when no third ray is tight on every constraint both are tight on (the combinatorial
test). If the new constraint is not orthogonal to a line, that line splits and half of it
becomes a ray. Exact rational arithmetic throughout (Motzkin; Fukuda and Prodon, 1996).
"""


@st.cache_data(max_entries=64, show_spinner=False)
def run(key: str, _cone: cc.Cone, order: tuple[int, ...]):
    """The steps for the cone named by ``key`` (its exact A when it has one)."""
    A = _cone.A_exact if _cone.A_exact is not None else _cone.A
    return double_description(A, list(order))


with shell.page("steps"):
    st.title("Double description, step by step")
    cone = session.current_cone()
    m, d = cone.A.shape
    if d not in (2, 3) or m > MAX_ROWS:
        st.info(f"This page steps through cones in 2-D or 3-D with at most {MAX_ROWS} rows; the "
                f"current cone has d = {d} and {m} rows. Pick one on Build a cone.")
        shell.end_page()
    default_order = ", ".join(str(i + 1) for i in range(m))
    if shell.controls_hidden():
        order_text = str(shell.setting("dd_order", default_order))
    else:
        order_text = st.text_input("Order of the constraints (row numbers)",
                                   None if "dd_order" in st.session_state else default_order,
                                   key="dd_order", bind="query-params")
    try:
        order = [int(t) - 1 for t in order_text.replace(",", " ").split()]
        if sorted(order) != list(range(m)):
            raise ValueError
    except ValueError:
        st.error(f"The order must list each row number from 1 to {m} once, e.g. "
                 f"{', '.join(str(i + 1) for i in reversed(range(m)))}.")
        order = list(range(m))
    dd = run(session.cone_key(), cone, tuple(order))
    PLAY_SECONDS = 2.0  # per step while playing


    @st.fragment(run_every=PLAY_SECONDS if st.session_state.get("dd_playing") else None)
    def stepper() -> None:
        n = len(dd.steps)
        if st.session_state.get("dd_playing"):
            if st.session_state.get("dd_play_started"):
                st.session_state.pop("dd_play_started")
            elif st.session_state.get("dd_step", n) >= n:
                st.session_state["dd_playing"] = False
                st.rerun()  # the last step is shown: stop the timer
            else:
                # Before the slider exists in this run, so its value may be set (the URL
                # follows).
                st.session_state["dd_step"] = int(st.session_state.get("dd_step", n)) + 1
        k = shell.step_slider("Step", n, "dd_step", help="0 is the whole space; step k adds "
                                                        "the k-th constraint of the order.")
        if k == 0:
            st.markdown("**Start:** the whole space, spanned by the lines e1, …, ed; no rays yet.")
        else:
            step = dd.steps[k - 1]
            st.markdown(f"**Step {k}: add a{step.row + 1} = {step.normal}.** {step.sentence()}")
        left, right = st.columns([3, 2])
        left.plotly_chart(plotting.figure_dd_step(dd, k), key="dd_fig", width="stretch")
        with right:
            if k:
                step = dd.steps[k - 1]
                st.markdown("**Rays now**  \n" + ("  \n".join(
                    f"r{i + 1} = {r}" for i, r in enumerate(step.rays)) or "none"))
                st.markdown("**Lines now**  \n" + ("  \n".join(
                    f"l{i + 1} = {ell}" for i, ell in enumerate(step.lines)) or "none"))
                if step.dropped:
                    st.markdown("**Cut off**  \n" + "  \n".join(str(r) for r in step.dropped))
                if step.parents:
                    st.markdown("**Born from adjacent pairs**  \n" + "  \n".join(
                        f"{b} from {p} and {n}" for b, (p, n) in zip(step.born, step.parents)))


    playing = bool(st.session_state.get("dd_playing"))
    p1, p2, _ = st.columns([2, 2, 1])  # room for the labels in an 800 px window
    if p1.button("Play all steps", icon=":material/play_arrow:", key="dd_play",
                 disabled=playing, width="stretch",
                 help=f"Shows step 0, then one step every {PLAY_SECONDS:g} s."):
        st.session_state["dd_step"] = 0
        st.session_state["dd_playing"] = True
        st.session_state["dd_play_started"] = True
        st.rerun()
    if p2.button("Pause", icon=":material/pause:", key="dd_pause", disabled=not playing,
                 width="stretch"):
        st.session_state["dd_playing"] = False
        st.rerun()
    stepper()
    with st.expander("Explain", expanded=False):
        st.markdown(EXPLAIN)

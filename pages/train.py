"""Train live: the ConeLayer (or, on a polyhedron, the PolyhedronLayer) and the methods it is
compared with, trained side by side."""

from __future__ import annotations

import threading
import time
import uuid

# Streamlit's st.dataframe imports pandas when first called, and Plotly's validators use
# whatever sys.modules holds: thirty sessions pressing Play on a fresh server drew figures while
# another thread was still importing pandas ("partially initialized module 'pandas' has no
# attribute 'Series'", 5 of 30 sessions once). An import statement waits for another thread's.
import pandas  # noqa: F401
import streamlit as st
import torch

import conecore as cc
from conecore import plotting
from conecore.layer import NONNEG
from conecore.training import METHOD_TITLES, TASKS, LiveTraining, TrainConfig, methods_for
from explorer import constraint_set, shell
from explorer.constraint_set import ConstraintSet
from explorer.pacing import LIVE, RunGuard, Tick

# Tiny models gain nothing from intra-op threads, and on a small shared server (2 cores, a
# browser, other sessions) OpenMP threads spin against each other: one thread per op.
torch.set_num_threads(1)

RETIME_SECONDS = 3.0  # a live session changes its redraw timer at most this often
CURVE_POINTS = 300  # a line's points per redraw: less to build, send and draw, four times a second
GUARD = RunGuard("train_guard")  # a live tick must not swallow the end of a click's page run


def config_from_controls(disabled: bool, chosen: ConstraintSet) -> TrainConfig:
    c1, c2, c3 = st.columns(3)
    cone = isinstance(chosen.value, cc.Cone)
    # Plain option names: a bound widget writes its displayed label into the URL.
    task = c1.selectbox("Task", TASKS, key="train_task", disabled=disabled, bind="query-params",
                        help=f"regression: fit noisy targets, some outside {chosen.where}; "
                             f"projection: learn to map points to their projection onto "
                             f"{chosen.where}.")
    nonneg = c2.selectbox("ConeLayer's non-negative map" if cone else
                          "PolyhedronLayer's non-negative map (for its rays)", list(NONNEG),
                          index=2, key="train_nonneg", disabled=disabled, bind="query-params")
    seed = c3.number_input("Seed", 0, 10_000, 0, key="train_seed", disabled=disabled,
                           bind="query-params")
    # One multiselect per kind of set: their options differ (the ConeLayer and the closed form
    # need b = 0), and each keeps its own choice in the URL.
    options = methods_for(chosen.value)
    methods = st.multiselect("Methods", options, default=list(options),
                             key="train_methods" if cone else "train_poly_methods",
                             format_func=METHOD_TITLES.get, disabled=disabled,
                             bind="query-params")
    c4, c5, c6, c7 = st.columns(4)
    width = c4.number_input("Width", 4, 512, 64, key="train_width", disabled=disabled,
                            bind="query-params")
    batch = c5.number_input("Batch", 1, 4096, 128, key="train_batch", disabled=disabled,
                            bind="query-params")
    lr = c6.number_input("Learning rate", 1e-4, 1.0, 1e-2, format="%.4f", key="train_lr",
                         disabled=disabled, bind="query-params")
    steps = c7.number_input("Steps", 1, 100_000, 3000, key="train_steps", disabled=disabled,
                            bind="query-params")
    weight = st.slider("Penalty weight λ", 0.0, 100.0, 10.0, key="train_penalty",
                       disabled=disabled, bind="query-params")
    return TrainConfig(task=task, methods=tuple(methods), nonneg=nonneg, width=int(width),
                       lr=float(lr), batch=int(batch), seed=int(seed), penalty_weight=weight,
                       max_steps=int(steps))


def get_run(chosen: ConstraintSet) -> LiveTraining | None:
    run = st.session_state.get("train_run")
    if run is not None and st.session_state.get("train_constraint") != chosen.key:
        st.info("The constraint set changed since this model was trained (it is still trained "
                f"on {constraint_set.where(run.constraint)}); press Reset to train on "
                f"{chosen.where} now.")
    return run


def settings_notice(run: LiveTraining | None, config: TrainConfig) -> None:
    """The run on screen was started with other settings (say, the task changed while paused):
    say so, rather than showing the old run as if it were the new one."""
    if run is not None and run.config != config:
        st.warning("The settings changed since this run started; the curves below are the old "
                   "run's. Press Reset to start a run with the new settings.",
                   icon=":material/sync_problem:")


def new_run(config: TrainConfig) -> None:
    chosen: ConstraintSet = st.session_state["train_chosen"]
    try:
        st.session_state["train_run"] = LiveTraining(chosen.value, config)
    except cc.ConeError as exc:
        st.session_state["train_error"] = str(exc)
        return
    st.session_state["train_constraint"] = chosen.key
    st.session_state.pop("train_error", None)


# Play and Pause are callbacks: the run that follows the click already draws the new state,
# one full run per click (st.rerun() in the page ran the whole page twice).
def play() -> None:
    run = st.session_state.get("train_run")
    if run is None or run.done:
        new_run(st.session_state["train_config"])
    st.session_state["train_playing"] = "train_run" in st.session_state


def pause() -> None:
    st.session_state["train_playing"] = False


def reset() -> None:
    """A callback too: the page that follows draws the new run, with no "changed since" note
    left over from the old one."""
    st.session_state["train_playing"] = False
    new_run(st.session_state["train_config"])


def advance(run: LiveTraining, seconds: float | None = None) -> None:
    if seconds:
        run.run_for(seconds)
    else:
        run.run(1)
    if run.done:
        st.session_state["train_playing"] = False


def wall_rate(run: LiveTraining) -> float | None:
    """Steps per second of wall-clock time while playing, over the last few redraws (the
    training loop's own rate leaves out the redraws and the waits between them)."""
    marks = st.session_state.setdefault("train_marks", [])
    if not st.session_state.get("train_playing"):
        marks.clear()
        return None
    marks.append((time.monotonic(), run.steps))
    del marks[:-8]
    (t0, s0), (t1, s1) = marks[0], marks[-1]
    return (s1 - s0) / (t1 - t0) if t1 > t0 else None


def show_progress(run: LiveTraining, tick: Tick | None = None) -> None:
    titles = METHOD_TITLES
    last = run.history[-1] if run.history else {}
    rate = wall_rate(run)
    speed = (f"{rate:.0f} steps/s" if rate is not None else "paused")
    st.progress(run.steps / run.config.max_steps,
                text=f"step {run.steps} of {run.config.max_steps} · {speed} on {run.device} "
                     f"(training alone: {run.steps_per_second:.0f} steps/s)")
    if tick is not None and tick.views > 1:
        st.caption(f"{tick.views} sessions are training on this server: this one redraws every "
                   f"{tick.interval:g} s and trains {1000 * tick.train_seconds:.0f} ms a redraw, "
                   "so that clicks stay quick for everyone.")
    if run.skipped:
        st.caption("Skipped: " + "; ".join(f"{METHOD_TITLES[m]} ({why})"
                                            for m, why in run.skipped.items()))
    layer, where = run.layer_method, constraint_set.where(run.constraint)
    if layer in last:
        never = all(h[layer]["violating"] == 0 for h in run.history)
        st.success(f"The {titles[layer]}'s outputs have never left {where}: 0 violations in "
                   f"{run.steps} steps." if never else
                   f"The {titles[layer]} reported a violation above round-off: please report "
                   "this.")
    left, right = st.columns(2)
    left.plotly_chart(plotting.figure_curves(run.history, "loss", "training loss", titles,
                                             max_points=CURVE_POINTS),
                      key="train_loss", width="stretch")
    right.caption("Batch outputs during training; for the test-time projection method these are "
                  "before projection (its projected test outputs are in the table below).")
    right.plotly_chart(plotting.figure_curves(run.history, "violating",
                                              f"share of outputs outside {where}", titles,
                                              log=False, max_points=CURVE_POINTS),
                       key="train_viol", width="stretch")
    evaluation = run.evaluate()
    outputs = {m: e["outputs"] for m, e in evaluation.items()}
    violating = {m: e["outside"] for m, e in evaluation.items()}
    if isinstance(run.constraint, cc.Cone):
        figure = plotting.figure_outputs(run.constraint, outputs, violating, titles)
    else:
        figure = plotting.figure_polyhedron_outputs(run.constraint, outputs, violating, titles)
        note = constraint_set.shadow_note(run.constraint)
        if note:
            st.caption(note)
    st.plotly_chart(figure, key="train_outputs", width="stretch")
    st.dataframe([{"method": METHOD_TITLES[m], "test loss": round(e["loss"], 4),
                   f"outside {where} (%)": round(100 * e["violating"], 1),
                   "worst relative violation": float(e["worst"])}
                  for m, e in evaluation.items()], hide_index=True)


def live_key() -> str:
    """This session's name in the server-wide pacer."""
    if "train_live_key" not in st.session_state:
        st.session_state["train_live_key"] = uuid.uuid4().hex
    return st.session_state["train_live_key"]


def pace() -> float | None:
    """Seconds between live ticks for this session now (None when not playing): the more
    sessions play on this server, the slower each redraws (``explorer.pacing``)."""
    if not st.session_state.get("train_playing"):
        LIVE.forget(live_key())
        st.session_state["train_interval"] = None
    else:
        LIVE.join(live_key())
        st.session_state["train_interval"] = LIVE.plan(
            live_key(), st.session_state.get("train_interval")).interval
        st.session_state["train_paced_at"] = time.monotonic()
    return st.session_state["train_interval"]


def rerun_page() -> None:
    """The page's own full rerun from a live tick (not a click: ``GUARD`` leaves it alone)."""
    st.session_state["train_own_rerun"] = threading.current_thread()
    st.rerun()


def live_view() -> None:
    if not st.session_state.get("train_full_run") and GUARD.cut(st.session_state):
        rerun_page()  # this tick may have cut off the end of a click's run: send the page again
    run = st.session_state.get("train_run")
    if run is None:
        return
    tick = None
    if st.session_state.get("train_playing"):
        tick = LIVE.plan(live_key(), st.session_state.get("train_interval"))
        advance(run, tick.train_seconds)
        if not st.session_state.get("train_playing"):
            LIVE.forget(live_key())
            rerun_page()  # training ended: redefine the fragment without a timer
    started = time.thread_time()
    show_progress(run, tick)
    if tick is not None:
        LIVE.record(live_key(), time.thread_time() - started)
        if retime(tick.interval):
            rerun_page()  # a full run redefines the fragment with the new timer


def show_live_view() -> None:
    """Draw the live view as a fragment with this session's timer, under a name of its own
    for this page run. Streamlit derives a fragment's id from its function's name, and ignores
    a tick whose fragment the last page run did not draw (``AppSession.request_rerun``: "does
    not exist anymore"). So the ticks of the timer a click's run replaced, still on their way
    when it ends, are dropped instead of starting a new script runner, which would make the
    server drop the end of the click's run (``RunGuard``)."""
    st.session_state["train_view"] = view = st.session_state.get("train_view", 0) + 1
    live_view.__qualname__ = f"live_view_{view}"
    st.fragment(run_every=pace())(live_view)()


def retime(interval: float) -> bool:
    """Whether a tick should change this session's timer to ``interval``: only in a tick of
    its own (a full run has just set the timer), and at most every ``RETIME_SECONDS``, so that
    a class joining one by one does not set off a full run per session per join."""
    if st.session_state.get("train_full_run") or interval == st.session_state["train_interval"]:
        return False
    return time.monotonic() - st.session_state.get("train_paced_at", 0.0) > RETIME_SECONDS


EXPLAIN = r"""
Every method is the same small network, $h = \tanh(W x + b)$, with a different last layer,
trained on the same mini-batches. The **ConeLayer** outputs $L t + R^\top \mu$ with
$\mu \ge 0$: its outputs satisfy $A z \le 0$ by construction, so its violation curve is flat at
zero from the first step. The **unconstrained** head follows the targets out of the cone; the
**penalty** $\lambda \|\mathrm{relu}(A z)\|^2$ trades accuracy for fewer violations, and its
weight has to be tuned; **test-time projection** repairs outputs afterwards, one small
optimisation per sample; the **closed form** $f - A^+\mathrm{relu}(Af)$ is feasible only when $A$
has full row rank.

On a **polyhedron** $\{z : A z \le b\}$ (probability vectors, a box, a hexagon from a cddlib
file) the **PolyhedronLayer** outputs $V^\top \mathrm{softmax}(w) + R^\top \mu + L^\top t$: a
convex combination of the vertices $V$, plus non-negative multiples of the rays $R$, plus any
multiple of the lines $L$ (Minkowski–Weyl), so every output is in the polyhedron, again by
construction. It is compared with the unconstrained head, the penalty
$\lambda \|\mathrm{relu}(A z - b)\|^2$ and test-time projection onto the polyhedron (exact over
the faces of a small polytope, OSQP otherwise); the targets are
$V^\top \mathrm{softmax}(G x) + R^\top \mathrm{softplus}(B x) + L^\top C x$ plus noise. For
probability vectors (an equality, $p_1 + p_2 + p_3 = 1$) an unconstrained output is almost never
exactly on the plane, so nearly all of them count as outside.
"""

with shell.page("train"):
    st.title("Train live")
    playing = bool(st.session_state.get("train_playing"))
    chosen = constraint_set.choose("train", disabled=playing or shell.controls_hidden())
    if chosen is None:
        shell.end_page()
    st.session_state["train_chosen"] = chosen  # for play(), which runs before the next run
    st.caption(f"{chosen.caption()} · device: {shell.compute_device()}")
    with st.expander("Settings", expanded=get_run(chosen) is None
                     and not shell.controls_hidden()):
        config = config_from_controls(playing or shell.controls_hidden(), chosen)
    b1, b2, b3, b4 = st.columns(4)
    st.session_state["train_config"] = config  # for play(), which runs before the next run
    b1.button("Play", icon=":material/play_arrow:", disabled=playing, key="train_play",
              width="stretch", on_click=play)
    b2.button("Pause", icon=":material/pause:", disabled=not playing, key="train_pause",
              width="stretch", on_click=pause)
    if b3.button("Step", disabled=playing, key="train_step", width="stretch"):
        if st.session_state.get("train_run") is None:
            new_run(config)
        if "train_run" in st.session_state and not st.session_state["train_run"].done:
            advance(st.session_state["train_run"])
    b4.button("Reset", key="train_reset", width="stretch", on_click=reset)
    if "train_error" in st.session_state:
        st.error(st.session_state["train_error"])
    settings_notice(st.session_state.get("train_run"), config)
    own = st.session_state.pop("train_own_rerun", None) is threading.current_thread()
    GUARD.page_run(st.session_state, own=own)
    st.session_state["train_full_run"] = True
    show_live_view()
    st.session_state["train_full_run"] = False
    with st.expander("Explain", expanded=False):
        st.markdown(EXPLAIN)
    if st.session_state.get("train_run") is None:
        st.info("Press Play (or Step) to train. Every method starts from the same seed and sees "
                "the same mini-batches.")

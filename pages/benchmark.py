"""Benchmark: the ConeLayer against test-time projection for the current cone, run live."""

from __future__ import annotations

import streamlit as st

from conecore import plotting
from conecore.bench import LayerBench, layer_suite
from explorer import session, shell

BATCHES = [1, 4, 16, 64, 256]
SOLVER_SAMPLES = 16  # per-sample solvers (OSQP, NNLS) on at most this many samples of a batch

with shell.page("benchmark"):
    st.title("Benchmark")
    cone = session.current_cone()
    st.caption(f"Cone: {cone.summary()} · device: {shell.compute_device()}")
    c1, c2, c3 = st.columns(3)
    width = int(c1.number_input("Layer input width", 4, 512, 64, key="bench_width",
                                bind="query-params"))
    box = float(c2.number_input("Box b (0: none)", 0.0, 100.0, 1.0, key="bench_box",
                                bind="query-params"))
    batches = c3.multiselect("Batch sizes", BATCHES, default=[1, 16, 256], key="bench_batches",
                             bind="query-params")
    st.caption("The same numbers from a terminal (download cone.json on Build a cone):")
    # Two lines (a shell continuation): one wrapped by the box broke "--batch" in two at 800 px.
    batch_list = ",".join(str(b) for b in sorted(batches)) or "1"
    st.code("python -m conecore.bench --suite layer --cone cone.json \\\n"
            f"    --in-features {width} --box {box:g} --batch {batch_list} --repeat 3 "
            f"--max-solver-samples {SOLVER_SAMPLES}", language="bash", wrap_lines=True)
    if st.button("Run the benchmark", type="primary", key="bench_go", disabled=not batches):
        config = LayerBench(cone, in_features=width, box=box, batches=tuple(batches),
                            device="auto", repeat=3, max_solver_samples=SOLVER_SAMPLES)
        bar = st.progress(0.0, text="starting…")
        st.session_state["bench_rows"] = layer_suite(
            config, progress=lambda fraction, label: bar.progress(fraction, text=label))
        st.session_state["bench_cone"] = session.cone_key()
    rows = st.session_state.get("bench_rows")
    if rows:
        if st.session_state.get("bench_cone") != session.cone_key():
            st.info("These numbers are for a previous cone; run again for the current one.")
        st.plotly_chart(plotting.figure_benchmark(rows), key="bench_fig", width="stretch")
        # The largest batch first (the one the paper's claim is about), so it is not hidden
        # under the scroll; every row fits (at most 5 batches x 7 methods).
        ordered = sorted(rows, key=lambda r: (-r.batch, r.method != "ConeLayer", r.method))
        # Narrow enough for an 800 px window: the device only when there are several, and the
        # sampling note as a short "scaled" mark (the caption below says what it means).
        several_devices = len({r.device for r in rows}) > 1
        st.dataframe([{"batch": r.batch, "method": r.method,
                       **({"device": r.device} if several_devices else {}),
                       "ms / batch": round(r.batch_ms, 3), "µs / sample": round(r.per_sample_us, 2),
                       "× plain head": round(r.vs_head, 2),
                       "OSQP ÷ this": round(r.osqp_speedup, 1),
                       "exact ÷ this": round(r.fastest_projection_speedup, 1),
                       "worst violation": f"{r.max_violation:.1e}",
                       "converged": "yes" if r.converged else "NO",
                       "scaled": "yes" if "scaled" in r.note else ""}
                      for r in ordered], hide_index=True, height=min(36 * (len(rows) + 1) + 2, 900),
                     column_config={
                         "× plain head": st.column_config.NumberColumn(
                             help="this method's time over a plain linear head's, same batch: "
                                  "what the constraint costs"),
                         "OSQP ÷ this": st.column_config.NumberColumn(
                             help="per-sample OSQP projection's time (the paper's baseline) over "
                                  "this method's: how many times faster this is"),
                         "exact ÷ this": st.column_config.NumberColumn(
                             help="the fastest exact projection's time (NNLS, batched active-set "
                                  "NNLS, or per block where the rows of A share no coordinate) "
                                  "over this method's"),
                         "converged": st.column_config.TextColumn(
                             help="NO: this projection stopped at its iteration cap before every "
                                  "point converged; its outputs may lie outside the cone"),
                         "worst violation": st.column_config.TextColumn(
                             help="the largest relative violation max_i (a_i·z)+ / (|a_i| |z|) "
                                  "over the batch: 0 means every output is in the cone"),
                         "scaled": st.column_config.TextColumn(
                             help="timed on part of the batch and scaled to all of it"),
                     })
        st.caption("**× plain head**: time over a plain linear head's at the same batch (the "
                   "constraint's cost). **OSQP ÷ this**: how many times faster than per-sample "
                   "OSQP projection, the paper's baseline. **exact ÷ this**: how many times "
                   "faster than the fastest exact projection that converged. **converged**: NO "
                   "when a projection stopped early (its outputs may be outside). "
                   "**worst violation**: the largest "
                   "relative violation in the batch; 0 means every output is in the cone. "
                   f"**scaled**: per-sample solvers (OSQP, NNLS) are timed on at most "
                   f"{SOLVER_SAMPLES} samples of a batch and scaled. Medians of repeated runs; "
                   "on a shared machine expect ±30 %.")
    else:
        st.info("Runs in a few seconds at these sizes. The numbers in the README come from the "
                "CLI.")
    with st.expander("Explain", expanded=False):
        st.markdown(
            "The ConeLayer costs one extra small matrix product over a plain linear head: the "
            "rays (k x d) times the non-negative coefficients, and, with many lines, a rank-r "
            "correction folded into the weights. Test-time projection solves an optimisation "
            "problem per sample (OSQP, as in the paper) or per batch (the dual method), so it "
            "costs orders of magnitude more at small batches. The paper reports up to two orders "
            "of magnitude faster inference; this page measures it for your cone."
        )

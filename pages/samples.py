"""Samples: a generative model whose samples cannot leave the cone (or a polyhedron), next to
one whose can."""

from __future__ import annotations

import streamlit as st

import conecore as cc
from conecore import plotting
from conecore.samples import MAX_FRAMES, sample_frames
from explorer import constraint_set, shell

TITLES = {"cone_layer": "ConeLayer decoder", "polyhedron_layer": "PolyhedronLayer decoder",
          "unconstrained": "unconstrained decoder"}
EXPLAIN = r"""
Both decoders turn Gaussian noise into points and are trained to match the same target: a
blob centred on the boundary of the set, about half of it outside. The loss (maximum mean
discrepancy) pulls every sample towards the target, inside or out.

The ConeLayer decoder's last step outputs $L t + R^\top \mu$ with $\mu = \mathrm{softplus}(u)
\ge 0$. Whatever the weights, $A(Lt + R^\top\mu) = A R^\top \mu \le 0$: each sample is a
non-negative combination of the rays plus a line, so it is in the cone. Training can move the
samples to the cone's boundary, as close to the target as the cone allows, never across it.
The unconstrained twin has no such structure and follows the target out (red crosses).

On a polyhedron $\{x : A x \le b\}$ the PolyhedronLayer decoder outputs
$V^\top \mathrm{softmax}(w) + R^\top \mu + L^\top t$: a convex combination of the vertices,
plus non-negative multiples of the rays, plus lines. Then $A V^\top p \le b$ because the
weights $p$ sum to 1, $A R^\top \mu \le 0$ and $A L^\top t = 0$, so every sample is inside,
for any weights. For probability vectors the target lies in the plane $p_1 + p_2 + p_3 = 1$
with some entries negative; the twin's samples are never exactly on that plane.
"""


@st.cache_data(max_entries=16, show_spinner=False)
def frames_for(key: str, _constraint: cc.Cone | cc.Polyhedron, steps: int, frames: int,
               n_samples: int, seed: int):
    """Pure result, shared: the frames depend on the set (named by its key) and the settings."""
    return sample_frames(_constraint, steps=steps, frames=frames, n_samples=n_samples, seed=seed)


with shell.page("samples"):
    st.title("Samples")
    chosen = constraint_set.choose("samples")
    if chosen is None:
        shell.end_page()
    constraint = chosen.value
    st.caption(chosen.caption())
    trivial = (cc.Kind.ONLY_ORIGIN, cc.Kind.WHOLE_SPACE)
    if isinstance(constraint, cc.Cone) and constraint.kind in trivial:
        st.info(f"This cone is {constraint.kind}: every sample of the ConeLayer decoder would be "
                + ("0." if constraint.kind == cc.Kind.ONLY_ORIGIN else "allowed anywhere.")
                + " Pick another cone on Build a cone, or a polyhedron example above.")
        shell.end_page()
    c1, c2, c3, c4 = st.columns(4)
    steps = int(c1.number_input("Training steps", 50, 3000, 300, step=50, key="samples_steps",
                                bind="query-params"))
    n_frames = int(c2.number_input("Frames", 5, MAX_FRAMES, 20, key="samples_frames",
                                   bind="query-params"))
    n_samples = int(c3.number_input("Samples", 50, 1000, 300, step=50, key="samples_n",
                                    bind="query-params"))
    seed = int(c4.number_input("Seed", 0, 10_000, 0, key="samples_seed", bind="query-params"))
    settings = (chosen.key, steps, n_frames, n_samples, seed)
    if st.button("Train both decoders and animate", type="primary", key="samples_go"):
        st.session_state["samples_settings"] = settings
    if st.session_state.get("samples_settings") != settings:
        st.info("Press the button to train both decoders (a few seconds) and watch their samples.")
    else:
        with st.spinner("Training the two decoders…"):
            try:
                frames = frames_for(settings[0], constraint, *settings[1:])
            except cc.ConeError as exc:
                st.error(str(exc))
                shell.end_page()
        if isinstance(constraint, cc.Cone):
            figure = plotting.figure_sample_animation(constraint, frames, TITLES)
        else:
            figure = plotting.figure_polyhedron_sample_animation(constraint, frames, TITLES)
            note = constraint_set.shadow_note(constraint)
            if note:
                st.caption(note)
        st.plotly_chart(figure, key="samples_anim", width="stretch")
        last = {m: int(frames.outside[m][-1].sum()) for m in frames.samples}
        st.markdown(" · ".join(f"**{TITLES[m]}**: {last[m]} of {n_samples} samples outside at the "
                               "end" for m in frames.samples))
        # Each decoder in its colour from the animation (the theme's default made both blue).
        st.line_chart({TITLES[m]: frames.outside[m].sum(axis=1) for m in frames.samples},
                      x_label="frame", y_label=f"samples outside {chosen.where}",
                      color=[plotting.METHOD_COLORS[m] for m in frames.samples])
    with st.expander("Why the constrained samples cannot escape", expanded=True):
        st.markdown(EXPLAIN)

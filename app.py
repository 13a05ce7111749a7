"""Cone Explorer: Home (what this is, the maths in three lines, one small cone computed live).

The entry point of Streamlit's ``pages/`` convention: ``streamlit run app.py`` serves this page
at ``/`` and every file in ``pages/`` as a page of its own. Shared page code is in
``explorer/``; the mathematics in ``conecore/``.
"""

import streamlit as st

import conecore as cc
from conecore.plotting import figure_2d
from explorer import shell

TOUR = {
    "build": "type, paste, upload or draw the rows of A; see its rays and lines.",
    "steps": "watch rays survive, vanish and be born as constraints arrive one by one.",
    "train": "a tiny network whose outputs never leave the cone, next to methods whose do.",
    "samples": "a generative model whose samples stay inside while its twin's escape.",
    "vae": "the paper's application: handwritten digits that obey a block-sum constraint.",
    "benchmark": "the ConeLayer against test-time projection, measured on your cone.",
}

with shell.page("home"):

    st.title("Cone Explorer")
    st.markdown(
        "Neural-network outputs that satisfy **A z ≤ 0** by construction, after Frerix, Nießner "
        "and Cremers, *Homogeneous Linear Inequality Constraints for Neural Network "
        "Activations* (CVPR 2020 workshops, arXiv 1902.01785)."
    )

    left, right = st.columns([3, 2])
    with left:
        st.subheader("The idea in three lines")
        # Short lines: KaTeX does not wrap, and a longer one ran past its column at 800 px.
        st.latex(r"C = \{z : A z \le 0\}")
        st.latex(r"C = \{L\,t + R^\top \mu \;:\; t \text{ free},\ \mu \ge 0\}")
        st.latex(r"\text{layer}(h) = L\,t(h) + R^\top \operatorname{softplus}(u(h)) \in C")
        st.markdown(
            "The second line is the Minkowski–Weyl theorem; the third holds for every input "
            "*h*. The extreme rays **R** and the lines **L** of the cone are computed once, "
            "exactly, by the double description method. A layer that outputs non-negative "
            "combinations of the rays plus any combination of the lines can never leave the "
            "cone — during training and at test time, with no projection step and no penalty "
            "weight."
        )

    with right:
        st.subheader("A cone, computed live")
        names = [name for name in cc.PRESETS if cc.preset(name).shape[1] == 2]
        name = st.selectbox("Example", names, format_func=lambda n: cc.PRESETS[n].title,
                            key="home_example")
        st.caption(cc.PRESETS[name].description)
        cone = cc.Cone.from_inequalities(cc.preset(name))
        st.markdown(f"**{cone.summary()}**")
        st.plotly_chart(figure_2d(cone), width="stretch", key="home_figure")
        if cone.rays_exact is not None and len(cone.rays_exact):
            st.markdown("Extreme rays: " + ", ".join(
                f"r{k + 1} = ({', '.join(str(v) for v in r)})"
                for k, r in enumerate(cone.rays_exact.tolist())))

    st.subheader("A 30-second tour")
    # Two to a row, the page's link above its sentence: a link's label does not wrap, and one
    # line each was cut at 800 px.
    for row in range(0, len(TOUR), 2):
        for col, (name, what) in zip(st.columns(2), list(TOUR.items())[row:row + 2],
                                     strict=False):
            with col:
                st.page_link(shell.PAGE[name].file, label=f"**{shell.PAGE[name].title}**",
                             icon=shell.PAGE[name].icon)
                st.caption(what[0].upper() + what[1:])
    st.caption("This page computes a small cone live with `conecore`, the library behind "
               "every page.")

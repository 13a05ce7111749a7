"""Cone Explorer: the router. Page config, the session's cone, the sidebar, navigation."""

import streamlit as st

from pages import common

st.set_page_config(page_title="Cone Explorer", page_icon="🔺", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", url_path="home", default=True),
    st.Page("pages/build.py", title="Build a cone", icon="📐", url_path="build"),
    st.Page("pages/steps.py", title="Double description, step by step", icon="🪜",
            url_path="steps"),
    st.Page("pages/train.py", title="Train live", icon="🏋️", url_path="train"),
    st.Page("pages/samples.py", title="Samples", icon="✨", url_path="samples"),
    st.Page("pages/vae.py", title="Constrained VAE", icon="🖼️", url_path="vae"),
    st.Page("pages/benchmark.py", title="Benchmark", icon="⏱️", url_path="benchmark"),
]

page = st.navigation(PAGES)
common.warm_up()
common.init_state()
common.lesson_banner(page.url_path)
routed = common.ROUTED.set(True)
try:
    page.run()
except common.PageEnd:  # a page that ends early (common.end_page) still gets the sidebar
    pass
finally:
    common.ROUTED.reset(routed)
# After the page, so that the sidebar shows the cone the page may just have changed.
common.sidebar()

"""Cone Explorer: the router. Page config, navigation over pages/, nothing else."""

import streamlit as st

st.set_page_config(page_title="Cone Explorer", page_icon="🔺", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", url_path="home", default=True),
]

st.navigation(PAGES).run()

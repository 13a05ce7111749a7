"""A tiny app for the browser test of explorer/draw2d.py: one drawing, its count and its list,
and a button that replaces the list from outside the drawing."""

import json
import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:  # `streamlit run` puts only this script's folder on sys.path
    sys.path.insert(0, ROOT)

import streamlit as st  # noqa: E402

from explorer.draw2d import draw_vectors  # noqa: E402

if st.button("reset to two vectors"):  # the caller replaces the list, as a table edit would
    st.session_state["v"] = [[0.0, 1.0], [-1.0, 0.0]]
result = draw_vectors(st.session_state.get("v", [[1.0, 0.0]]), mode="normal", key="draw")
st.session_state["v"] = result
st.write(f"vectors: {len(result)}")
st.text("list: " + json.dumps(result))

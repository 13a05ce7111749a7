"""Build a cone: enter A (table, text, file, preset, drawing, angles) and see its rays and lines.

The inputs are in :mod:`explorer.build_inputs`, the view in :mod:`explorer.cone_view`."""

import streamlit as st

from explorer import session, shell
from explorer.build_inputs import INPUTS
from explorer.cone_view import show_cone, show_tables, show_view

with shell.page("build"):
    st.title("Build a cone")
    if shell.controls_hidden():
        show_cone(session.current_cone())
    else:
        # Inputs beside the picture, half and half: the narrowest main column (740 px, see
        # explorer.viewport) then still shows a 5-column table whole. The drawing gets the
        # page's whole width (beside the view it shrank to 130 px in an 800 px window), and
        # the tables of rays, lines and A run the whole width below both.
        drawing = st.session_state.get("build_mode", st.query_params.get("build_mode")) == \
            "Draw (2-D)"
        inputs, output = (st.container(), st.container()) if drawing else \
            st.columns(2, gap="large")
        with inputs:
            mode = st.radio("Enter A by", list(INPUTS), horizontal=True, key="build_mode",
                            bind="query-params")
            INPUTS[mode]()
        with output:
            show_view(session.current_cone())
        show_tables(session.current_cone())

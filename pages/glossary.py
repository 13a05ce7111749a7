"""Glossary: the words of the lesson and the pages, for someone who has never met them."""

import streamlit as st

from explorer import shell
from explorer.glossary import GLOSSARY, anchor

with shell.page("glossary"):
    st.title("Glossary")
    st.caption("The lesson's words link here. Each entry is one idea; the pages show them.")
    for term, meaning in GLOSSARY.items():
        st.subheader(term, anchor=anchor(term))
        st.markdown(meaning)

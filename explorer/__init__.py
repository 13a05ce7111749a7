"""Cone Explorer's shared UI code: the page frame, the session's cone, the lesson, the pacer.

The app is ``app.py`` (Home) and one thin file per page in ``pages/`` (Streamlit's documented
``pages/`` convention: every file there is a page). What two pages share lives here, outside
``pages/``; the mathematics lives in :mod:`conecore`, which never imports Streamlit. Only the
modules that draw (``shell``, ``session``, ``build_inputs``, ``cone_view``, ``draw2d``) import
Streamlit; ``limits``, ``lessons`` and ``pacing`` are plain Python.
"""

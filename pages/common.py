"""Shared page code: the session's current cone, its URL form, the sidebar, the device.

One current cone per session, kept in ``st.session_state`` as its URL text (the compact
``"1,-2;-3,1"`` form of :func:`conecore.to_url_text`) and mirrored in the URL's ``A`` parameter,
so a shared link opens the same cone on any page. A matrix too long for a URL travels as a preset
name (``?preset=checkerboard-28``) when it is one, and the sidebar says so otherwise.
"""

from __future__ import annotations

import contextvars
import importlib
import threading
from collections.abc import Callable
from typing import Any

import streamlit as st

import conecore as cc
from conecore.lessons import LESSON, lesson_step
from conecore.pacing import Pacer

# Per-session caps for the hosted app (a whole class shares one small machine).
APP_LIMITS = cc.APP_LIMITS  # d <= 1024, <= 400 rows, 10 s per double description, ...
# All sessions' live training (Train live) together use at most half of the server's one Python
# core (one session alone 90 %): with more sessions each redraws less often (alone: four times
# a second; ten: every 2 s; thirty: every 8 s), and clicks stay quick for everyone.
LIVE = Pacer(share=0.5, solo_share=0.9)
MAX_URL_CHARS = 1800
DEFAULT_PRESET = "pyramid"
STATE_KEY = "cone_text"
PRESET_KEY = "cone_preset"


# Imported once, by one session at a time, before any page runs (``warm_up``).
HEAVY_MODULES = ("pandas", "plotly.graph_objects", "scipy.optimize", "osqp", "torch",
                 "conecore.training", "conecore.samples", "conecore.vae", "conecore.bench")
_WARM_LOCK = threading.Lock()
_warm = False


def warm_up() -> None:
    """Import the heavy libraries once, one thread at a time. Each session runs in its own
    thread, and a class opening the link together on a cold server imported pandas and torch
    in thirty threads at once: some pages failed with "partially initialized module 'pandas'"
    and some never finished. The first visitor waits a few seconds longer instead."""
    global _warm
    if _warm:
        return
    with _WARM_LOCK:
        if not _warm:
            for name in HEAVY_MODULES:
                importlib.import_module(name)
            _warm = True


@st.cache_resource(max_entries=512, show_spinner=False)
def cone_from_text(text: str) -> cc.Cone:
    """The cone of a URL-form matrix. Cached for everyone: a Cone is immutable, a pure result."""
    return cc.Cone.from_inequalities(cc.from_url_text(text), limits=APP_LIMITS)


@st.cache_resource(show_spinner=False)
def compute_device() -> str:
    """The device training will use, detected once: CUDA, Apple MPS or CPU.

    Without importing torch (2-3 s) when it is not loaded yet, so the first page appears fast:
    an NVIDIA driver means CUDA, Apple silicon means MPS. Once torch is loaded its answer wins.
    """
    import os
    import platform
    import sys

    torch = sys.modules.get("torch")
    if torch is not None:
        if torch.cuda.is_available():
            return f"CUDA ({torch.cuda.get_device_name(0)})"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "Apple MPS"
        return "CPU"
    if os.path.exists("/proc/driver/nvidia/version"):
        return "CUDA"
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return "Apple MPS"
    return "CPU"


def _text_from_url() -> tuple[str | None, str | None]:
    """The matrix named by the URL (``A`` or ``preset``) and an error message, if any."""
    params = st.query_params
    if "A" in params:
        text = params["A"]
        try:
            cone_from_text(text)
            return text, None
        except cc.ConeError as exc:
            return None, f"The link's matrix A could not be used: {exc}"
    if "preset" in params:
        name = params["preset"]
        if name in cc.PRESETS:
            return cc.to_url_text(cc.preset(name)), None
        return None, f"The link names an unknown preset '{name}'."
    return None, None


def _ensure_router() -> None:
    """Make a deep link on a fresh server go through app.py's navigation.

    A folder named ``pages/`` next to the entry point switches Streamlit (1.67) into its old
    multipage mode until ``st.navigation`` runs once: the first visitor of ``/build`` would get
    ``pages/build.py`` run on its own, without the router. Leaving that mode and rerunning sends
    the same page (same URL path, same page hash) through app.py. Streamlit internals, so guarded.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - a future Streamlit without the old mode
        return
    # Only on a session's first run: a rerun then loses no click or edit. The flag is shared by
    # all sessions: sessions whose first run started before another one cleared it are still
    # in the old mode (their page list holds app.py itself), so look at this session's pages.
    if STATE_KEY in st.session_state:
        return
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    try:
        pages = ctx.pages_manager.get_pages().values() if ctx is not None else []
        old_mode = any(str(p.get("script_path", "")).endswith("app.py") for p in pages)
    except AttributeError:  # pragma: no cover - another Streamlit's internals
        old_mode = False
    if getattr(PagesManager, "uses_pages_directory", False) or old_mode:
        PagesManager.uses_pages_directory = False
        st.rerun()


def init_state() -> None:
    """Run once per session (first script run): take the cone from the URL or the default."""
    _ensure_router()
    _apply_lesson_request()
    if STATE_KEY in st.session_state:
        # A page switch may clear the URL's parameters: put the cone back, so the address bar
        # (and the sidebar's share link) always opens this view.
        _sync_url(st.session_state[STATE_KEY])
        return
    text, error = _text_from_url()
    if error:
        st.session_state["url_error"] = error
    if "lesson" in st.query_params:
        try:
            step = lesson_step(st.query_params["lesson"])
        except cc.ConeInputError as exc:
            st.session_state["url_error"] = f"The link's lesson: {exc}"
        else:
            st.session_state["lesson"] = LESSON.index(step) + 1
            if text is None and error is None:
                text = step.A
            # The step's page settings, where the link does not give its own.
            st.session_state.update({k: v for k, v in step.widgets.items()
                                     if k not in st.query_params})
    if text is None:
        text = cc.to_url_text(cc.preset(DEFAULT_PRESET))
        st.session_state[PRESET_KEY] = DEFAULT_PRESET
    elif "preset" in st.query_params:
        st.session_state[PRESET_KEY] = st.query_params["preset"]
    st.session_state[STATE_KEY] = text
    _sync_url(text)


def current_cone() -> cc.Cone:
    """The session's cone (always valid: only validated matrices are stored)."""
    return cone_from_text(st.session_state[STATE_KEY])


def current_text() -> str:
    return st.session_state[STATE_KEY]


def set_cone(A: object, preset: str | None = None) -> str | None:
    """Make ``A`` the session's cone. Returns an error message (and changes nothing) when the
    matrix is bad, too large or its conversion timed out."""
    try:
        text = cc.to_url_text(A)
        cone_from_text(text)
    except cc.ConeError as exc:
        return str(exc)
    st.session_state[STATE_KEY] = text
    if preset is None:
        st.session_state.pop(PRESET_KEY, None)
    else:
        st.session_state[PRESET_KEY] = preset
    _sync_url(text)
    return None


def _sync_url(text: str) -> None:
    """Keep ``?A=...`` (or ``?preset=...``) in the URL equal to the session's cone, and the
    classroom flag there once a link has set it."""
    if st.session_state.get("controls_hidden") and st.query_params.get("controls") != "hide":
        st.query_params["controls"] = "hide"
    lesson = st.session_state.get("lesson")
    if lesson and st.query_params.get("lesson") != str(lesson):
        st.query_params["lesson"] = str(lesson)
    preset = st.session_state.get(PRESET_KEY)
    if len(text) <= MAX_URL_CHARS:
        if st.query_params.get("A") != text:
            st.query_params.pop("preset", None)
            st.query_params["A"] = text
    else:
        st.query_params.pop("A", None)
        if preset:
            st.query_params["preset"] = preset
        else:
            st.query_params.pop("preset", None)


class PageEnd(Exception):
    """Raised by :func:`end_page`; app.py catches it and still draws the sidebar."""


# True while app.py runs a page (per script-run thread, not shared between sessions).
ROUTED: contextvars.ContextVar[bool] = contextvars.ContextVar("routed", default=False)


def end_page() -> None:
    """End the page here, like ``st.stop()``, but let app.py draw the sidebar after it
    (after ``st.stop()`` Streamlit drops whatever the script still draws). A page run on its
    own (AppTest's switch_page) just stops."""
    if ROUTED.get():
        raise PageEnd
    st.stop()


# ------------------------------------------------------------------------------ lesson
def _go_to_lesson(k: int) -> None:
    st.session_state["lesson_go"] = k


def _leave_lesson() -> None:
    st.session_state.pop("lesson", None)
    st.query_params.pop("lesson", None)


def _apply_lesson_request() -> None:
    """After a Previous / Next click: the step's cone, its page settings, then its page."""
    k = st.session_state.pop("lesson_go", None)
    if k is None:
        return
    step = lesson_step(k)
    st.session_state["lesson"] = k
    error = set_cone(cc.from_url_text(step.A))
    if error:  # pragma: no cover - the lesson's cones are fixed and tested
        st.session_state["url_error"] = error
    # Set before the page's widgets exist in this run; they are bound to the URL and put the
    # values there themselves.
    st.session_state.update(step.widgets)
    st.session_state.pop("dd_playing", None)
    params = {"A": step.A, "lesson": str(k)}
    if st.session_state.get("controls_hidden"):
        params["controls"] = "hide"
    st.switch_page(f"pages/{step.page}.py", query_params=params)


def lesson_banner(url_path: str) -> None:
    """The current lesson step's sentence at the top of its page."""
    k = st.session_state.get("lesson")
    if k and LESSON[k - 1].page == url_path:
        step = LESSON[k - 1]
        st.info(f"**Lesson {k} of {len(LESSON)}: {step.title}.** {step.guidance}", icon="🎓")


def lesson_sidebar() -> None:
    k = st.session_state.get("lesson")
    with st.expander("Lesson", expanded=k is not None):
        if k is None:
            st.caption(f"A guided walk through {len(LESSON)} views, from one half-plane to the "
                       "constrained VAE, one sentence each. For a class: share a step's link.")
            st.button("Start the lesson", on_click=_go_to_lesson, args=(1,), key="lesson_start")
            return
        step = LESSON[k - 1]
        st.markdown(f"**{k} of {len(LESSON)}: {step.title}**")
        c1, c2 = st.columns(2)
        c1.button("◀ Previous", on_click=_go_to_lesson, args=(k - 1,), disabled=k == 1,
                  key="lesson_prev", width="stretch")
        c2.button("Next ▶", on_click=_go_to_lesson, args=(k + 1,), disabled=k == len(LESSON),
                  key="lesson_next", width="stretch")
        st.button("Leave the lesson", on_click=_leave_lesson, key="lesson_leave")


def controls_hidden() -> bool:
    """Classroom mode: ``?controls=hide`` in the link hides the inputs a teacher does not want
    students to touch (the pictures, stepping and playing stay)."""
    if st.query_params.get("controls") == "hide":
        st.session_state["controls_hidden"] = True  # for the whole visit, on every page
    return bool(st.session_state.get("controls_hidden"))


def share_note() -> str:
    """What the share link carries, in words."""
    text = current_text()
    if len(text) <= MAX_URL_CHARS:
        return "The address bar holds this cone: copy it to share the same view."
    if st.session_state.get(PRESET_KEY):
        return (f"This matrix is too long for a link ({len(text):,} characters), so the link "
                f"names its preset, '{st.session_state[PRESET_KEY]}'.")
    return (f"This matrix is too long for a link ({len(text):,} characters) and is not a preset: "
            "download it (JSON) and share the file instead.")


def download(where: Any, label: str, make: Callable[[], str | bytes], file_name: str,
             key: str, mime: str | None = None) -> None:
    """A download button whose file is made when it is clicked, and whose click does not rerun
    the page. An eager file is fetched by the browser on every render, and a rerun that
    replaces it in between gives a 404 ("Download Button source error") in the console."""
    where.download_button(label, make, file_name=file_name, mime=mime, key=key,
                          on_click="ignore")


def share_link() -> str | None:
    """The address of this page with the cone in it, when Streamlit knows the page's URL."""
    from urllib.parse import urlencode, urlsplit, urlunsplit

    try:
        base = st.context.url
    except (AttributeError, RuntimeError):
        return None
    if not base:
        return None
    parts = urlsplit(base)
    query = urlencode(st.query_params.to_dict(), safe=",;/-")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def sidebar() -> None:
    """The shared sidebar: the current cone in one line, the device, the share link."""
    with st.sidebar:
        lesson_sidebar()
        st.markdown(f"**Current cone**  \n{current_cone().summary()}")
        st.caption(f"Training device: {compute_device()}")
        link = share_link()
        if link and (len(current_text()) <= MAX_URL_CHARS or st.session_state.get(PRESET_KEY)):
            st.markdown(f"[Share this view]({link})")
            st.code(link, language=None, wrap_lines=True)
        st.caption(share_note())
        if "url_error" in st.session_state:
            st.warning(st.session_state.pop("url_error"))

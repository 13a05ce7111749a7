"""The frame every page runs in: page config, heavy imports, the session's cone, the
navigation, the lesson banner and the sidebar.

The app uses Streamlit's documented ``pages/`` convention: ``app.py`` is Home and each file in
``pages/`` is a page that a browser runs on its own (``/build`` runs ``pages/build.py``). So every
page starts the same way::

    from explorer import shell

    with shell.page("build"):
        ...  # the page

Streamlit's own page list is switched off (``client.showSidebarNavigation``) and
:func:`navigation` draws ours, with titles and Material icons the file names cannot carry.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from explorer import session, viewport
from explorer.constraint_set import PAGE_SET_KEY
from explorer.glossary import link_terms
from explorer.lessons import LESSON, lesson_step, step_settings

FAVICON = Path(__file__).with_name("favicon.png")


@dataclass(frozen=True)
class PageInfo:
    name: str  # the URL path ("" for Home) and the lesson's name for the page
    file: str  # relative to the app's folder, as st.page_link and st.switch_page take it
    title: str
    icon: str  # a Material icon: it ships with Streamlit's font (emoji may not render)
    heavy: tuple[str, ...] = ()  # modules the page imports, loaded under a lock (warm_up)


PAGES: tuple[PageInfo, ...] = (
    PageInfo("home", "app.py", "Home", ":material/home:", ("plotly.graph_objects",)),
    PageInfo("build", "pages/build.py", "Build a cone", ":material/change_history:",
             ("pandas", "plotly.graph_objects")),
    PageInfo("steps", "pages/steps.py", "Double description, step by step",
             ":material/stairs:", ("plotly.graph_objects",)),
    PageInfo("train", "pages/train.py", "Train live", ":material/model_training:",
             ("pandas", "plotly.graph_objects", "torch", "conecore.training")),
    PageInfo("samples", "pages/samples.py", "Samples", ":material/scatter_plot:",
             ("plotly.graph_objects", "torch", "conecore.samples")),
    PageInfo("vae", "pages/vae.py", "Constrained VAE", ":material/grid_on:",
             ("pandas", "plotly.graph_objects", "torch", "conecore.vae_experiment")),
    PageInfo("benchmark", "pages/benchmark.py", "Benchmark", ":material/speed:",
             ("plotly.graph_objects", "torch", "osqp", "conecore.bench")),
    PageInfo("polyhedra", "pages/polyhedra.py", "Polyhedra: A x ≤ b", ":material/pentagon:",
             ("plotly.graph_objects", "torch", "conecore.polyhedron_layer")),
    PageInfo("glossary", "pages/glossary.py", "Glossary", ":material/menu_book:"),
)
PAGE = {p.name: p for p in PAGES}

# One lock per heavy module, taken in PAGES order (no two threads wait on each other in turn).
_IMPORT_LOCKS = {name: threading.Lock() for p in PAGES for name in p.heavy}
_IMPORTED: set[str] = set()  # grows only, under the module's lock: which imports have finished


def _guard_infinite_link_numbers() -> None:
    """A link's infinite value for a bound integer ``number_input`` (``?train_width=inf``,
    ``1e999``) opens the page at the widget's default, as Streamlit treats a value out of range.
    Streamlit 1.67 seeds the widget with ``int(float(value))``, and its URL seeding catches
    ValueError but not the OverflowError: the page showed "This app has encountered an error".
    Its deserializer is wrapped once per process to return the default there (nothing changes
    where Streamlit has no such class)."""
    from streamlit.elements.widgets import number_input

    serde = getattr(number_input, "NumberInputSerde", None)
    original = getattr(serde, "deserialize", None)
    if original is None or getattr(original, "guards_overflow", False):
        return

    def deserialize(self: Any, ui_value: Any) -> Any:
        try:
            return original(self, ui_value)
        except OverflowError:  # int(inf): the default, which also clears the URL parameter
            return original(self, None)

    deserialize.guards_overflow = True  # type: ignore[attr-defined]
    serde.deserialize = deserialize


_guard_infinite_link_numbers()


def warm_up(modules: tuple[str, ...]) -> None:
    """Import the modules a page needs, one thread at a time per module. Each session runs in
    its own thread, and a class opening the link together on a cold server imported pandas and
    torch in thirty threads at once: some pages failed with "partially initialized module
    'pandas'" and some never finished. Home needs none of torch, so it does not wait for it."""
    for name in modules:
        if name in _IMPORTED:  # fully imported (sys.modules also holds half-imported ones)
            continue
        with _IMPORT_LOCKS[name]:
            importlib.import_module(name)
            _IMPORTED.add(name)


class PageEnd(Exception):
    """Raised by :func:`end_page`; :func:`page` catches it and still draws the sidebar."""


def end_page() -> None:
    """End the page here, like ``st.stop()``, but still draw the sidebar (after ``st.stop()``
    Streamlit drops whatever the script still draws)."""
    raise PageEnd


@contextmanager
def page(name: str) -> Iterator[None]:
    """Run one page: config, imports, the session's cone, navigation, the lesson's banner; the
    page's body; then the sidebar, which shows the cone the page may just have changed."""
    info = PAGE[name]
    # The tab's icon is a file served by the app: a Material icon there made the browser fetch
    # an SVG from Google's font server, and the app must work with no network.
    st.set_page_config(page_title=f"{info.title} · Cone Explorer" if name != "home"
                       else "Cone Explorer", page_icon=str(FAVICON), layout="wide",
                       # A narrow window (the browser says so, explorer.viewport) starts with
                       # the sidebar closed: the page gets the whole width; a wide one keeps it.
                       initial_sidebar_state="collapsed" if viewport.narrow() else "auto")
    warm_up(info.heavy)
    session.init_state()
    _apply_lesson_request()
    if not controls_hidden():  # students follow the link they were given
        navigation()
    lesson_banner(name)
    st.session_state.pop(PAGE_SET_KEY, None)  # set again by this run's page if it uses one
    try:
        yield
    except PageEnd:
        pass
    viewport.watch()
    sidebar()


def navigation() -> None:
    """Our page list in the sidebar (Streamlit's own is off in .streamlit/config.toml)."""
    with st.sidebar:
        for p in PAGES:
            st.page_link(p.file, label=p.title, icon=p.icon)


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
    session.set_lesson_cone(step.A)
    # Every setting of the step's page, set before its widgets exist in this run; they are
    # bound to the URL and put the values there themselves.
    st.session_state.update(step_settings(step))
    st.session_state.pop("dd_playing", None)
    params = {"A": step.A, "lesson": str(k)}
    if st.session_state.get("controls_hidden"):
        params["controls"] = "hide"
    st.switch_page(PAGE[step.page].file, query_params=params)


def lesson_banner(name: str) -> None:
    """The current lesson step's sentence at the top of its page."""
    k = st.session_state.get("lesson")
    if k and LESSON[k - 1].page == name:
        step = LESSON[k - 1]
        glossary = PAGE["glossary"].name
        st.info(f"**Lesson {k} of {len(LESSON)}: {step.title}.** {link_terms(step.idea, glossary)}"
                f"\n\n**Look at:** {link_terms(step.look, glossary)}"
                f"\n\n**Think about:** {link_terms(step.question, glossary)}",
                icon=":material/school:")


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
        if controls_hidden():  # the teacher moves the class on; students keep their step
            return
        c1, c2 = st.columns(2)
        c1.button("Previous", icon=":material/arrow_back:", on_click=_go_to_lesson,
                  args=(k - 1,), disabled=k == 1, key="lesson_prev", width="stretch")
        c2.button("Next", icon=":material/arrow_forward:", on_click=_go_to_lesson,
                  args=(k + 1,), disabled=k == len(LESSON), key="lesson_next", width="stretch")
        st.button("Leave the lesson", on_click=_leave_lesson, key="lesson_leave")
        st.caption("For students: this step with the controls hidden (this page keeps yours)")
        st.code(session.share_link(controls="hide"), language=None, wrap_lines=True)


# ------------------------------------------------------------------------------ sidebar
def setting(key: str, default: object) -> object:
    """A page setting whose widget students do not see (classroom mode): the session's value
    (a lesson step sets it), else the link's, else ``default``. Booleans come from "true"."""
    if key in st.session_state:
        return st.session_state[key]
    if key in st.query_params:
        text = st.query_params[key]
        return text.lower() == "true" if isinstance(default, bool) else text
    return default


def step_slider(label: str, n: int, key: str, help: str) -> int:
    """The slider over steps ``0..n`` of a construction (the Steps page, the polyhedra's step by
    step), bound to the link as ``key``.

    Its default is always the last step, whatever the session holds: a link without the
    parameter shows the whole construction, one with ``key=0`` the start, and a slider that
    Streamlit draws afresh (after it was hidden, or under a new range) comes back at the end,
    never at 0. A value kept from a longer construction is clamped to ``n``, and a slider at
    the last step stays at the last step when the construction grows (3 of 3, then 6 rows: 6
    of 6). Values set in the session before this call (a lesson, Play) win over the default."""
    state = st.session_state
    end = f"{key}_end"  # n when the slider was last drawn
    if key in state:
        k = state[key]
        if k > n or (k == state.get(end) and k != n):
            state[key] = n
    state[end] = n
    return st.slider(label, 0, n, n, key=key, bind="query-params", help=help)


def controls_hidden() -> bool:
    """Classroom mode: ``?controls=hide`` in the link hides the inputs a teacher does not want
    students to touch (the pictures, stepping and playing stay)."""
    if st.query_params.get("controls") == "hide":
        st.session_state["controls_hidden"] = True  # for the whole visit, on every page
    return bool(st.session_state.get("controls_hidden"))


@st.cache_resource(show_spinner=False)
def compute_device() -> str:
    """The device training will use, detected once: CUDA, Apple MPS or CPU.

    Without importing torch (2-3 s) when it is not loaded yet, so the first page appears fast:
    an NVIDIA driver means CUDA, Apple silicon means MPS. Once torch is loaded its answer wins.
    """
    import os
    import platform

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


def download(where: Any, label: str, make: Callable[[], str | bytes], file_name: str,
             key: str, mime: str | None = None) -> None:
    """A download button whose file is made when it is clicked, and whose click does not rerun
    the page. An eager file is fetched by the browser on every render, and a rerun that
    replaces it in between gives a 404 ("Download Button source error") in the console."""
    where.download_button(label, make, file_name=file_name, mime=mime, key=key,
                          on_click="ignore")


def sidebar() -> None:
    """The shared sidebar: the lesson, the current cone in one line, the device, the link."""
    with st.sidebar:
        lesson_sidebar()
        st.markdown(f"**Current cone**  \n{session.current_cone().summary()}")
        used = st.session_state.pop(PAGE_SET_KEY, None)
        if used:  # Train live or Samples on a polyhedron: the cone above is not what it uses
            st.markdown(f"**This page uses a polyhedron, not the cone**  \n{used}")
        st.caption(f"Training device: {compute_device()}")
        link = session.share_link()
        if link and session.link_carries_cone():
            st.markdown(f"[Share this view]({link})")
            st.code(link, language=None, wrap_lines=True)
        st.caption(session.share_note())
        if "url_error" in st.session_state:
            st.warning(st.session_state.pop("url_error"))

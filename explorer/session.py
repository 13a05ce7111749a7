"""The session's cone: one per visitor, in ``st.session_state``, mirrored in the URL.

The cone travels in the address bar as ``?A=1,-2;-3,1`` (:func:`conecore.to_url_text`), so a
shared link opens the same cone on any page. A matrix too long for a URL travels as a preset
name (``?preset=checkerboard-28``) when it is one, and the sidebar says so otherwise. This is
the only module that reads or writes that text; pages ask for :func:`current_cone` and use
:func:`cone_key` as a cache key.

Conversions happen here only (:func:`set_cone`, :func:`cone_from_text`), each with everything
the pages read (rays, redundant rows, exact rays and lines) in one run under the app's limits:
large ones in a child process, at most one per core across all sessions
(:mod:`conecore.gate`). A session that waits sees "Queued: ..." and then the seconds its
conversion has run; a session's new request replaces its own older one.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable

import streamlit as st

import conecore as cc
from conecore.gate import ConeCancelledError, Ticket, WaitStatus
from explorer.lessons import LESSON, lesson_step, step_settings
from explorer.limits import APP_LIMITS, MAX_URL_CHARS

DEFAULT_PRESET = "pyramid"
TEXT_KEY = "cone_text"  # the URL form of the session's cone: the key of its caches
CONE_KEY = "cone"  # the Cone itself (immutable)
PRESET_KEY = "cone_preset"


OWNER_KEY = "conversion_owner"  # the session's id for the gate: a new request replaces its old
SHARED_CONES = 512


class _SharedCones:
    """Cones by their URL text, shared by every session (a Cone is immutable: a pure result).
    A class opens the same link at once: the first session builds the cone, the others wait for
    it instead of queueing thirty identical conversions."""

    def __init__(self, max_entries: int) -> None:
        self.lock = threading.Lock()
        self.cones: OrderedDict[str, cc.Cone] = OrderedDict()
        self.building: dict[str, threading.Event] = {}
        self.max_entries = max_entries

    def get(self, text: str, build: Callable[[], cc.Cone],
            waiting: Callable[[], None]) -> cc.Cone:
        while True:
            with self.lock:
                if text in self.cones:
                    self.cones.move_to_end(text)
                    return self.cones[text]
                event = self.building.get(text)
                mine = event is None
                if mine:
                    event = self.building[text] = threading.Event()
            if not mine:
                waiting()
                event.wait(0.5)
                continue
            try:
                cone = build()
            finally:
                with self.lock:
                    del self.building[text]
                event.set()
            self.put(text, cone)
            return cone

    def put(self, text: str, cone: cc.Cone) -> None:
        with self.lock:
            self.cones[text] = cone
            self.cones.move_to_end(text)
            while len(self.cones) > self.max_entries:
                self.cones.popitem(last=False)


@st.cache_resource(show_spinner=False)
def _shared_cones() -> _SharedCones:
    return _SharedCones(SHARED_CONES)


class _Waiting:
    """The session's ticket for the gate, and the placeholder that shows where its conversion
    stands (made on the first wait, so a fast conversion draws nothing)."""

    def __init__(self) -> None:
        owner = st.session_state.setdefault(OWNER_KEY, uuid.uuid4().hex)
        self.box = None
        self.ticket = Ticket(owner=owner, on_wait=self.show)

    def show(self, status: WaitStatus | str) -> None:
        if self.box is None:
            self.box = st.empty()
        text = status if isinstance(status, str) else status.message()
        self.box.info(text, icon=":material/hourglass_top:")

    def done(self) -> None:
        if self.box is not None:
            self.box.empty()


def _convert(A: object, waiting: _Waiting) -> cc.Cone:
    """The cone of ``A`` with everything the pages read, under the app's limits."""
    try:
        if isinstance(A, cc.Cone):
            return A.precompute(ticket=waiting.ticket)
        return cc.Cone.from_inequalities(A, limits=APP_LIMITS, ticket=waiting.ticket,
                                         precompute=True)
    except ConeCancelledError:
        st.stop()  # a newer request of this session replaced this run's; that run draws
        raise  # pragma: no cover - st.stop raises


def cone_from_text(text: str) -> cc.Cone:
    """The cone of a link's matrix, shared by every session (a class opens the same link at
    once: it is built once)."""
    waiting = _Waiting()
    try:
        return _shared_cones().get(
            text, lambda: _convert(cc.from_url_text(text), waiting),
            lambda: waiting.show("Waiting for the same cone, asked for by another visitor."))
    finally:
        waiting.done()


def _text_from_url() -> tuple[str | None, str | None]:
    """The matrix named by the URL (``A`` or ``preset``) and an error message, if any."""
    params = st.query_params
    if "A" in params:
        text = params["A"]
        try:
            st.session_state[CONE_KEY] = cone_from_text(text)
            st.session_state["cone_of"] = text
            return text, None
        except cc.ConeError as exc:
            return None, f"The link's matrix A could not be used: {exc}"
    if "preset" in params:
        name = params["preset"]
        if name in cc.PRESETS:
            return cc.to_url_text(cc.preset(name)), None
        return None, f"The link names an unknown preset '{name}'."
    return None, None


def init_state() -> None:
    """At the top of every page: on a session's first run take the cone from the URL (or a
    lesson, or the default); later, put the cone back into the URL a page switch cleared."""
    if TEXT_KEY in st.session_state:
        _sync_url(st.session_state[TEXT_KEY])
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
            # Every setting of the step's page, where the link does not give its own.
            st.session_state.update({k: v for k, v in step_settings(step).items()
                                     if k not in st.query_params})
    if text is None:
        text = cc.to_url_text(cc.preset(DEFAULT_PRESET))
        st.session_state[PRESET_KEY] = DEFAULT_PRESET
    elif "preset" in st.query_params:
        st.session_state[PRESET_KEY] = st.query_params["preset"]
    st.session_state[TEXT_KEY] = text
    _sync_url(text)


def current_cone() -> cc.Cone:
    """The session's cone (always valid: only cones that were built are stored)."""
    cone = st.session_state.get(CONE_KEY)
    if cone is None or st.session_state.get("cone_of") != st.session_state[TEXT_KEY]:
        cone = cone_from_text(st.session_state[TEXT_KEY])
    return cone


def cone_key() -> str:
    """A string that identifies the session's cone (its URL form): the key of page caches."""
    return st.session_state[TEXT_KEY]


def set_cone(A: cc.Cone | object, preset: str | None = None) -> str | None:
    """Make ``A`` (a matrix, or a Cone already built) the session's cone: the conversion runs
    once, under the app's limits, with the redundant rows and the exact rays and lines (what
    Build shows and writes). Returns an error message, and changes nothing, when the matrix is
    bad, too large or its conversion timed out. While it waits for a free core, or runs for
    more than half a second, a message where it was called says so."""
    waiting = _Waiting()
    try:
        cone = _convert(A, waiting)
    except cc.ConeError as exc:
        return str(exc)
    finally:
        waiting.done()
    text = cc.to_url_text(cone)
    st.session_state[TEXT_KEY] = text
    st.session_state[CONE_KEY] = cone
    st.session_state["cone_of"] = text
    _shared_cones().put(text, cone)
    if preset is None:
        st.session_state.pop(PRESET_KEY, None)
    else:
        st.session_state[PRESET_KEY] = preset
    _sync_url(text)
    return None


def set_lesson_cone(text: str) -> None:
    """A lesson step's cone (its ``A`` is written in the URL form)."""
    error = set_cone(cc.from_url_text(text))
    if error:  # pragma: no cover - the lesson's cones are fixed and tested
        st.session_state["url_error"] = error


def _sync_url(text: str) -> None:
    """Keep ``?A=...`` (or ``?preset=...``) in the URL equal to the session's cone, and the
    classroom flags there once a link has set them."""
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


def link_carries_cone() -> bool:
    """Whether the address bar can reproduce this cone (directly, or as a preset's name)."""
    return len(cone_key()) <= MAX_URL_CHARS or bool(st.session_state.get(PRESET_KEY))


def share_note() -> str:
    """What the share link carries, in words."""
    text = cone_key()
    if len(text) <= MAX_URL_CHARS:
        return "The address bar holds this cone: copy it to share the same view."
    if st.session_state.get(PRESET_KEY):
        return (f"This matrix is too long for a link ({len(text):,} characters), so the link "
                f"names its preset, '{st.session_state[PRESET_KEY]}'.")
    return (f"This matrix is too long for a link ({len(text):,} characters) and is not a preset: "
            "download it (JSON) and share the file instead.")


def share_link(**extra: str) -> str | None:
    """The address of this page with the cone (and ``extra`` parameters) in it, when Streamlit
    knows the page's URL."""
    from urllib.parse import urlencode, urlsplit, urlunsplit

    try:
        base = st.context.url
    except (AttributeError, RuntimeError):
        base = None
    params = {**st.query_params.to_dict(), **extra}
    query = urlencode(params, safe=",;/-")
    if not base:
        return f"?{query}" if extra else None  # relative: still a link to this page
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))

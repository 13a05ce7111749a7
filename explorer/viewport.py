"""Is the browser window narrow? A tiny custom component (v2, no iframe) that tells the server.

Streamlit keeps its sidebar (300 px) open on any window wider than 768 px; at 800 px that left
the pages 470 px, and labels, tables and the drawing were cut. The server cannot see the
window, so this component reports it: ``watch()`` (run once per page, by the shell) mounts it,
and its script asks, on load and after each resize, whether ``window.innerWidth`` is under
:data:`NARROW_BELOW` but over :data:`STREAMLIT_CLOSES_AT` (at and under that, Streamlit closes
its sidebar by itself). Only when the answer differs from what the server believes does it send
it, which reruns the page once; a wide window (the default) or a phone never causes a rerun.
``narrow()`` is the server's belief: ``False`` until a browser said otherwise. The shell starts
the sidebar collapsed when it is ``True`` (the visitor can still open it; Streamlit remembers
that choice in the browser).
"""

from __future__ import annotations

import streamlit as st

NARROW_BELOW = 1200  # px of window width: below it the sidebar (300 px) would leave < 740 px
# Streamlit's own "auto" sidebar starts closed at this width and below (its "md" breakpoint,
# 768 px): a phone needs no report, and so costs the server no second run.
STREAMLIT_CLOSES_AT = 768
_STATE = "viewport_narrow"  # session key: the belief, kept outside the widget's own state
_KEY = "viewport_watch"

_JS = r"""
const instances = new WeakMap();

export default function ({ data, setStateValue, parentElement }) {
  let inst = instances.get(parentElement);
  if (!inst) {
    inst = { sent: null, timer: null };
    inst.check = () => {
      const w = window.innerWidth;
      const narrow = w < inst.below && w > inst.closes;
      if (narrow !== inst.believed && narrow !== inst.sent) {
        inst.sent = narrow;
        inst.send("narrow", narrow);
      }
    };
    inst.onResize = () => {
      clearTimeout(inst.timer);
      inst.timer = setTimeout(inst.check, 300);
    };
    window.addEventListener("resize", inst.onResize);
    instances.set(parentElement, inst);
  }
  const d = data || {};
  inst.below = Number(d.below) || 1200;
  inst.closes = Number(d.closes) || 768;
  inst.believed = Boolean(d.narrow);
  inst.send = setStateValue;
  if (inst.sent === inst.believed) inst.sent = null;  // the server has caught up
  inst.check();
  return () => {
    window.removeEventListener("resize", inst.onResize);
    clearTimeout(inst.timer);
    instances.delete(parentElement);
  };
}
"""

_CSS = ".viewport-watch { display: none; }"

_component = st.components.v2.component(
    "viewport_watch", html='<div class="viewport-watch"></div>', css=_CSS, js=_JS)


def narrow() -> bool:
    """What the browser last said: is its window narrower than :data:`NARROW_BELOW`?"""
    return bool(st.session_state.get(_STATE, False))


def _on_change() -> None:
    state = st.session_state.get(_KEY)
    value = state.get("narrow") if hasattr(state, "get") else None
    if isinstance(value, bool):
        st.session_state[_STATE] = value


def watch() -> None:
    """Mount the watcher (invisible). Call it once per page run."""
    _component(key=_KEY, data={"below": NARROW_BELOW, "closes": STREAMLIT_CLOSES_AT,
                               "narrow": narrow()},
               on_narrow_change=_on_change)

"""The set a page's networks must stay in: this session's cone, or a polyhedron example.

Train live and Samples share this widget group. Both widgets are bound to the URL, under the
page's prefix (``?train_set=polyhedron&train_poly=triangle``), so a shared link opens the same
set; the cone itself travels as ``?A=...`` (``explorer.session``)."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

import conecore as cc
from conecore.presets import POLYHEDRA
from explorer import session
from explorer.limits import APP_LIMITS

PAGE_SET_KEY = "page_uses_polyhedron"  # this run's polyhedron, for the sidebar; cleared per run
CHOICES = ("cone", "polyhedron")  # plain option names: a bound widget writes its label in the URL


@st.cache_resource(max_entries=32, show_spinner=False)
def example_polyhedron(name: str) -> cc.Polyhedron:
    """Pure result, shared: the polyhedron of the example ``name`` of
    ``conecore.presets.POLYHEDRA`` (a Polyhedron is immutable)."""
    return cc.read_polyhedron_file(f"{name}.ine", POLYHEDRA[name][2].encode(), limits=APP_LIMITS)


@dataclass(frozen=True)
class ConstraintSet:
    """The chosen set: ``value`` (a Cone or a Polyhedron) and ``key``, which names it for caches
    and for "changed since" checks (``cone:<the URL form>`` or ``polyhedron:<example>``)."""

    value: cc.Cone | cc.Polyhedron
    key: str

    @property
    def where(self) -> str:
        return where(self.value)

    def caption(self) -> str:
        if isinstance(self.value, cc.Cone):
            return f"Cone: {self.value.summary()}"
        name = self.key.partition(":")[2]
        return f"Polyhedron: {POLYHEDRA[name][0]} · {self.value.summary()}"


def where(value: cc.Cone | cc.Polyhedron) -> str:
    """``"the cone"`` or ``"the polyhedron"``, for messages about points outside it."""
    return "the cone" if isinstance(value, cc.Cone) else "the polyhedron"


def choose(prefix: str, *, disabled: bool = False) -> ConstraintSet | None:
    """The radio "Constraint set" (this session's cone, or a polyhedron example) and, for a
    polyhedron, the example's selectbox and its description. None, with an error on the page,
    when the example could not be converted (a busy server's time limit). A link naming an
    unknown choice gets a warning (Streamlit drops the value and shows the default)."""
    asked = {k: st.query_params.get(f"{prefix}_{k}") for k in ("set", "poly")}
    known = {"set": CHOICES, "poly": tuple(POLYHEDRA)}
    for k, value in asked.items():
        if value is not None and value not in known[k]:
            st.warning(f"The link's {prefix}_{k}={value!r} is not one of "
                       f"{', '.join(known[k])}; showing the default instead.")
    kind = st.radio("Constraint set", CHOICES, key=f"{prefix}_set", horizontal=True,
                    disabled=disabled, bind="query-params",
                    help="cone: this session's cone A x ≤ 0 (from Build a cone). polyhedron: an "
                         "example A x ≤ b, for instance probability vectors or a box.")
    if kind != "polyhedron":
        return ConstraintSet(session.current_cone(), f"cone:{session.cone_key()}")
    name = st.selectbox("Polyhedron example", list(POLYHEDRA), key=f"{prefix}_poly",
                        disabled=disabled, bind="query-params")
    title, description, _ = POLYHEDRA[name]
    st.caption(f"**{title}.** {description}")
    try:
        poly = example_polyhedron(name)
    except cc.ConeError as exc:
        st.error(f"The example {title} could not be converted: {exc}")
        return None
    chosen = ConstraintSet(poly, f"polyhedron:{name}")
    # The sidebar (drawn after the page) says this page uses a polyhedron, not the cone it shows.
    st.session_state[PAGE_SET_KEY] = chosen.caption()
    return chosen


def shadow_note(value: cc.Cone | cc.Polyhedron) -> str | None:
    """What the 2-D picture of a polyhedron in R^d, d > 2, shows (None otherwise)."""
    if isinstance(value, cc.Cone) or value.dim <= 2:
        return None
    return (f"The picture shows coordinates x1 and x2 of points in R^{value.dim}, over the "
            "polyhedron's shadow on those two coordinates. A point can lie over the shadow and "
            f"still be outside the polyhedron: the red crosses are judged in R^{value.dim}, "
            "not in the picture.")

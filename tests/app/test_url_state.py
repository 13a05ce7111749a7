"""Classroom links: what a page shows is in its URL, both ways, on every page; and the lesson."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import conecore as cc
from explorer.lessons import LESSON, lesson_step
from explorer.shell import PAGE
from tests.app.pages import ROOT, open_page

A2 = "1,-2;-3,1"
A3 = "1,0,-1;-1,0,-1;0,1,-1;0,-1,-1"

# page, the cone, widget kind, key, the URL's text, the widget's value, another value
CASES = [
    ("build", A2, "toggle", "show_polar_2d", "true", True, False),
    ("build", A3, "toggle", "show_normals_3d", "false", False, True),
    ("build", A2, "radio", "build_mode", "Text", "Text", "Preset"),
    ("steps", A3, "slider", "dd_step", "1", 1, 3),
    ("steps", A3, "text_input", "dd_order", "4, 3, 2, 1", "4, 3, 2, 1", "2, 1, 3, 4"),
    ("train", A2, "selectbox", "train_task", "projection", "projection", "regression"),
    ("train", A2, "selectbox", "train_nonneg", "relu", "relu", "abs"),
    ("train", A2, "number_input", "train_seed", "7", 7, 9),
    ("train", A2, "number_input", "train_width", "32", 32, 16),
    ("train", A2, "slider", "train_penalty", "3.5", 3.5, 20.0),
    ("train", A2, "radio", "train_set", "polyhedron", "polyhedron", "cone"),
    ("samples", A2, "number_input", "samples_steps", "100", 100, 200),
    ("samples", A2, "radio", "samples_set", "polyhedron", "polyhedron", "cone"),
    ("samples", A2, "number_input", "samples_seed", "3", 3, 4),
    ("benchmark", A2, "number_input", "bench_width", "32", 32, 128),
    ("vae", A2, "radio", "vae_source", "mnist", "mnist", "digits"),
    ("vae", A2, "number_input", "vae_seed", "4", 4, 5),
    ("vae", A2, "number_input", "vae_latent", "4", 4, 6),
]


def page_at(page: str, **params: str) -> AppTest:
    return open_page(page, **params)


def param(at: AppTest, key: str) -> str | None:
    value = at.query_params.get(key)
    return value[0] if isinstance(value, list) else value


@pytest.mark.parametrize("page, A, kind, key, text, value, other", CASES,
                         ids=[f"{c[0]}-{c[3]}" for c in CASES])
def test_url_sets_the_widget(page, A, kind, key, text, value, other):
    """The link's value is what the page shows (the other direction, a widget writing the URL,
    is the browser's job: tests/browser/test_url_in_browser.py)."""
    at = page_at(page, A=A, **{key: text})
    assert getattr(at, kind)(key=key).value == value
    assert param(at, "A") == A  # the cone stays in the link
    # Without the parameter the page shows something else: the link is what set it.
    assert getattr(page_at(page, A=A), kind)(key=key).value != value


@pytest.mark.parametrize("page", ["train", "samples"])
def test_url_names_the_polyhedron_example(page):
    at = page_at(page, A=A2, **{f"{page}_set": "polyhedron", f"{page}_poly": "hexagon"})
    assert at.selectbox(key=f"{page}_poly").value == "hexagon"
    assert any(c.value.startswith("Polyhedron: Hexagon") for c in at.caption)


def painted_caption(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("The painted cone:"))


def test_vae_painting_round_trips_through_the_url():
    """The link's painting is the constraint the page computes (8 signed blocks, 4 free, 4 forced
    to 0: 8 rays), and inverting it writes the inverted painting back into the link."""
    at = page_at("vae", paint="+-+-_-+-+_...._0000")
    caption = painted_caption(at)
    assert "16 rows of A" in caption and "8 rays" in caption, caption
    default = painted_caption(page_at("vae"))  # the checkerboard: every block signed
    assert "16 rays" in default and default != caption
    at.button(key="vae_invert").click().run()
    assert param(at, "paint") == "-+-+_+-+-_...._0000"
    assert painted_caption(at) == caption  # the same counts: signs swapped, nothing else


def test_every_lesson_step_is_valid():
    for k, step in enumerate(LESSON, start=1):
        assert lesson_step(k) is step and lesson_step(str(k)) is step
        assert (ROOT / PAGE[step.page].file).exists()
        cone = cc.Cone.from_inequalities(cc.from_url_text(step.A))
        assert cone.dim in (2, 3) and step.idea.endswith(".")
    with pytest.raises(cc.ConeInputError, match="from 1 to"):
        lesson_step(0)
    with pytest.raises(cc.ConeInputError, match="a number"):
        lesson_step("two")


def test_lesson_walks_through_its_pages():
    at = open_page("home")
    at.button(key="lesson_start").click().run()
    assert param(at, "lesson") == "1" and param(at, "A") == LESSON[0].A
    for k in range(2, len(LESSON) + 1):
        at.button(key="lesson_next").click().run()  # the sidebar is on every page
        assert not at.exception, (k, [e.value for e in at.exception])
        step = LESSON[k - 1]
        assert param(at, "lesson") == str(k) and param(at, "A") == step.A
        # The step's page is on screen, with its banner and the step's settings in its widgets.
        assert at.title[0].value == PAGE[step.page].title
        assert any(f"Lesson {k} of {len(LESSON)}" in i.value for i in at.info)
        for key, value in step.widgets.items():
            widget = next((w for w in at.main if getattr(w, "key", None) == key), None)
            assert widget is not None and widget.value == value, (k, key)


def test_lesson_link_sets_the_cone_and_the_step():
    at = page_at("steps", lesson="7")
    assert param(at, "A") == LESSON[6].A
    assert at.slider(key="dd_step").value == 2
    assert at.text_input(key="dd_order").value == "1, 3, 2, 4"


def test_bad_lesson_link_is_reported():
    at = open_page("home", lesson="99")
    assert "The link's lesson: lesson step must be from 1 to 12" in " ".join(
        w.value for w in at.sidebar.warning)


@pytest.mark.parametrize("page, key, default", [
    ("train", "train_width", 64), ("train", "train_steps", 3000), ("samples", "samples_n", 300),
    ("vae", "vae_seed", 0), ("benchmark", "bench_width", 64)])
@pytest.mark.parametrize("value", ["inf", "-Infinity", "1e999"])
def test_an_infinite_number_in_a_link_opens_the_page_at_the_default(page, key, default, value):
    """?train_width=inf (or 1e999) crashed the page: Streamlit seeds a bound integer
    number_input with int(float(value)), and its URL seeding catches ValueError, not the
    OverflowError. The value is dropped first; the link's other settings are kept."""
    other = {"train": ("train_lr", "0.05", 0.05), "samples": ("samples_seed", "7", 7),
             "vae": ("vae_latent", "4", 4), "benchmark": ("bench_box", "2.0", 2.0)}[page]
    at = open_page(page, check=False, **{key: value, other[0]: other[1]})
    assert not at.exception, [e.value for e in at.exception]
    assert at.number_input(key=key).value == default
    assert at.number_input(key=other[0]).value == other[2]

"""The lesson as a student and a teacher meet it: every step's view is the same whether it was
reached by Next or opened fresh from its link, with and without ``controls=hide``; each step's
words are true of the screen; the glossary covers every term the lesson links."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

import conecore as cc
from explorer.glossary import GLOSSARY, link_terms, terms_in
from explorer.lessons import LESSON, PAGE_SETTINGS, step_settings
from tests.app.pages import open_page

STEPS = range(1, len(LESSON) + 1)


def view(at: AppTest) -> dict:
    """What the main area shows: title, texts, every widget's value, each figure's traces."""
    main = at.main
    widgets = {}
    for kind in ("slider", "toggle", "text_input", "number_input", "selectbox", "radio",
                 "checkbox", "multiselect", "select_slider"):
        for w in main.get(kind):
            widgets[w.key or w.label] = w.value
    return {
        "title": [t.value for t in main.get("title")],
        "info": [i.value for i in main.get("info")],
        "markdown": [m.value for m in main.get("markdown")],
        "metrics": [(m.label, m.value) for m in main.get("metric")],
        "widgets": widgets,
        "charts": [[t.get("name") for t in json.loads(c.proto.spec)["data"]]
                   for c in main.get("plotly_chart")],
    }


def by_next(k: int, hidden: bool) -> AppTest:
    """Step k reached from step k-1 by Next (the button's callback, as the teacher presses it;
    in student mode the button is not shown, and the teacher's class moves with their links)."""
    params = {"lesson": str(k - 1)}
    if hidden:
        params["controls"] = "hide"
    at = open_page(LESSON[k - 2].page, **params)
    if hidden:
        assert not at.sidebar.get("button"), "students see no lesson buttons"
        at.session_state["lesson_go"] = k
        at.run()
    else:
        at.button(key="lesson_next").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def fresh(k: int, hidden: bool) -> AppTest:
    params = {"lesson": str(k)}
    if hidden:
        params["controls"] = "hide"
    return open_page(LESSON[k - 1].page, **params)


@pytest.mark.parametrize("hidden", [False, True], ids=["teacher", "student"])
@pytest.mark.parametrize("k", [k for k in list(STEPS)[1:] if LESSON[k - 1].page != "vae"])
def test_next_and_a_fresh_link_show_the_same_view(k, hidden):
    a, b = by_next(k, hidden), fresh(k, hidden)
    assert view(a) == view(b)
    assert any(f"Lesson {k} of {len(LESSON)}" in i for i in view(a)["info"])


def test_the_vae_step_matches():
    """The step on the VAE page (one test: the page is slower to open)."""
    k = next(i for i, step in enumerate(LESSON, start=1) if step.page == "vae")
    for hidden in (False, True):
        assert view(by_next(k, hidden)) == view(fresh(k, hidden))


def test_lesson_7_keeps_its_order_in_student_mode():
    """Step 2 of lesson 7 adds a3 = (0, 1, -1): the order 1, 3, 2, 4 (was lost with the
    controls hidden, which showed exactly lesson 6)."""
    for hidden in (False, True):
        at = fresh(7, hidden)
        assert at.main.get("markdown")[0].value.startswith("**Step 2: add a3 = (0, 1, -1)"), \
            at.main.get("markdown")[0].value


def test_a_polyhedron_chosen_before_the_training_step_gives_way_to_its_cone():
    """Train live's step trains on the lesson's wedge, even after the visitor had chosen a
    polyhedron example there (the constraint set is one of the page's settings)."""
    k = next(i for i, step in enumerate(LESSON, start=1) if step.page == "train")
    at = open_page("train", lesson=str(k - 1), train_set="polyhedron", train_poly="triangle")
    at.button(key="lesson_next").click().run()
    assert not at.exception and at.radio(key="train_set").value == "cone"
    assert view(at) == view(fresh(k, False))


def test_settings_do_not_leak_from_the_step_before():
    """Lesson 3 turns the polar cone on; lesson 4 (same page) turns it off again."""
    at = open_page("build", lesson="3")
    assert at.toggle(key="show_polar_2d").value
    at.button(key="lesson_next").click().run()
    assert not at.toggle(key="show_polar_2d").value
    assert view(at) == view(fresh(4, False))


def test_student_mode_hides_the_teacher_controls():
    at = fresh(3, True)
    assert not at.sidebar.get("button")  # no Previous, Next, Leave, Start
    assert not at.main.get("toggle")  # no polar toggle: the step decides
    assert not at.sidebar.get("page_link")  # no navigation to other pages
    teacher = fresh(3, False)
    assert {b.key for b in teacher.sidebar.get("button")} >= {"lesson_prev", "lesson_next",
                                                              "lesson_leave"}
    assert any("controls=hide" in c.value for c in teacher.sidebar.get("code"))


@pytest.mark.parametrize("k", list(STEPS))
def test_each_step_sets_every_setting_of_its_page(k):
    step = LESSON[k - 1]
    assert set(PAGE_SETTINGS[step.page]) <= set(step_settings(step))
    assert set(step.widgets) <= set(PAGE_SETTINGS[step.page]), "a step may set only known keys"


def test_the_words_are_true_of_the_screen():
    """Numbers the lesson states are what the page computes."""
    half = cc.Cone.from_inequalities(cc.from_url_text(LESSON[0].A))
    assert half.rays_exact.tolist() == [[-1, -1]] and len(half.lines) == 1
    assert "r1 = (−1, −1)" in LESSON[0].look and "one [[line]]" in LESSON[0].look
    at = fresh(1, False)
    metrics = dict(view(at)["metrics"])
    assert metrics["extreme rays"] == "1" and metrics["lines"] == "1"
    wedge_line = cc.Cone.from_inequalities(cc.from_url_text(LESSON[7].A))
    assert len(wedge_line.rays) == 2 and wedge_line.lines_exact.tolist() in ([[0, 0, 1]],
                                                                            [[0, 0, -1]])
    pyramid = cc.Cone.from_inequalities(cc.from_url_text(LESSON[4].A))
    assert len(pyramid.rays) == 4 and len(pyramid.A) == 4


def test_every_linked_term_is_in_the_glossary_and_links_to_it():
    for step in LESSON:
        for text in (step.idea, step.look, step.question):
            for term in terms_in(text):
                assert term in GLOSSARY, (step.title, term)
            assert "[[" not in link_terms(text)
    assert link_terms("a [[cone]] and [[extreme ray|rays]]") == (
        "a [cone](glossary#cone) and [rays](glossary#extreme-ray)")
    at = open_page("glossary")
    assert [s.value for s in at.main.get("subheader")] == list(GLOSSARY)
    for word in ("Minkowski", "lineality", "adjacent", "normal", "block sum"):
        assert any(word.lower() in t.lower() for t in GLOSSARY), word


def test_each_step_is_one_idea_a_thing_to_look_at_and_a_question():
    for step in LESSON:
        assert step.idea.endswith(".") and step.look and step.question.endswith("?"), step.title


def test_the_polyhedra_step_shows_every_inequality_wherever_the_slider_was():
    """The step-by-step slider is a setting of its page too: a student who moved it, then the
    teacher's Next to the polyhedra step, sees the whole polyhedron's construction."""
    k = next(i for i, s in enumerate(LESSON, 1) if s.page == "polyhedra")
    at = fresh(k, False)
    last = at.slider(key="poly_step").max
    assert at.slider(key="poly_step").value == last
    at.slider(key="poly_step").set_value(1).run()
    at.session_state["lesson_go"] = k
    at.run()
    assert not at.exception
    assert at.slider(key="poly_step").value == last


@pytest.mark.parametrize("k", list(STEPS))
def test_no_widget_gets_both_a_default_and_a_lesson_value(k, monkeypatch):
    """A lesson step writes its page's settings into the session, and a widget that also has a
    default of its own (which a shared link relies on) makes Streamlit log a warning, once per
    server, into the teacher's terminal. That is on purpose here, so the app's config turns the
    warning off (``.streamlit/config.toml``). Every step, reached by Next and opened fresh."""
    from streamlit.elements.lib import policies

    logged: list[str] = []
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)
    monkeypatch.setattr(policies._LOGGER, "warning",
                        lambda msg, *args, **kw: logged.append(msg % args))
    for at in ([by_next(k, False)] if k > 1 else []) + [fresh(k, False)]:
        assert not at.exception, [e.value for e in at.exception]
        monkeypatch.setattr(policies, "_shown_default_value_warning", False)
    assert not [m for m in logged if "default value" in m], logged

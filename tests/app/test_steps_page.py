"""The Steps page (AppTest): stepping, playing, classroom links."""

from tests.app.pages import open_page


def test_steps_page_steps_and_reports_a_bad_order():
    at = steps_page()
    assert not at.exception
    assert "cuts off 1 ray(s)" in at.markdown[0].value
    at.slider(key="dd_step").set_value(0).run()
    assert at.markdown[0].value.startswith("**Start:**")
    at.text_input(key="dd_order").input("4, 3, 2").run()
    assert any("each row number from 1 to 4 once" in e.value for e in at.error)
    at.text_input(key="dd_order").input("4 3 2 1").run()
    at.slider(key="dd_step").set_value(4).run()
    assert not at.error and "add a1" in at.markdown[0].value


def test_classroom_link_sets_the_step_and_hides_the_order():
    at = steps_page(dd_step="2", controls="hide")
    assert not at.exception
    assert at.markdown[0].value.startswith("**Step 2: add a2")
    assert not [t for t in at.text_input if t.key == "dd_order"]


def test_play_all_steps_walks_from_start_to_the_end_and_stops():
    at = steps_page()
    assert at.slider(key="dd_step").value == 4  # the last step first
    at.button(key="dd_play").click().run()
    assert at.slider(key="dd_step").value == 0 and at.session_state["dd_playing"]
    assert at.button(key="dd_play").disabled and not at.button(key="dd_pause").disabled
    seen = []
    for _ in range(6):  # each timer tick is one more run; AppTest runs the whole script
        at.run()
        seen.append(at.slider(key="dd_step").value)
    assert seen[:4] == [1, 2, 3, 4] and not at.session_state["dd_playing"]
    assert at.markdown[0].value.startswith("**Step 4:")
    assert not at.exception


def steps_page(**params: str):
    """The Steps page for the square pyramid, with extra URL parameters."""
    return open_page("steps", check=False, A="1,0,-1;-1,0,-1;0,1,-1;0,-1,-1", **params)

"""Page tests with Streamlit's AppTest (no browser)."""

from tests.app.pages import open_page


def test_home_renders_a_live_cone_without_exceptions():
    at = open_page("home")
    assert not at.exception
    assert at.title[0].value == "Cone Explorer"
    # The default example is the first 2-D preset: the wedge with rays (1, 3) and (2, 1).
    assert any("d = 2 · 2 rays · 0 lines · pointed" in m.value for m in at.markdown)
    # The order of the rays is the engine's: pycddlib's, or conecore's own where pycddlib is
    # not installed (a laptop without cddlib), which lists these two the other way round.
    assert any(m.value in ("Extreme rays: r1 = (1, 3), r2 = (2, 1)",
                           "Extreme rays: r1 = (2, 1), r2 = (1, 3)") for m in at.markdown)


def test_home_example_switch_recomputes():
    at = open_page("home")
    at.selectbox(key="home_example").set_value("only-origin").run()
    assert not at.exception
    assert any("only the origin" in m.value for m in at.markdown)

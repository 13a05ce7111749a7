"""The Samples page (AppTest)."""

from tests.app.pages import open_page


def test_samples_page():
    at = open_page("samples", A="1,-2;-3,1")
    assert not at.exception
    at.number_input(key="samples_steps").set_value(50).run()
    at.number_input(key="samples_frames").set_value(5).run()
    at.button(key="samples_go").click().run()
    assert not at.exception
    assert any("ConeLayer decoder**: 0 of 300" in m.value for m in at.markdown)


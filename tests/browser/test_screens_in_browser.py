"""Any screen, any theme (issue 17): the app follows a dark system setting, draws its icons
with Streamlit's Material font (no emoji boxes), and an 800 px window keeps Build's labels
whole. Screenshots of each go to test-artifacts/ for a person to look at."""

from __future__ import annotations

import re

import pytest

expect = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
).expect

STREAMLIT_SCRIPT = "app.py"
WAIT = 30_000


def luminance(css_color: str) -> float:
    r, g, b = (int(v) for v in re.findall(r"\d+", css_color)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_app_follows_the_system_theme(app_url, browser, idle, scheme, tmp_path):
    from tests.browser.conftest import ARTIFACTS

    context = browser.new_context(viewport={"width": 1400, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    try:
        page.goto(f"{app_url}/build?A=1,-2;-3,1")
        expect(page.locator("h1").first).to_have_text("Build a cone", timeout=WAIT)
        page.wait_for_timeout(1500)
        background = page.locator("[data-testid='stApp']").evaluate(
            "el => getComputedStyle(el).backgroundColor")
        assert (luminance(background) < 80) == (scheme == "dark"), background
        # Navigation icons are Material icons (a ligature in Streamlit's bundled font).
        icons = page.get_by_test_id("stSidebar").get_by_test_id("stPageLink").get_by_test_id(
            "stIconMaterial")
        expect(icons.first).to_be_visible(timeout=WAIT)
        assert icons.count() >= 8
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"theme-{scheme}-build.png"), full_page=True)
    finally:
        context.close()


def test_an_800px_window_keeps_builds_counts_whole(app_url, browser):
    from tests.browser.conftest import ARTIFACTS

    context = browser.new_context(viewport={"width": 800, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{app_url}/build?A=1,-2;-3,1")
        expect(page.locator("h1").first).to_have_text("Build a cone", timeout=WAIT)
        for label in ("dimension d", "rows of A", "extreme rays", "lines"):
            metric = page.get_by_test_id("stMetricLabel").filter(has_text=label).first
            expect(metric).to_be_visible(timeout=WAIT)
            # Whole: the label's text is not cut ("dime…"): its content fits its box.
            fits = metric.evaluate("el => el.scrollWidth <= el.clientWidth + 1")
            assert fits, label
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "w800-build.png"), full_page=True)
    finally:
        context.close()

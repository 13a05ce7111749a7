"""The Build-a-cone page in a real browser: draw a half-plane by clicking, the ray count changes;
a shared link opened in a fresh browser context shows the same cone."""

from urllib.parse import unquote

import pytest

expect = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
).expect

STREAMLIT_SCRIPT = "app.py"


def _to_page(box, x: float, y: float) -> tuple[float, float]:
    return (box["x"] + (200 + 170 * x) / 400 * box["width"],
            box["y"] + (200 - 170 * y) / 400 * box["height"])


def test_draw_a_half_plane_changes_the_rays(app_url, page, idle):
    # The 2-D wedge x2 >= 2 x1 ... : rows (1, -2) and (-3, 1), two rays.
    page.goto(f"{app_url}/build?A=1,-2;-3,1")
    idle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    expect(page.get_by_test_id("stMetric").filter(has_text="extreme rays")).to_contain_text("2")
    page.get_by_text("Draw (2-D)").click()
    idle(page)
    svg = page.locator(".d2d svg")
    expect(svg).to_be_visible(timeout=30_000)
    # Add the normal (0.5, 0.5): it is obtuse to neither ray (2, 1) nor (1, 3), so together
    # with (1, -2) and (-3, 1) it leaves only the origin.
    box = svg.bounding_box()
    page.mouse.click(*_to_page(box, 0.5, 0.5))
    idle(page)
    expect(page.get_by_test_id("stMetric").filter(has_text="rows of A")).to_contain_text(
        "3", timeout=15_000)
    expect(page.get_by_test_id("stMetric").filter(has_text="extreme rays")).to_contain_text(
        "0", timeout=15_000)
    expect(page.get_by_text("only the origin").first).to_be_visible()
    assert "A=1,-2;-3,1;1/2,1/2" in unquote(page.url)
    assert page.locator("[data-testid='stException']").count() == 0


def test_shared_link_opens_the_same_cone_in_a_fresh_context(app_url, browser, idle):
    link = f"{app_url}/build?A=1,0,-1;-1,0,-1;0,1,-1;0,-1,-1;0,0,-1"
    context = browser.new_context()
    try:
        fresh = context.new_page()
        fresh.goto(link)
        idle(fresh)
        expect(fresh.get_by_test_id("stMetric").filter(has_text="rows of A")).to_contain_text("5")
        expect(fresh.get_by_test_id("stMetric").filter(has_text="extreme rays")).to_contain_text(
            "4")
        expect(fresh.get_by_text("d = 3 · 4 rays · 0 lines · pointed")).to_be_visible()
        assert fresh.locator("[data-testid='stException']").count() == 0
    finally:
        context.close()

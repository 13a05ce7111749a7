"""The drawing component in a real browser: click adds, double-click deletes, drag moves,
and a list replaced by the caller is what the component then shows."""

import json

import pytest

expect = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
).expect

STREAMLIT_SCRIPT = "tests/browser/draw_app.py"


def _vectors(page) -> list[list[float]]:
    text = page.get_by_test_id("stText").filter(has_text="list:").inner_text()
    return json.loads(text.split("list:", 1)[1])


def _to_page(box, x: float, y: float) -> tuple[float, float]:
    """Plane coordinates -> page pixels (the SVG's viewBox is 0..400, the plane ±1 is ±170)."""
    return (box["x"] + (200 + 170 * x) / 400 * box["width"],
            box["y"] + (200 - 170 * y) / 400 * box["height"])


def test_click_double_click_and_drag(app_url, page, idle):
    page.goto(app_url)
    idle(page)
    svg = page.locator(".d2d svg")
    expect(svg).to_be_visible(timeout=30_000)
    expect(page.get_by_text("vectors: 1")).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0
    assert _vectors(page) == [[1.0, 0.0]]

    box = svg.bounding_box()
    assert abs(box["width"] - box["height"]) < 1, box  # a square plane

    # Click on empty space: a second vector, at the clicked point.
    page.mouse.click(*_to_page(box, -0.5, 0.5))
    idle(page)
    expect(page.get_by_text("vectors: 2")).to_be_visible(timeout=15_000)
    added = _vectors(page)[1]
    assert abs(added[0] + 0.5) < 0.02 and abs(added[1] - 0.5) < 0.02, added

    # Double-click its tip: deleted.
    page.mouse.dblclick(*_to_page(box, *added))
    idle(page)
    expect(page.get_by_text("vectors: 1")).to_be_visible(timeout=15_000)
    assert _vectors(page) == [[1.0, 0.0]]

    # Drag the tip of (1, 0) to (0.3, 0.6): moved on release, nothing added.
    page.mouse.move(*_to_page(box, 1.0, 0.0))
    page.mouse.down()
    page.mouse.move(*_to_page(box, 0.3, 0.6), steps=8)
    page.mouse.up()
    idle(page)
    listing = page.get_by_test_id("stText").filter(has_text="list:")
    expect(listing).not_to_have_text("list: [[1.0, 0.0]]", timeout=15_000)
    (moved,) = _vectors(page)
    assert abs(moved[0] - 0.3) < 0.02 and abs(moved[1] - 0.6) < 0.02, moved
    expect(page.get_by_text("vectors: 1")).to_be_visible()

    # The caller replaces the list: the drawing follows, and "clear" works each time, even when
    # the drawing it produces ([]) equals what the component sent before.
    tips = page.locator(".d2d .tip")
    for _ in range(2):
        page.get_by_role("button", name="reset to two vectors").click()
        idle(page)
        expect(page.get_by_text("vectors: 2")).to_be_visible(timeout=15_000)
        expect(tips).to_have_count(2)
        page.locator(".d2d button.clear").click()
        idle(page)
        expect(page.get_by_text("vectors: 0")).to_be_visible(timeout=15_000)
        expect(tips).to_have_count(0)

    assert page.locator("[data-testid='stException']").count() == 0
    assert page.js_errors == []

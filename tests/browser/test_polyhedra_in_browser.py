"""The Polyhedra page in a real browser (issue 18): A and b typed apart, cddlib rows [b | -A]
typed into the Text box, a 4-D polytope's projection, the double description step by step, and
Build's offer to open a .ine with b != 0 here. Each check reads the Plotly figure's data from the
DOM (the chart's ``data`` as Plotly drew it); screenshots go to test-artifacts/."""

from __future__ import annotations

import time

import pytest

from scripts.harness import ARTIFACTS

expect = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
).expect

STREAMLIT_SCRIPT = "app.py"

WAIT = 30_000  # ms, for anything a script run draws
IDLE = 120  # s, for a script run to end (the page's first run imports torch)
# The 4-D cube |x_i| <= 1 as cddlib rows b, -a (b - a x >= 0).
TESSERACT = "\n".join(f"1 {' '.join(str(-s * int(i == j)) for j in range(4))}"
                      for i in range(4) for s in (1, -1))


def open_page(page, idle, url: str) -> None:
    page.goto(url)
    deadline = time.monotonic() + 90
    while page.st_runs < 1:  # a cold server imports torch first
        assert time.monotonic() < deadline, f"no script run finished for {url}"
        page.wait_for_timeout(50)
    idle(page, timeout=IDLE)
    expect(page.locator("h1").first).to_be_visible(timeout=WAIT)


def metric(page, label: str):
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id(
        "stMetricValue")


def traces(chart) -> dict[str, dict]:
    """The figure Plotly drew in ``chart`` (a stPlotlyChart): trace name -> type, number of
    points, mesh triangles, texts."""
    expect(chart.locator(".js-plotly-plot")).to_be_attached(timeout=WAIT)
    return chart.locator(".js-plotly-plot").evaluate("""gd => {
        // An array, or Plotly's typed-array spec {dtype, bdata} (base64) as the app sends it.
        const size = {f8: 8, f4: 4, i4: 4, u4: 4, i2: 2, u2: 2, i1: 1, u1: 1};
        const len = a => !a ? 0 : a.length !== undefined ? a.length
            : atob(a.bdata).length / size[a.dtype.replace(/[<>|]/, "")];
        return Object.fromEntries(gd.data.map(t => [t.name, {type: t.type, n: len(t.x),
            i: len(t.i), text: t.text ? Array.from(t.text) : null}]));
    }""")


def wait_for_trace(chart, name: str, **want) -> dict:
    """Poll the drawn figure until trace ``name`` has the wanted fields (a rerun redraws it)."""
    deadline = time.monotonic() + WAIT / 1000
    while True:
        got = traces(chart).get(name)
        if got is not None and all(got[k] == v for k, v in want.items()):
            return got
        assert time.monotonic() < deadline, f"{name}: {got}, wanted {want}"
        time.sleep(0.1)


def type_into(page, idle, label: str, text: str) -> None:
    area = page.get_by_role("textbox", name=label)
    area.click()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.insert_text(text)  # what a paste does: one input event
    expect(area).to_have_value(text)
    page.keyboard.press("ControlOrMeta+Enter")  # a text area commits on Ctrl+Enter (or blur)
    idle(page, timeout=IDLE)


def choose_mode(page, idle, mode: str) -> None:
    page.get_by_test_id("stRadio").filter(has_text="Enter the constraints by").get_by_text(
        mode, exact=True).click()
    idle(page, timeout=IDLE)


def open_steps(page, idle) -> None:
    page.get_by_test_id("stExpander").filter(
        has_text="Double description, step by step").locator("summary").click()
    idle(page, timeout=IDLE)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def no_errors(page) -> None:
    assert page.get_by_test_id("stException").count() == 0
    assert page.js_errors == []


def test_typed_a_and_b_then_cddlib_rows_in_4d_then_steps(app_url, page, idle):
    open_page(page, idle, f"{app_url}/polyhedra")
    choose_mode(page, idle, "A and b")
    # x <= 1, y <= 1, x + y >= 0: a triangle with corners (1, 1), (1, -1), (-1, 1).
    type_into(page, idle, "A (one row a per constraint a·x ≤ b)", "1 0\n0 1\n-1 -1")
    expect(page.get_by_test_id("stAlertContentError")).to_contain_text("b: 4 entries for 3 rows")
    type_into(page, idle, "b (optional)", "1\n1\n0")
    expect(metric(page, "vertices").first).to_have_text("3", timeout=WAIT)
    chart = page.get_by_test_id("stPlotlyChart").first
    wait_for_trace(chart, "vertices", n=3)
    assert traces(chart)["constraint numbers"]["text"] == ["1", "2", "3"]
    page.get_by_test_id("stPlotlyChart").first.scroll_into_view_if_needed()
    shot(page, "polyhedra_a_and_b")
    no_errors(page)

    # The 4-D cube as cddlib rows [b | -A]: its shadow on x1, x2, x3 is a 3-D cube (8 corners,
    # 12 triangles), with the layer's 400 outputs projected.
    choose_mode(page, idle, "Text")
    type_into(page, idle, "Rows b −a₁ … −a_d, meaning b − a·x ≥ 0 (cddlib's order [b | −A]), "
                          "or a whole cddlib file", TESSERACT)
    expect(metric(page, "vertices").first).to_have_text("16", timeout=WAIT)
    expect(page.get_by_text("A projection, not a slice")).to_be_visible(timeout=WAIT)
    chart = page.get_by_test_id("stPlotlyChart").first
    shadow = wait_for_trace(chart, "shadow: the hull of the projected vertices", n=8)
    assert shadow["type"] == "mesh3d" and shadow["i"] == 12
    assert traces(chart)["layer outputs (projected)"]["n"] == 400
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(500)  # WebGL draws after the data
    shot(page, "polyhedra_projection")
    no_errors(page)

    # Step by step on the triangle typed above (its A and b are kept): after 2 rows one
    # vertex, after all 3 three, two of them born.
    choose_mode(page, idle, "A and b")
    expect(metric(page, "vertices").first).to_have_text("3", timeout=WAIT)
    open_steps(page, idle)
    step_chart = page.get_by_test_id("stPlotlyChart").nth(1)
    wait_for_trace(step_chart, "vertices", n=3)
    thumb = page.get_by_test_id("stSlider").filter(has_text="Constraints added").get_by_role(
        "slider")
    thumb.focus()
    page.keyboard.press("ArrowLeft")  # 3 -> 2: x <= 1 and y <= 1, one vertex, two rays
    idle(page, timeout=IDLE)
    expect(metric(page, "vertices so far")).to_have_text("1", timeout=WAIT)
    wait_for_trace(step_chart, "vertices", n=1)
    assert "new constraint 2" in traces(step_chart)
    step_chart.scroll_into_view_if_needed()
    shot(page, "polyhedra_steps")
    no_errors(page)

    # The slider is not drawn in 4-D: it comes back at step 2. At the last step it follows
    # the end when a row is added (4 of 4, not 3 of 4).
    choose_mode(page, idle, "Text")
    expect(metric(page, "vertices").first).to_have_text("16", timeout=WAIT)
    choose_mode(page, idle, "A and b")
    open_steps(page, idle)  # drawn again, so closed again
    expect(thumb).to_have_value("2", timeout=WAIT)
    expect(metric(page, "vertices so far")).to_have_text("1", timeout=WAIT)
    thumb.focus()
    page.keyboard.press("End")
    idle(page, timeout=IDLE)
    expect(thumb).to_have_value("3", timeout=WAIT)
    type_into(page, idle, "A (one row a per constraint a·x ≤ b)", "1 0\n0 1\n-1 -1\n-1 0")
    type_into(page, idle, "b (optional)", "1\n1\n0\n0")  # and x >= 0: (0, 0), (1, 0), ...
    expect(metric(page, "vertices").first).to_have_text("4", timeout=WAIT)
    expect(thumb).to_have_value("4", timeout=WAIT)
    expect(metric(page, "vertices so far")).to_have_text("4", timeout=WAIT)
    no_errors(page)


def test_build_opens_a_polyhedron_file_on_the_polyhedra_page(app_url, page, idle):
    open_page(page, idle, f"{app_url}/build?build_mode=Text")
    hexagon = ("H-representation\nbegin\n 6 3 integer\n 2 -1 0\n 2 1 0\n 2 0 -1\n 2 0 1\n"
               " 3 -1 -1\n 3 1 1\nend")
    type_into(page, idle, "Rows of A", hexagon)
    expect(page.get_by_test_id("stAlertContentError")).to_contain_text(
        "so this describes a polyhedron A x ≤ b, not a cone", timeout=WAIT)
    shot(page, "build_offers_the_polyhedra_page")
    page.get_by_role("button", name="Open it on the Polyhedra page").click()
    idle(page, timeout=IDLE)
    expect(page.locator("h1").first).to_have_text("Polyhedra: A x ≤ b", timeout=WAIT)
    expect(metric(page, "vertices").first).to_have_text("6", timeout=WAIT)
    assert "poly_mode=Text" in page.url
    wait_for_trace(page.get_by_test_id("stPlotlyChart").first, "vertices", n=6)
    no_errors(page)


def test_sides_drawn_off_the_origin(app_url, page, idle):
    """Draw (2-D): each arrow ends on its side, drawn across the square; dragging a tip moves
    that side, a click adds one (a corner is cut off), and the link carries the drawing."""
    open_page(page, idle, f"{app_url}/polyhedra?poly_mode=Draw+(2-D)")
    svg = page.locator(".d2d svg")
    expect(svg).to_be_visible(timeout=WAIT)
    expect(page.locator(".d2d line.side")).to_have_count(3)  # the starting triangle's sides
    expect(metric(page, "vertices").first).to_have_text("3", timeout=WAIT)
    box = svg.bounding_box()

    def at(x: float, y: float) -> tuple[float, float]:  # plane -> page (viewBox 0..400, ±170)
        return (box["x"] + (200 + 170 * x) / 400 * box["width"],
                box["y"] + (200 - 170 * y) / 400 * box["height"])

    before = page.evaluate("() => location.search")
    page.mouse.move(*at(0.6, 0.0))  # drag a1's tip, and with it the side x = 0.6, to x = 0.3
    page.mouse.down()
    page.mouse.move(*at(0.3, 0.0), steps=8)
    page.mouse.up()
    idle(page, timeout=IDLE)
    deadline = time.monotonic() + WAIT / 1000
    while page.evaluate("() => location.search") == before:
        assert time.monotonic() < deadline, "the link did not follow the drag"
        page.wait_for_timeout(100)
    assert "P=9%2F100" in page.evaluate("() => location.search")  # b = 0.3² = 9/100
    # A side through (0.3, 0.3), at a right angle to it: x + y <= 0.6 cuts a corner off.
    page.mouse.click(*at(0.3, 0.3))
    idle(page, timeout=IDLE)
    expect(page.locator(".d2d line.side")).to_have_count(4, timeout=WAIT)
    expect(metric(page, "vertices").first).to_have_text("4", timeout=WAIT)
    shot(page, "polyhedra-draw")
    no_errors(page)

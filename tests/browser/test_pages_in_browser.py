"""The whole app in a real browser, one server for the module (issue 8): every page loads, a cone
is built by typing in the table, pasting text and picking a preset, the 3-D view renders, Train
live plays and pauses, the VAE trains an epoch, a painting link and a classroom link work.

The machine running these may be small and busy (CI has 2 cores): the server's
``script_finished`` can arrive well before the browser has drawn the run, so every check waits
for its condition (``expect`` with generous timeouts) and no fixed sleep is the synchronisation.
"""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest

expect = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
).expect

STREAMLIT_SCRIPT = "app.py"

WAIT = 30_000  # ms, for anything a script run draws
IDLE = 120  # s, for a script run to end (Train live's runs evaluate five models; the VAE trains)
PYRAMID = "1,0,-1;-1,0,-1;0,1,-1;0,-1,-1"
PAGES = {  # URL path (Home is the app's root) -> title
    "": "Cone Explorer",
    "build": "Build a cone",
    "steps": "Double description, step by step",
    "train": "Train live",
    "samples": "Samples",
    "vae": "Constrained VAE",
    "benchmark": "Benchmark",
    "polyhedra": "Polyhedra: A x ≤ b",
    "glossary": "Glossary",
}



# ------------------------------------------------------------------------------ helpers
def open_page(page, idle, url: str, title: str) -> None:
    """Go to ``url`` and wait for its first complete script run and its title."""
    page.goto(url)
    deadline = time.monotonic() + 90
    while page.st_runs < 1:  # a cold server (first torch import, ...) can take a while
        if time.monotonic() > deadline:
            raise TimeoutError(f"no script run finished for {url}")
        page.wait_for_timeout(50)
    idle(page, timeout=IDLE)
    expect(page.locator("h1").first).to_have_text(title, timeout=WAIT)


def url_param(page, name: str) -> str | None:
    values = parse_qs(urlsplit(page.url).query).get(name)
    return values[0] if values else None


def expect_param(page, name: str, value: str) -> None:
    """The address bar's parameter ``name`` becomes ``value`` (set by the run that changed it)."""
    deadline = time.monotonic() + WAIT / 1000
    while url_param(page, name) != value:
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} in the URL is {url_param(page, name)!r}, not {value!r}")
        page.wait_for_timeout(50)


def expect_A(page, text: str) -> None:
    expect_param(page, "A", text)


def expect_counts(page, **counts: int) -> None:
    """The Build page's metrics, e.g. ``expect_counts(page, rows=3, rays=0)``."""
    labels = {"d": "dimension d", "rows": "rows of A", "rays": "extreme rays", "lines": "lines"}
    for name, value in counts.items():
        metric = page.get_by_test_id("stMetric").filter(has_text=labels[name])
        expect(metric.get_by_test_id("stMetricValue")).to_have_text(str(value), timeout=WAIT)


def no_errors(page) -> None:
    assert page.get_by_test_id("stException").count() == 0
    assert page.js_errors == []


def choose_mode(page, idle, mode: str) -> None:
    page.get_by_test_id("stRadio").filter(has_text="Enter A by").get_by_text(
        mode, exact=True).click()
    idle(page, timeout=IDLE)


# ------------------------------------------------------------------------------ 1. every page
@pytest.mark.parametrize("path", list(PAGES), ids=[p or "home" for p in PAGES])
def test_every_page_loads_without_an_error(app_url, page, idle, path):
    outside = []  # the app must work with no network: nothing is fetched from elsewhere
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(
        (app_url, "data:", "blob:")) else None)
    open_page(page, idle, f"{app_url}/{path}", PAGES[path])
    expect(page.get_by_test_id("stMain").locator("h1")).to_have_count(1)
    no_errors(page)
    # The sidebar (explorer.shell draws it after the page) shows the cone and the share link,
    # also on pages that end early (the VAE page before training), and our page list.
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Current cone")).to_be_visible(timeout=WAIT)
    expect(sidebar.get_by_test_id("stPageLink")).to_have_count(len(PAGES))
    # Streamlit's own list of page files is off, so helper modules can never show as pages.
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    # The hosted configuration: no Deploy button, no developer menu.
    expect(page.get_by_role("button", name="Deploy")).to_have_count(0)
    assert not outside, outside


# ------------------------------------------------------------------------------ 2. build
def test_build_by_typing_in_the_table(app_url, page, idle):
    open_page(page, idle, f"{app_url}/build?A=1,-2;-3,1", "Build a cone")
    expect_counts(page, d=2, rows=2, rays=2, lines=0)
    grid = page.get_by_test_id("stDataFrame").first.get_by_test_id("data-grid-canvas")
    expect(grid).to_be_visible(timeout=WAIT)
    row_h = 35  # glide data grid: a header row and body rows of 35 px; x1 is the first column
    editor = page.locator("textarea.gdg-input")  # the grid's overlay cell editor

    def cell(row: int, col: int) -> tuple[float, float]:  # row 1 is the first body row
        # Where the grid is now: on a busy machine the page above it can still move after the
        # grid shows (a click at an old place missed every cell: a flake seen once under load).
        box = grid.bounding_box()
        return box["x"] + 34 + (col - 0.5) * 115, box["y"] + row * row_h + row_h / 2

    def type_into_cell(row: int, col: int, text: str) -> None:
        # Click selects, Enter opens the editor (a row just added has it open already); keys
        # typed before it is there are lost on a busy machine, so fill it once it is, then
        # commit with Enter.
        for _ in range(3):  # a click that lands while the page reruns is lost: click again
            if not editor.is_visible():
                page.mouse.click(*cell(row, col))
                page.keyboard.press("Enter")
            try:
                expect(editor).to_be_visible(timeout=WAIT // 3)
                break
            except AssertionError:
                idle(page, timeout=IDLE)
        expect(editor).to_be_visible(timeout=WAIT)
        editor.fill(text)
        editor.press("Enter")
        expect(editor).to_have_count(0, timeout=WAIT)
        idle(page, timeout=IDLE)

    # Overwrite a11 = 1 with 0: (0, -2), (-3, 1) is still a wedge with two rays.
    type_into_cell(1, 1, "0")
    expect_A(page, "0,-2;-3,1")
    expect_counts(page, rows=2, rays=2)

    # Click the empty row at the bottom: a new row, its cells blank (read as 0), the editor
    # open on its first cell.
    height = grid.bounding_box()["height"]
    page.mouse.click(*cell(3, 1))
    idle(page, timeout=IDLE)
    expect_A(page, "0,-2;-3,1;0,0")
    # The added row's rerun redraws the grid: wait until it has grown by a row before typing.
    deadline = time.monotonic() + WAIT / 1000
    while grid.bounding_box()["height"] < height + row_h - 2:
        assert time.monotonic() < deadline, "the table did not grow by a row"
        page.wait_for_timeout(50)
    type_into_cell(3, 1, "1")
    # (1, 0): x1 <= 0 with x2 >= 0 and x2 <= 3 x1 leaves only the origin.
    expect_A(page, "0,-2;-3,1;1,0")
    expect_counts(page, rows=3, rays=0, lines=0)
    expect(page.get_by_text("only the origin").first).to_be_visible(timeout=WAIT)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
    no_errors(page)


def test_build_by_pasting_text(app_url, page, idle):
    open_page(page, idle, f"{app_url}/build?A={PYRAMID}", "Build a cone")
    expect_counts(page, d=3, rows=4, rays=4)
    choose_mode(page, idle, "Text")
    area = page.get_by_role("textbox", name="Rows of A")
    expect(area).to_have_value(PYRAMID.replace(";", "\n"), timeout=WAIT)
    area.click()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.insert_text("1 -2\n-3 1")  # what a paste does: one input event
    expect(area).to_have_value("1 -2\n-3 1")
    page.keyboard.press("ControlOrMeta+Enter")  # a text area commits on Ctrl+Enter (or blur)
    idle(page, timeout=IDLE)
    expect_A(page, "1,-2;-3,1")
    expect_counts(page, d=2, rows=2, rays=2, lines=0)
    expect(page.get_by_test_id("stSidebar").get_by_text("d = 2 · 2 rays")).to_be_visible(
        timeout=WAIT)
    no_errors(page)


def test_build_from_a_preset(app_url, page, idle):
    open_page(page, idle, f"{app_url}/build?A=1,-2;-3,1", "Build a cone")
    expect_counts(page, d=2, rows=2, rays=2, lines=0)
    choose_mode(page, idle, "Preset")
    box = page.get_by_role("combobox", name="Preset")
    expect(box).to_be_visible(timeout=WAIT)
    box.click()
    page.get_by_role("option", name="Wedge times a line").click()
    idle(page, timeout=IDLE)
    expect(box).to_have_value("Wedge times a line", timeout=WAIT)
    expect(page.get_by_text("extended along the free z axis")).to_be_visible(timeout=WAIT)
    page.get_by_role("button", name="Use this preset").click()
    idle(page, timeout=IDLE)
    expect_A(page, "1,-2,0;-3,1,0")
    expect_counts(page, d=3, rows=2, rays=2, lines=1)
    no_errors(page)


def test_downloads_are_made_on_click_and_survive_reruns(app_url, page, idle):
    """The Build page's files are made when clicked (no eager file for the browser to fetch on
    every render, which a rerun could delete first: a 404 in the console)."""
    import conecore as cc

    console, missing = [], []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    fetched = []  # media other than the tab's icon (explorer/favicon.png, served as media)
    page.on("request", lambda r: fetched.append(r.url)
            if urlsplit(r.url).path.startswith("/media/")
            and not urlsplit(r.url).path.endswith(".png") else None)
    open_page(page, idle, f"{app_url}/build?A={PYRAMID}", "Build a cone")
    choose_mode(page, idle, "Text")
    area = page.get_by_role("textbox", name="Rows of A")
    for text in ("1,0,-1;-1,0,-1;0,1,-1", PYRAMID):  # reruns that change every file
        area.fill(text.replace(";", "\n"))
        area.press("ControlOrMeta+Enter")
        idle(page, timeout=IDLE)
        expect_A(page, text)
    assert fetched == []  # nothing fetched before a click
    with page.expect_download(timeout=WAIT) as info:
        page.get_by_role("button", name=".ine").click()
    path = info.value.path()
    with open(path) as f:
        rows = cc.parse_matrix(PYRAMID.replace(";", "\n"))
        assert f.read() == cc.to_ine(cc.Cone.from_inequalities(rows))
    assert info.value.suggested_filename == "cone.ine"
    expect_counts(page, d=3, rows=4, rays=4)  # no rerun replaced the page
    assert not [m for m in console if "source error" in m], console
    # Streamlit's frontend probes a deep link's own path first (/build/_stcore/...): 404s by
    # design. Nothing under /media/ may be missing.
    assert not [u for u in missing if urlsplit(u).path.startswith("/media/")], missing
    no_errors(page)


# ------------------------------------------------------------------------------ 3. 3-D view
def test_the_3d_view_renders(app_url, page, idle):
    open_page(page, idle, f"{app_url}/build?A={PYRAMID}", "Build a cone")
    expect_counts(page, d=3, rows=4, rays=4, lines=0)
    chart = page.get_by_test_id("stPlotlyChart").first
    expect(chart.locator(".js-plotly-plot .gl-container").first).to_be_attached(timeout=WAIT)
    expect(chart.locator("canvas").first).to_be_visible(timeout=WAIT)
    assert chart.get_by_text("WebGL is not supported").count() == 0
    no_errors(page)


# ------------------------------------------------------------------------------ 4. train live
STEP_TEXT = re.compile(r"step (\d+) of (\d+)")


def _step(page) -> int:
    text = page.get_by_test_id("stProgress").first.inner_text()
    match = STEP_TEXT.search(text)
    assert match, text
    return int(match.group(1))


def test_train_live_plays_and_pauses(app_url, page, idle):
    open_page(page, idle, f"{app_url}/train?A=1,-2;-3,1", "Train live")
    page.get_by_role("button", name=re.compile(r"Play$")).click()
    progress = page.get_by_test_id("stProgress").first
    expect(progress).to_contain_text("step", timeout=60_000)
    first = _step(page)
    deadline = time.monotonic() + 60
    while _step(page) <= first or _step(page) < 20:
        assert time.monotonic() < deadline, f"the step count stayed at {_step(page)}"
        page.wait_for_timeout(100)
    loss = page.get_by_test_id("stPlotlyChart").filter(has_text="training loss")
    expect(loss.locator(".scatterlayer .trace").first).to_be_attached(timeout=WAIT)
    expect(page.get_by_text("never left the cone")).to_be_visible(timeout=WAIT)

    page.get_by_role("button", name=re.compile(r"Pause$")).click()
    expect(page.get_by_role("button", name=re.compile(r"Play$"))).to_be_enabled(timeout=WAIT)
    idle(page, timeout=IDLE)
    expect(page.get_by_role("button", name=re.compile(r"Pause$"))).to_be_disabled(timeout=WAIT)
    paused = _step(page)
    assert paused > first
    # Stopped: no fragment tick for twice as long as a tick takes under load.
    until = time.monotonic() + 3
    while time.monotonic() < until:
        assert _step(page) == paused
        page.wait_for_timeout(200)
    no_errors(page)



def test_train_live_on_a_polyhedron_from_the_link(app_url, page, idle):
    """?train_set=polyhedron&train_poly=triangle: the choice comes from the link, a step draws the
    PolyhedronLayer's outputs over the shaded triangle, and choosing "cone" drops the choice from
    the link and says the run on screen is still the triangle's."""
    open_page(page, idle, f"{app_url}/train?A=1,-2;-3,1&train_set=polyhedron&train_poly=triangle",
              "Train live")
    main, sidebar = page.get_by_test_id("stMainBlockContainer"), page.get_by_test_id("stSidebar")
    expect(main.get_by_text("Polyhedron: Triangle")).to_be_visible(timeout=WAIT)
    # the sidebar says the page uses the polyhedron, not the cone it lists as current
    expect(sidebar.get_by_text("This page uses a polyhedron")).to_be_visible(timeout=WAIT)
    page.get_by_role("button", name="Step", exact=True).click()
    idle(page, timeout=IDLE)
    expect(page.get_by_text("never left the polyhedron")).to_be_visible(timeout=WAIT)
    outputs = page.get_by_test_id("stPlotlyChart").filter(has_text="vertices")  # the polygon's
    expect(outputs.locator(".legendtext", has_text="the polyhedron")).to_be_visible(timeout=WAIT)
    expect(outputs.locator(".legendtext", has_text=re.compile("^PolyhedronLayer$"))).to_be_visible(
        timeout=WAIT)
    expect(outputs.locator(".legendtext", has_text="unconstrained: outside")).to_be_visible(
        timeout=WAIT)
    page.get_by_test_id("stRadio").get_by_text("cone", exact=True).click()
    idle(page, timeout=IDLE)
    expect_param(page, "train_set", None)  # the default is dropped from the link
    expect(page.get_by_text("The constraint set changed")).to_be_visible(timeout=WAIT)
    expect(sidebar.get_by_text("This page uses a polyhedron")).to_have_count(0, timeout=WAIT)
    no_errors(page)

# ------------------------------------------------------------------------------ 5. VAE
def test_vae_trains_an_epoch(app_url, page, idle):
    open_page(page, idle, f"{app_url}/vae", "Constrained VAE")
    epochs = page.get_by_label("Epochs per run")
    expect(epochs).to_be_visible(timeout=WAIT)
    epochs.fill("1")
    epochs.press("Enter")
    idle(page, timeout=IDLE)
    train = page.get_by_role("button", name="Train 1 epoch", exact=True)
    expect(train).to_be_visible(timeout=WAIT)
    train.click()
    metrics = page.get_by_test_id("stMetric").filter(has_text="samples meeting the constraint")
    expect(metrics).to_have_count(3, timeout=120_000)
    idle(page, timeout=IDLE)
    cone_layer = page.get_by_test_id("stColumn").filter(
        has=page.get_by_text("ConeLayer decoder", exact=True)).filter(has=metrics)
    expect(cone_layer.get_by_test_id("stMetricValue")).to_have_text("100%", timeout=WAIT)
    expect(page.get_by_text("After 1 epoch", exact=True)).to_be_visible(timeout=WAIT)
    for title in ("ConeLayer decoder", "unconstrained decoder",
                  "unconstrained + test-time projection"):
        column = page.get_by_test_id("stColumn").filter(
            has=page.get_by_text(title, exact=True)).filter(has=metrics)
        expect(column.get_by_test_id("stImage")).to_be_visible(timeout=WAIT)
    # ... and the reconstructions (the painted cone's rays are in a closed expander).
    expect(page.locator("[data-testid='stImage']:visible")).to_have_count(4, timeout=WAIT)
    no_errors(page)


def test_vae_painting_link(app_url, page, idle):
    # Typed by hand, "+" in a query means " ": the page still reads the marks.
    open_page(page, idle, f"{app_url}/vae?paint=++++_----_++++_....", "Constrained VAE")
    expect(page.get_by_text(re.compile(r"The painted cone: 12 rows of A"))).to_be_visible(
        timeout=WAIT)
    expect(page.get_by_text("The link's painting")).to_have_count(0)
    expect_param(page, "paint", "++++_----_++++_....")  # written back encoded (%2B)
    no_errors(page)


# ------------------------------------------------------------------------------ 6. classroom
def test_classroom_link_on_the_steps_page(app_url, page, idle):
    open_page(page, idle, f"{app_url}/steps?A={PYRAMID}&dd_step=2&controls=hide",
              "Double description, step by step")
    expect(page.get_by_text(re.compile(r"^Step 2: add a2"))).to_be_visible(timeout=WAIT)
    expect(page.get_by_label("Order of the constraints (row numbers)")).to_have_count(0)
    assert page.get_by_test_id("stTextInput").count() == 0
    assert url_param(page, "controls") == "hide"
    no_errors(page)

"""Any screen, any theme (issue 17): the app follows a dark system setting, draws its icons
with Streamlit's Material font (no emoji boxes), and an 800 px window starts with the sidebar
closed and cuts no label, button, formula or table on any page. Screenshots of each go to
test-artifacts/ for a person to look at (``python -m scripts.screens`` takes every page at
800 and 1400 px, light and dark)."""

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


# ------------------------------------------------------------------ 800 px, every page
A3 = "1,0,-1;-1,0,-1;0,1,-1;0,-1,-1"  # a 3-D cone: Build shows its two toggles
A5 = "-1,0,0,0,0;0,-1,0,0,0;0,0,-1,0,0;0,0,0,-1,0;0,0,0,0,-1;1,1,1,1,-1"  # 5 columns
NARROW_PAGES = {  # screenshot name: path (every page, and Build's table, toggles and drawing)
    "home": "/",
    "build-3d": f"/build?A={A3}",
    "build-5d": f"/build?A={A5}",
    "build-draw": "/build?build_mode=Draw+(2-D)&A=1,-2;-3,1",
    "steps": f"/steps?A={A3}",
    "train": "/train?A=1,-2;-3,1",
    "samples": "/samples?A=1,-2;-3,1",
    "vae": "/vae",
    "benchmark": "/benchmark?A=1,-2;-3,1",
    "polyhedra": "/polyhedra",
    "glossary": "/glossary",
}

# Text whose box is narrower than its content (an ellipsis "dime…", a clipped label, a formula
# or a table that scrolls sideways), in the main area: labels, metric labels, link labels,
# button labels, display formulas, and the grid of tables and editors; with all they contain.
CUT_TEXT_JS = """() => {
  const kinds = ["[data-testid=stMetricLabel]", "[data-testid=stWidgetLabel]",
                 "[data-testid=stPageLink]", "[data-testid=stButton] button",
                 "[data-testid=stDownloadButton] button", "[data-testid=stCheckbox]",
                 "[data-testid=stRadio]", ".katex-display", ".dvn-scroller"];
  const main = document.querySelector("[data-testid=stMain]");
  const cut = [];
  for (const kind of kinds) {
    for (const box of main.querySelectorAll(kind)) {
      for (const el of [box, ...box.querySelectorAll("*")]) {
        // Only boxes that clip (hidden, auto, scroll); 1-px boxes are screen-reader text.
        if (el.clientWidth >= 8 && el.scrollWidth > el.clientWidth + 1 &&
            getComputedStyle(el).overflowX !== "visible") {
          cut.push(`${kind}: "${(box.innerText || "").trim().slice(0, 40)}" ` +
                   `(${el.scrollWidth} px in ${el.clientWidth})`);
          break;
        }
      }
    }
  }
  return cut;
}"""

SIDEBAR_CLOSED_JS = """() => {
  const s = document.querySelector("[data-testid=stSidebar]");
  return s !== null && s.getBoundingClientRect().right <= 0;
}"""


def _settled(page, timeout: float = 60_000) -> None:
    """The page's runs are over (the first, and the one the window's width asks for)."""
    page.wait_for_selector(NOT_RUNNING_SEL, state="attached", timeout=timeout)
    page.wait_for_timeout(400)
    page.wait_for_selector(NOT_RUNNING_SEL, state="attached", timeout=timeout)


NOT_RUNNING_SEL = "[data-testid='stApp'][data-test-script-state='notRunning']"


def _full_screenshot(page, path) -> None:
    """The whole page: Streamlit scrolls inside its main area, so the window is made as tall
    as the page for the picture, then put back."""
    size = page.viewport_size
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(max(height, 900), 6000)})
    page.wait_for_timeout(300)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def test_at_800px_the_sidebar_starts_closed_and_no_label_is_cut(app_url, browser):
    """Issue 17: at 800 px the sidebar kept 300 px and labels, tables and the drawing were cut.
    Now a window under 1200 px starts with the sidebar closed, the page gets the whole width,
    and on every page no label, button, formula or table is cut; a screenshot of each goes to
    test-artifacts/w800-<page>.png."""
    from tests.browser.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 800, "height": 900})
    page = context.new_page()
    problems = {}
    try:
        for name, path in NARROW_PAGES.items():
            page.goto(f"{app_url}{path}")
            # The browser reports a narrow window once the first run is drawn; the page runs
            # again with the sidebar closed.
            page.wait_for_function(SIDEBAR_CLOSED_JS, timeout=90_000)
            _settled(page)
            assert page.locator("[data-testid='stException']").count() == 0, name
            main = page.get_by_test_id("stMain").bounding_box()
            assert main["x"] >= 0 and main["width"] >= 790, (name, main)  # the whole window
            cut = page.evaluate(CUT_TEXT_JS)
            if name == "build-draw":
                svg = page.locator(".d2d svg").bounding_box()
                if svg is None or svg["width"] < 300:
                    cut.append(f"the drawing is {svg and svg['width']} px wide")
            if cut:
                problems[name] = cut
            _full_screenshot(page, ARTIFACTS / f"w800-{name}.png")
        # The sidebar is a click away, and a window made wide again gets it back by itself.
        expect(page.get_by_test_id("stExpandSidebarButton")).to_be_visible()
        page.set_viewport_size({"width": 1400, "height": 900})
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_test_id("stPageLink").first).to_be_in_viewport(timeout=WAIT)
        _settled(page)
        box, main = sidebar.bounding_box(), page.get_by_test_id("stMain").bounding_box()
        assert box["x"] + box["width"] <= main["x"] + 1  # beside the page, not over it
    finally:
        context.close()
    assert not problems, problems


def test_only_a_narrow_window_costs_a_second_run(app_url, browser):
    """The width report reruns the page once where it closes the sidebar (800 px); a wide
    window and a phone (Streamlit closes the sidebar itself at 768 px and below) run it once."""
    from tests.browser.conftest import _follow_script_runs

    for width, runs in ((700, 1), (1400, 1), (800, 2)):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        try:
            _follow_script_runs(page)
            page.goto(f"{app_url}/glossary")
            expect(page.locator("h1").first).to_have_text("Glossary", timeout=WAIT)
            if width < 1200:  # closed: by Streamlit itself (700), or after the report (800)
                page.wait_for_function(SIDEBAR_CLOSED_JS, timeout=60_000)
            page.wait_for_timeout(2000)  # time for a report that should not come, and its run
            _settled(page)
            for _ in range(100):  # the last run's "finished" message may trail the page by a bit
                if page.st_runs >= runs:
                    break
                page.wait_for_timeout(100)
            assert page.st_runs == runs, (width, page.st_runs)
            assert page.evaluate(SIDEBAR_CLOSED_JS) == (width < 1200), width
        finally:
            context.close()

"""Screenshots of every page at 800 and 1400 px wide, light and dark, for a person to look at
(a script, not a test: tests/browser/test_screens_in_browser.py asserts what a browser can).

Each page is shown after what it is for: Train live after three steps, Samples and the
Constrained VAE after training, the Benchmark after a run; Build also with a 5-D cone and with
the drawing. The pictures are whole pages (the window is made as tall as the page).

Usage (from the repository root; Debian's chromium and playwright, as for the browser tests):
    .venv/bin/python -m scripts.screens [--out test-artifacts/screens] [--widths 800,1400]
        [--schemes light,dark] [--only build,vae] [--no-actions]
It prints one line per picture (and how many exception boxes the page showed) and takes about
eight minutes for the 4 x 16 pictures on a 2-core machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from scripts.harness import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, Server, wait_healthy

A3 = "1,0,-1;-1,0,-1;0,1,-1;0,-1,-1"
A5 = "-1,0,0,0,0;0,-1,0,0,0;0,0,-1,0,0;0,0,0,-1,0;0,0,0,0,-1;1,1,1,1,-1"
PAGES = {  # picture name: (path, buttons to press in turn before the picture)
    "home": ("/", ()),
    "build": (f"/build?A={A3}", ()),
    "build-2d": ("/build?A=1,-2;-3,1", ()),
    "build-5d": (f"/build?A={A5}", ()),
    "build-draw": ("/build?build_mode=Draw+(2-D)&A=1,-2;-3,1", ()),
    "steps": (f"/steps?A={A3}", ()),
    "train": (f"/train?A={A3}", ("Step", "Step", "Step")),
    "train-2d": ("/train?A=1,-2;-3,1", ("Step", "Step", "Step")),
    "samples": (f"/samples?A={A3}", ("Train both decoders and animate",)),
    "samples-2d": ("/samples?A=1,-2;-3,1", ("Train both decoders and animate",)),
    "vae": ("/vae", ("Train 10 epochs",)),
    "benchmark": (f"/benchmark?A={A3}", ("Run the benchmark",)),
    "polyhedra": ("/polyhedra", ()),
    "glossary": ("/glossary", ()),
    "lesson": ("/steps?lesson=6", ()),  # a lesson step: its banner, the teacher's controls
    "student": ("/steps?lesson=6&controls=hide", ()),  # the same step as students see it
}
NOT_RUNNING = "[data-testid='stApp'][data-test-script-state='notRunning']"
SIDEBAR_CLOSED = """() => {
  const s = document.querySelector("[data-testid=stSidebar]");
  return s !== null && s.getBoundingClientRect().right <= 0;
}"""


def settle(page, timeout_ms: int = 180_000) -> None:
    """Until the page's script runs are over (one started by a click may start late)."""
    page.wait_for_timeout(1_000)
    page.wait_for_selector(NOT_RUNNING, state="attached", timeout=timeout_ms)
    page.wait_for_timeout(1_000)
    page.wait_for_selector(NOT_RUNNING, state="attached", timeout=timeout_ms)


def shoot(page, url: str, buttons: tuple[str, ...], path: Path, narrow: bool) -> int:
    page.goto(url)
    page.wait_for_selector(NOT_RUNNING, state="attached", timeout=180_000)
    if narrow:  # the browser says the window is narrow; the page runs again, sidebar closed
        page.wait_for_function(SIDEBAR_CLOSED, timeout=90_000)
    settle(page)
    for label in buttons:
        page.get_by_role("button", name=label).first.click()
        settle(page)
    size = page.viewport_size
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(max(height, 900), 8000)})
    page.wait_for_timeout(1_200)  # Plotly redraws at the new size
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    return page.locator("[data-testid='stException']").count()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ARTIFACTS / "screens")
    ap.add_argument("--widths", default="800,1400")
    ap.add_argument("--schemes", default="light,dark")
    ap.add_argument("--only", default="", help="comma-separated picture names (default: all)")
    ap.add_argument("--no-actions", action="store_true", help="press no button")
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or list(PAGES)
    args.out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    from explorer.viewport import NARROW_BELOW

    server = Server()
    t0 = time.monotonic()
    try:
        wait_healthy(server.url, 120, server)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for scheme in args.schemes.split(","):
                for width in (int(w) for w in args.widths.split(",")):
                    context = browser.new_context(viewport={"width": width, "height": 900},
                                                  color_scheme=scheme)
                    page = context.new_page()
                    for name in names:
                        path, buttons = PAGES[name]
                        png = args.out / f"{name}-{width}-{scheme}.png"
                        errors = shoot(page, server.url + path,
                                       () if args.no_actions else buttons, png,
                                       narrow=width < NARROW_BELOW)
                        print(f"{png}: {errors} exception box(es)", flush=True)
                    context.close()
            browser.close()
    finally:
        server.stop()
    print(f"{time.monotonic() - t0:.0f} s")


if __name__ == "__main__":
    main()

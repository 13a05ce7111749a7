"""Measure two speeds of the Build-a-cone page (a script, not a test: numbers go in the README).

1. Server time to re-render after editing one entry of a 3 x 3 A (AppTest, median of 15 runs).
2. Seconds from `streamlit run` to the first page being interactive in Chromium (Debian's).

Usage (from the repository root): .venv/bin/python -m scripts.measure_page
"""

from __future__ import annotations

import statistics
import time

from scripts.harness import CHROMIUM, CHROMIUM_ARGS, ROOT, Server, wait_healthy


def rerun_ms(repeat: int = 15) -> float:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["A"] = "1,0,-1;0,1,-1;-1,-1,-1"
    at.run()
    at.switch_page("pages/build.py").run()
    at.radio(key="build_mode").set_value("Text").run()
    times = []
    for i in range(repeat):
        at.text_area(key="text_area").input(f"1 0 -1\n0 1 -1\n-1 -1 -{i % 5 + 1}")
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1e3)
        assert not at.exception
    return statistics.median(times)


def first_page_seconds() -> float:
    from playwright.sync_api import sync_playwright

    t0 = time.perf_counter()
    server = Server()
    try:
        wait_healthy(server.url, 120, server, poll=0.05)
        print(f"  server healthy after {time.perf_counter() - t0:.1f} s")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            t_nav = time.perf_counter()
            print(f"  browser ready after {t_nav - t0:.1f} s")
            page.goto(f"{server.url}/")
            print(f"  page loaded (DOM) after {time.perf_counter() - t0:.1f} s")
            page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(
                timeout=60000)
            page.get_by_text("Cone Explorer").first.wait_for(timeout=60000)
            elapsed = time.perf_counter() - t0
            browser.close()
        return elapsed
    finally:
        server.stop()


if __name__ == "__main__":
    print(f"re-render after editing one entry of a 3 x 3 A: {rerun_ms():.0f} ms (median of 15)")
    print(f"streamlit run -> first page interactive: {first_page_seconds():.1f} s")

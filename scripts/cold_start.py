"""Cold start: seconds from `streamlit run` to the first page interactive in Chromium, for this
app's Home and for a title-only Streamlit app, alternated in the same run (issue 15's goal: within
1.3 x the title-only app). A script, not a test: the numbers go in the README.

Usage: python -m scripts.cold_start [--repeat 3]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TITLE_ONLY = 'import streamlit as st\n\nst.title("Cone Explorer")\n'


def first_page_seconds(script: Path, cwd: Path, extra: tuple[str, ...] = ()) -> float:
    """`streamlit run script` until the page has finished its first run and shows its title."""
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with sync_playwright() as pw:  # the browser starts before the clock: it is not the app's
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--no-sandbox", "--disable-gpu",
                                           "--disable-background-networking"])
        page = browser.new_page()
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script),
                                 "--server.headless", "true", "--server.port", str(port),
                                 "--browser.gatherUsageStats", "false", *extra], cwd=cwd,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health") as r:
                        if r.read() == b"ok":
                            break
                except OSError:
                    time.sleep(0.02)
            page.goto(f"http://127.0.0.1:{port}/")
            page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(
                timeout=60000)
            page.locator("h1").get_by_text("Cone Explorer").first.wait_for(timeout=60000)
            return time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("extra", nargs="*", help="more `streamlit run` options, for both apps "
                        "(after --, e.g. -- --server.fileWatcherType none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        title_app = Path(tmp) / "title_only.py"
        title_app.write_text(TITLE_ONLY)
        ours, plain = [], []
        for _ in range(args.repeat):
            plain.append(first_page_seconds(title_app, Path(tmp), tuple(args.extra)))
            ours.append(first_page_seconds(ROOT / "app.py", ROOT, tuple(args.extra)))
    a, b = statistics.median(ours), statistics.median(plain)
    print(f"title-only app: {', '.join(f'{t:.2f}' for t in plain)} s (median {b:.2f} s)")
    print(f"Cone Explorer:  {', '.join(f'{t:.2f}' for t in ours)} s (median {a:.2f} s)")
    print(f"ratio: {a / b:.2f} (goal <= 1.3)")


if __name__ == "__main__":
    main()

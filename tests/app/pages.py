"""Open a page of the app in AppTest the way a browser does: the app's entry (Home, with the
link's query string), then the page's own file, as ``/build`` runs ``pages/build.py``."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


def open_page(page: str = "home", *, timeout: float = 120, check: bool = True,
              **params: str) -> AppTest:
    """``page`` is a name of ``explorer.shell.PAGES`` (``"build"``, ``"steps"``, ...)."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    if page != "home":
        at.switch_page(f"pages/{page}.py").run()
    if check:
        assert not at.exception, [e.value for e in at.exception]
    return at

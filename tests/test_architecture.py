"""The house's floors: the app (app.py, pages/) over its shared UI code (explorer/) over the
library (conecore/), with nothing pointing back up, and no Streamlit internals anywhere.

Read from the source (every import statement, at any depth), so a lazy import inside a function
counts as much as one at the top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The Streamlit a page may use: its documented top-level API and the testing/components APIs.
PUBLIC_STREAMLIT = {"streamlit", "streamlit.components.v1", "streamlit.components.v2"}
PLAIN_EXPLORER = {"limits", "lessons", "pacing"}  # app policy, but no drawing: no Streamlit


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names; ``from x import y`` gives x and x.y)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def floor(module: str) -> str | None:
    top = module.split(".")[0]
    return {"conecore": "library", "explorer": "ui", "pages": "app", "app": "app"}.get(top)


@pytest.mark.parametrize("path", files("conecore"), ids=lambda p: p.name)
def test_the_library_imports_neither_streamlit_nor_the_app(path):
    bad = {m for m in imports(path) if m.split(".")[0] in ("streamlit", "explorer", "pages")}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", [ROOT / "app.py", *files("pages"), *files("explorer")],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_app_uses_only_public_streamlit_and_never_imports_pages(path):
    found = imports(path)
    internals = {m for m in found if m.startswith("streamlit.")
                 and not any(m == p or m.startswith(p + ".") for p in PUBLIC_STREAMLIT)}
    assert not internals, f"{path.relative_to(ROOT)} imports Streamlit internals {internals}"
    assert not {m for m in found if m.split(".")[0] == "pages"}, \
        "nothing imports a page: shared code lives in explorer/"
    if path.parent.name == "explorer":
        assert not {m for m in found if floor(m) == "app"}


@pytest.mark.parametrize("name", sorted(PLAIN_EXPLORER))
def test_the_plain_parts_of_explorer_import_no_streamlit(name):
    found = imports(ROOT / "explorer" / f"{name}.py")
    assert not {m for m in found if m.split(".")[0] == "streamlit"}


def test_every_file_in_pages_is_a_page_run_in_the_shell():
    """Streamlit makes every file in pages/ a page: no helpers there, and each page runs in
    explorer.shell.page (config, the session's cone, the navigation, the sidebar)."""
    from explorer.shell import PAGES

    listed = {p.file for p in PAGES}
    present = {str(p.relative_to(ROOT)) for p in (ROOT / "pages").iterdir()
               if p.name != "__pycache__"}
    assert present == listed - {"app.py"}
    for file in [*listed]:
        source = (ROOT / file).read_text()
        name = next(p.name for p in PAGES if p.file == file)
        assert f'with shell.page("{name}"):' in source, file


def test_the_detector_sees_lazy_and_from_imports(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from streamlit.runtime import x\n    import pages.build\n")
    assert {"streamlit.runtime", "streamlit.runtime.x", "pages.build"} <= imports(probe)

"""What a visitor of the hosted demo can and cannot reach (issue 14, items 8 and 9)."""

from __future__ import annotations

import tomllib

from tests.app.pages import ROOT


def test_the_hosted_configuration_shows_no_tracebacks_and_no_developer_menu():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
    assert config["client"]["toolbarMode"] == "viewer"
    assert config["client"]["showSidebarNavigation"] is False


def test_only_make_run_turns_on_server_files():
    """Reading paths on the server is opt-in: `make run` (local) sets the variable; nothing in
    the hosted configuration does."""
    makefile = (ROOT / "Makefile").read_text()
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "CONE_EXPLORER_SERVER_FILES=1" in run
    for hosted in ("requirements.txt", "packages.txt", ".streamlit/config.toml"):
        assert "CONE_EXPLORER_SERVER_FILES" not in (ROOT / hosted).read_text()


def test_the_vae_folder_field_appears_only_when_turned_on(monkeypatch):
    from tests.app.pages import open_page

    def folder_fields(at):
        return [t for t in at.text_input if t.key == "vae_mnist_folder"]

    monkeypatch.delenv("CONE_EXPLORER_SERVER_FILES", raising=False)
    assert not folder_fields(open_page("vae", vae_source="mnist"))
    monkeypatch.setenv("CONE_EXPLORER_SERVER_FILES", "1")
    assert folder_fields(open_page("vae", vae_source="mnist"))


def test_too_many_uploaded_files_are_refused_by_count():
    from tests.app.pages import open_page

    at = open_page("vae", vae_source="mnist")
    uploader = at.get("file_uploader")
    assert uploader, "the MNIST uploader is on the page"
    uploader = at.file_uploader(key="vae_mnist_files")
    for i in range(5):  # each upload() adds one file to a multiple-file uploader
        uploader.upload(f"f{i}.idx", b"\0\0\x08\x01\0\0\0\x01\x07")
    uploader.run()
    assert any("5 files were uploaded; at most 4" in e.value for e in at.error)


def test_a_page_waits_for_a_heavy_import_another_session_has_begun(monkeypatch):
    """Thirty first visitors: a module in sys.modules may be half-imported by another thread;
    warm_up waits for that import's lock instead of using the half module."""
    import sys
    import threading
    import time

    from explorer import shell

    name = "pandas"
    monkeypatch.setattr(shell, "_IMPORTED", set())
    lock = shell._IMPORT_LOCKS[name]
    assert name in sys.modules  # as for a module another thread has begun importing
    done = []
    lock.acquire()
    try:
        t = threading.Thread(target=lambda: (shell.warm_up((name,)), done.append(True)))
        t.start()
        time.sleep(0.2)
        assert not done  # it waits for the importing thread
    finally:
        lock.release()
    t.join(5)
    assert done and name in shell._IMPORTED

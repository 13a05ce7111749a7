"""What a frame from the Streamlit server says about script runs: shared by the browser tests'
harness (tests/browser/conftest.py) and the browser load test (scripts/load_test.py)."""

from __future__ import annotations

from typing import Any

BUSY, FINISHED, FRAGMENT_FINISHED = "busy", "finished", "fragment_finished"


def run_event(payload: Any) -> str | None:
    """``BUSY`` for a run's first messages (``new_session``, ``delta``), ``FINISHED`` or
    ``FRAGMENT_FINISHED`` for its ``script_finished``, and None for anything else: other
    messages, frames that are not a ForwardMsg, and a run stopped early for a rerun (another
    run follows at once, so the app is not idle)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    try:
        msg = ForwardMsg.FromString(payload if isinstance(payload, bytes) else payload.encode())
    except Exception:
        return None
    kind = msg.WhichOneof("type")
    if kind in ("new_session", "delta"):
        return BUSY
    if kind != "script_finished" or msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
        return None
    if msg.script_finished == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
        return FRAGMENT_FINISHED
    return FINISHED

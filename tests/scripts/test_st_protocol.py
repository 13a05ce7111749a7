"""scripts.harness.run_event: what a server frame says about script runs (the browser tests'
harness and the load test wait on it)."""

from __future__ import annotations

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from scripts.harness import BUSY, FINISHED, FRAGMENT_FINISHED, run_event


def frame(**fields) -> bytes:
    msg = ForwardMsg()
    for name, value in fields.items():
        if name == "script_finished":
            msg.script_finished = value
        else:
            getattr(msg, name).SetInParent()
    return msg.SerializeToString()


def test_runs_start_finish_and_chain():
    assert run_event(frame(new_session=True)) == BUSY
    assert run_event(frame(delta=True)) == BUSY
    assert run_event(frame(script_finished=ForwardMsg.FINISHED_SUCCESSFULLY)) == FINISHED
    assert run_event(frame(
        script_finished=ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)) == FRAGMENT_FINISHED
    # Stopped early for a rerun: another run follows at once, so the app is not idle yet.
    assert run_event(frame(script_finished=ForwardMsg.FINISHED_EARLY_FOR_RERUN)) is None


def test_other_frames_say_nothing():
    assert run_event(frame(auto_rerun=True)) is None
    assert run_event(b"\xff\xff not a protobuf") is None
    assert run_event("text frame") is None

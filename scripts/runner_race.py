"""Streamlit's lost-run race, on demand: a fragment tick that cuts off a click's page run.

In a class of thirty (``scripts/class_load.py``) about one run in three lost one click: the
click's page run started (``new_session``) and never ended (no ``script_finished``), and a
fragment run followed. The cause is in Streamlit 1.67 (``streamlit/runtime/``):

- A session's scripts run in a ``ScriptRunner`` thread that runs every request that reaches
  it while it works, then stops: ``ScriptRequests.on_scriptrunner_ready`` turns its state to
  STOP when none is pending (``scriptrunner_utils/script_requests.py`` line 515).
- Its messages (``new_session``, elements, ``script_finished``) travel as callbacks through
  the server's event loop (``AppSession._on_scriptrunner_event``, ``call_soon_threadsafe``,
  ``app_session.py`` line 978), which on a busy server runs well behind the script threads.
- A fragment's tick (``rerun_script`` with a ``fragment_id``) goes to the current runner
  (``AppSession.request_rerun``: ``self._scriptrunner.request_rerun(rerun_data)``, line 711);
  once that runner has stopped, the request fails (``_request_rerun_locked``: ``if
  self._state == STOP: return False``, script_requests.py line 332) and ``request_rerun``
  makes a new runner for the tick (line 718).
- From then on every event of the old runner that the loop has not handled yet is dropped
  (``AppSession._handle_scriptrunner_event_on_event_loop``: ``if sender is not
  self._scriptrunner: ... ignore it``, line 1063), its ``script_finished`` too.

So a tick that the loop handles after the click's run ended, but before the loop passed that
run's last messages on, makes the click's run end nowhere. Streamlit guards against this only
when the tick's fragment is gone (``request_rerun``'s ``has_fragment`` check, line 666, from
streamlit#9921). A busy server makes the window; this script makes it every time: the server
it starts holds a tick that the client marked (``RACE_FORCE`` in the tick's cached-message
hashes) on the event loop until the runner in front of it has stopped, as a loop running
behind would. It also writes to its log each runner event that Streamlit dropped
(``class_load.py --watch`` starts this server and counts them).

Usage (from the repository root):
    .venv/bin/python -m scripts.runner_race                # Train live: Play and Pause, raced
    .venv/bin/python -m scripts.runner_race --tiny         # the same race in a ten-line app
    .venv/bin/python -m scripts.runner_race run app.py ... # a server with the watch (harness)

The Train live scenario presses Play and at once sends a tick of the new timer (it arrives
while Play's run works), ticks for a second, then presses Pause and at once sends a tick of
the old timer. Exit status 0 when both clicks' runs finished, 1 when one was lost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from scripts.harness import (
    PAUSE,
    PLAY,
    RACE_CUT,
    RACE_DROPPED,
    RACE_FORCE,
    RACE_HELD,
    Client,
    Server,
    cone_for,
    race_counts,
    wait_healthy,
)

TINY_APP = '''import time
import streamlit as st

st.session_state.setdefault("clicks", 0)


def click():
    st.session_state.clicks += 1
    time.sleep(0.2)  # a page run that takes a moment, as on a busy server


st.button("Click", on_click=click)


@st.fragment(run_every=0.5)
def live():
    st.write(f"tick {time.time():.3f}")


live()
st.write(f"clicks: {st.session_state.clicks}")
'''


# ---------------------------------------------------------------------- the server side
def install() -> None:
    """Patch this process's Streamlit: hold marked ticks, log cut runners and dropped events.
    (Streamlit internals on purpose: this is a probe, never imported by the app.)"""
    from streamlit.runtime import app_session
    from streamlit.runtime.scriptrunner import ScriptRunnerEvent
    from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType

    session_cls = app_session.AppSession
    request_rerun = session_cls.request_rerun
    handle_event = session_cls._handle_scriptrunner_event_on_event_loop

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    def stopped(runner) -> bool:
        return runner is None or runner._requests._state == ScriptRequestType.STOP

    def held_request_rerun(self, client_state=None):
        tick = client_state is not None and bool(client_state.fragment_id)
        if tick and RACE_FORCE in client_state.cached_message_hashes:
            t0 = time.monotonic()
            while not stopped(self._scriptrunner) and time.monotonic() - t0 < 60:
                time.sleep(0.002)  # the event loop is held, as a busy one would be
            log(f"{RACE_HELD} a tick {time.monotonic() - t0:.3f} s until the run in front ended")
        before = self._scriptrunner
        request_rerun(self, client_state)
        if tick and before is not None and self._scriptrunner is not before:
            log(f"{RACE_CUT} for a tick: the runner before it had stopped")

    def watched_event(self, sender, event, *args, **kwargs):
        if sender is not self._scriptrunner and event != ScriptRunnerEvent.ENQUEUE_FORWARD_MSG:
            log(f"{RACE_DROPPED} {event.name}")
        return handle_event(self, sender, event, *args, **kwargs)

    session_cls.request_rerun = held_request_rerun
    session_cls._handle_scriptrunner_event_on_event_loop = watched_event


def serve(argv: list[str]) -> None:
    """``python -m scripts.runner_race run <script> <options>``: ``streamlit run`` with the
    watch installed (what ``harness.Server(module="scripts.runner_race")`` starts)."""
    install()
    from streamlit.web import cli

    sys.argv = ["streamlit", *argv]
    cli.main()


# ---------------------------------------------------------------------- the client side
async def click_and_tick(c, label: str, timeout: float, *, new_timer: bool) -> dict:
    """Press ``label`` and send one marked tick: of the timer the click's run sets up
    (``new_timer``, as soon as its ``auto_rerun`` arrives) or of the timer it replaces (at
    once). Then wait for a page run that started after the click to finish."""
    old = set(c.timers)
    t = time.monotonic()
    await c._send(trigger=c.buttons[label])
    deadline = t + timeout
    if new_timer:
        while not set(c.timers) - old and time.monotonic() < deadline:
            await asyncio.sleep(0.001)
        fids = list(set(c.timers) - old)
    else:
        fids = list(old)
    if fids:
        await c._send(fragment_id=fids[0], hashes=(RACE_FORCE,))
    out = {"click": label, "tick_sent": bool(fids), "finished_s": None}
    try:
        out["finished_s"] = round(await c.finished_after(t, max(1, deadline - time.monotonic())),
                                  3)
    except TimeoutError:
        pass
    # Lost: no page run ended, or the click's run was left open while the page ticked on
    # (then a later page run, a new timer's say, may end it by chance).
    out["lost"] = out["finished_s"] is None or c.lost_since(t)
    out["cut"] = any(start >= t for start in c.cut_runs)
    if out["lost"]:
        out["trace"] = list(c.trace)[-20:]
    return out


async def scenario(base: str, tiny: bool, timeout: float) -> list[dict]:
    c = Client("race", base, cone_for(0))
    await c.connect()
    try:
        if tiny:
            await c.open("", "", timeout)
            await asyncio.sleep(1.0)  # the timer ticks
            return [await click_and_tick(c, "Click", timeout, new_timer=False)]
        await c.open("train", f"A={c.cone}", timeout)
        clicks = [await click_and_tick(c, PLAY, timeout, new_timer=True)]
        await asyncio.sleep(1.5)  # training: the timer ticks
        clicks.append(await click_and_tick(c, PAUSE, timeout, new_timer=False))
        return clicks
    finally:
        await c.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:
        serve(argv)
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tiny", action="store_true", help="a ten-line app instead of Train live")
    p.add_argument("--timeout", type=float, default=30, help="for a click's run (default 30)")
    p.add_argument("--json", help="write the result here")
    args = p.parse_args(argv)
    script = "app.py"
    if args.tiny:
        script = str(Path(tempfile.mkdtemp(prefix="runner_race_")) / "tiny_app.py")
        Path(script).write_text(TINY_APP)
    server = Server(script, module="scripts.runner_race")
    try:
        wait_healthy(server.url, 60, server)
        clicks = asyncio.run(scenario(server.url, args.tiny, args.timeout))
    finally:
        server.stop()
    out = {"app": "tiny" if args.tiny else "train", "clicks": clicks,
           "server": race_counts(server.log())}
    lost = [c["click"] for c in clicks if c["lost"]]
    out["lost"] = lost
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    for c in clicks:
        end = "no page run ended" if c["finished_s"] is None else \
            f"a page run ended after {c['finished_s']:.2f} s"
        print(f"{c['click']}: {'LOST' if c['lost'] else 'ok'}, {end} (raced by a tick: "
              f"{c['tick_sent']}; its run cut off: {c['cut']})")
    print("server: " + ", ".join(f"{k} {v}" for k, v in out["server"].items()))
    print("RESULT: " + ("OK" if not lost else f"LOST {', '.join(lost)}"))
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())

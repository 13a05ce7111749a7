"""What the load scripts share (and the browser tests' harness reads): a ``streamlit run``
server on a free port, what a server frame says about script runs, a session that speaks
Streamlit's websocket protocol (``Client``), the sessions' cones, the app's caps, the server's
memory and CPU from /proc, and the statistics of the reports.

Import it as ``from scripts.harness import ...`` with the repository root on ``sys.path``
(``python -m scripts.<name>`` from the root; pytest puts the root there itself).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conecore import Limits

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"  # git-ignored: screenshots of failures
CHROMIUM = "/usr/bin/chromium"  # Debian's
CHROMIUM_ARGS = [  # as tests/browser/conftest.py
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


# ---------------------------------------------------------------------- the server's frames
BUSY, FINISHED, FRAGMENT_FINISHED = "busy", "finished", "fragment_finished"


def run_event(payload: Any) -> str | None:
    """What one websocket frame from the server says about script runs: ``BUSY`` for a run's
    first messages (``new_session``, ``delta``), ``FINISHED`` or ``FRAGMENT_FINISHED`` for its
    ``script_finished``, and None for anything else: other messages, frames that are not a
    ForwardMsg, and a run stopped early for a rerun (another run follows at once, so the app
    is not idle)."""
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


# ---------------------------------------------------------------------- the sessions' cones
# Ten distinct small 2-D cones in the app's URL form (conecore.to_url_text reads each back to
# the same text): wedges in every quadrant, a half-plane, a line, a redundant row, fractions.
CONES = [
    "1,-2;-3,1",
    "-1,0;0,-1",
    "1,-1;-1,-1",
    "-2,1;1,-3",
    "0,-1",
    "-1,0;0,-1;-1,-1",
    "1,2;-2,-1",
    "3,-1;-1,3",
    "1,0;-1,0",
    "1/2,-1;-1,1/3",
]


def cone_for(k: int) -> str:
    """Session ``k``'s own 2-D cone: the ten of ``CONES``, then copies of them with every entry
    times 2, 3, ... (a different text, so a different link; every one reads back to itself)."""
    base = CONES[k % len(CONES)]
    scale = k // len(CONES) + 1
    if scale == 1:
        return base
    import conecore as cc  # the URL form is the library's (to_url_text / from_url_text)

    return cc.to_url_text(cc.from_url_text(base) * scale)


PLAY, PAUSE, STEP = "Play", "Pause", "Step"
"""The labels of Train live's buttons (pages/train.py; Play and Pause also show an icon)."""


def app_limits() -> Limits:
    """The hosted app's per-session caps (``explorer.limits.APP_LIMITS``)."""
    from explorer.limits import APP_LIMITS

    return APP_LIMITS


# ---------------------------------------------------------------------- statistics
def quantile(values: list[float], q: float) -> float:
    """The q-quantile by linear interpolation between order statistics (numpy's default);
    NaN for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def latency_stats(xs: list[float]) -> dict[str, Any]:
    """``n``, ``p50_s``, ``p95_s``, ``max_s`` and ``mean_s`` of ``xs`` (seconds, to the ms);
    None for each but ``n`` when there are none."""
    if not xs:
        return {"n": 0, "p50_s": None, "p95_s": None, "max_s": None, "mean_s": None}
    return {"n": len(xs), "p50_s": round(quantile(xs, 0.5), 3),
            "p95_s": round(quantile(xs, 0.95), 3), "max_s": round(max(xs), 3),
            "mean_s": round(sum(xs) / len(xs), 3)}


def seconds(x: float | None) -> str:
    """``x`` as ``1.23 s`` in a report, ``-`` for none."""
    return "-" if x is None else f"{x:.2f} s"


def cpu_lines(cpu_by_phase: dict[str, dict[str, float]], clients: str) -> list[str]:
    """The report's lines for :meth:`Sampler.phase_cpu`: cores used per phase by the server,
    by ``clients`` (this process and its children) and by the rest of the machine."""
    lines = [f"cores used by the server / {clients} / other processes ({os.cpu_count()} cores; "
             "max 1-min load average):"]
    for phase, c in cpu_by_phase.items():
        lines.append(f"  {phase:<10} {c['server_cores']:.2f} / {c['browser_cores']:.2f} / "
                     f"{c['other_cores']:.2f} over {c['wall_s']:.0f} s "
                     f"(load {c['load1_max']:.1f})")
    return lines


# ---------------------------------------------------------------------- the server
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``streamlit run <script>`` (the app by default) on a free port, as
    tests/browser/conftest.py starts it; its output goes to ``log_path``. ``module`` is the
    module that ``python -m`` runs with ``run <script> <options>``: Streamlit's own CLI, or
    ``scripts.runner_race``, which runs it with a watch on the script runners."""

    def __init__(self, script: str = "app.py", module: str = "streamlit",
                 env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.mkdtemp(prefix="cone_explorer_server_")) / "server.log"
        cmd = [sys.executable, "-m", module, "run", script,
               "--server.headless", "true",
               "--server.port", str(self.port),
               "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]  # others may edit the tree meanwhile
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                         env=None if env is None else {**os.environ, **env})
        self.pid = self.proc.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_healthy(url: str, timeout: float, server: Server | None = None,
                 poll: float = 0.25) -> float:
    """Seconds until ``url``'s ``/_stcore/health`` answers ``ok``, polled every ``poll`` s.

    Raises:
        RuntimeError: the server exited (its log's tail says why) or ``timeout`` passed.
    """
    t0 = time.monotonic()
    while True:
        if server is not None and server.proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.proc.returncode}:\n"
                               f"{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200 and r.read().strip() == b"ok":
                    return time.monotonic() - t0
        except OSError:
            pass
        if time.monotonic() - t0 > timeout:
            tail = server.log_tail() if server else ""
            raise RuntimeError(f"{url} not healthy after {timeout:.0f} s\n{tail}")
        time.sleep(poll)


# ---------------------------------------------------------------------- a protocol session
@dataclass
class Client:
    """One session: a websocket to the server and what it has seen."""

    name: str
    base: str
    cone: str
    query: str = ""
    page_hash: str = ""
    buttons: dict[str, str] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    runs: list[tuple[float, float]] = field(default_factory=list)  # full runs: (start, end)
    fragment_runs: int = 0
    run_start: float = 0.0
    page_run_open: bool = False  # a page run started and has not ended yet
    # Page runs (their start times) that a fragment run came in the middle of: Streamlit
    # dropped the rest of them (scripts/runner_race.py). Lost: a fragment run then ended while
    # the page run still had not, so the page ticked on and the run never ends (unless a
    # later page run happens to end). Train live reruns the page at once instead.
    cut_runs: list[float] = field(default_factory=list)
    lost_runs: list[float] = field(default_factory=list)
    timers: dict[str, tuple[float, asyncio.Task]] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    # The last lifecycle messages sent and received, reported for a session that fails.
    trace: deque = field(default_factory=lambda: deque(maxlen=60))

    # ------------------------------------------------------------------ the wire
    async def connect(self) -> None:
        import websockets

        url = self.base.replace("http", "ws", 1) + "/_stcore/stream"
        self.ws = await websockets.connect(url, origin=self.base, subprotocols=["streamlit"],
                                           max_size=None, ping_interval=None)
        self.receiver = asyncio.create_task(self._receive())

    async def close(self) -> None:
        for _, task in self.timers.values():
            task.cancel()
        self.receiver.cancel()
        await self.ws.close()

    async def _send(self, page: str = "", fragment_id: str = "", trigger: str = "",
                    hashes: tuple[str, ...] = ()) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.page_script_hash = self.page_hash if not page else ""
        state.page_name = page
        state.context_info.url = f"{self.base}/{page}"
        if fragment_id:
            state.fragment_id = fragment_id
            state.is_auto_rerun = True
        if trigger:
            widget = state.widget_states.widgets.add()
            widget.id = trigger
            widget.trigger_value = True
        state.cached_message_hashes.extend(hashes)
        self.trace.append((round(time.monotonic(), 3), "sent", page or "",
                           "fragment" if fragment_id else "", "click" if trigger else ""))
        await self.ws.send(msg.SerializeToString())

    async def _receive(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        async for frame in self.ws:
            self.dispatch(ForwardMsg.FromString(frame))

    def dispatch(self, msg: Any) -> None:
        """Take in one message from the server, as the browser's App does."""
        from streamlit.proto.Alert_pb2 import Alert
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        kind = msg.WhichOneof("type")
        fragment = bool(msg.metadata.run.fragment_ids)
        if kind in ("new_session", "script_finished", "auto_rerun", "stop_auto_rerun",
                    "session_status_changed", "session_event"):
            self.trace.append((round(time.monotonic(), 3), kind,
                               "fragment" if fragment else "",
                               msg.script_finished if kind == "script_finished" else "",
                               msg.auto_rerun.interval if kind == "auto_rerun" else ""))
        if kind == "new_session" and fragment and self.page_run_open and \
                self.run_start not in self.cut_runs:
            self.cut_runs.append(self.run_start)
        if kind == "new_session" and not fragment:
            self.page_run_open = True
            self.run_start = time.monotonic()
            self.page_hash = msg.new_session.page_script_hash
            for _, task in self.timers.values():  # as the browser: a full run resets timers
                task.cancel()
            self.timers.clear()
        elif kind == "navigation":
            # With pages (the pages/ folder too) every run starts in the main script, whose
            # hash new_session carries; the page that ran is the navigation's, and the browser
            # sends that one back with each click (else the click would rerun Home).
            self.page_hash = msg.navigation.page_script_hash
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            el = msg.delta.new_element
            what = el.WhichOneof("type")
            if what == "button":
                self.buttons[el.button.label] = el.button.id
            elif what == "exception":
                self.errors.append(f"exception: {el.exception.message[:200]}")
            elif what == "alert" and el.alert.format == Alert.ERROR:
                self.errors.append(f"error alert: {el.alert.body[:200]}")
            elif what == "code":
                self.texts.append(el.code.code_text)
        elif kind == "auto_rerun":
            self._timer(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                if fid in self.timers:
                    self.timers.pop(fid)[1].cancel()
        elif kind == "script_finished":
            if not fragment:
                self.page_run_open = False
            if msg.script_finished == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                self.fragment_runs += 1
                if self.page_run_open and self.run_start not in self.lost_runs:
                    self.lost_runs.append(self.run_start)
            elif msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                self.runs.append((self.run_start, time.monotonic()))

    def _timer(self, fragment_id: str, interval: float) -> None:
        old = self.timers.get(fragment_id)
        if old is not None and old[0] == interval:
            return  # the browser keeps a timer whose interval did not change
        if old is not None:
            old[1].cancel()

        async def tick() -> None:
            while True:
                await asyncio.sleep(interval)
                await self._send(fragment_id=fragment_id)

        self.timers[fragment_id] = (interval, asyncio.create_task(tick()))

    # ------------------------------------------------------------------ actions
    async def finished_after(self, t: float, timeout: float) -> float:
        """Seconds from ``t`` to the end of the first full run that started after ``t``."""
        deadline = time.monotonic() + timeout
        while True:
            ends = [end for start, end in self.runs if start >= t]
            if ends:
                return ends[0] - t
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: no run finished within {timeout:.0f} s")
            await asyncio.sleep(0.01)

    async def open(self, page: str, query: str, timeout: float) -> float:
        self.query, self.texts = query, []
        t = time.monotonic()
        await self._send(page=page)
        return await self.finished_after(t, timeout)

    def lost_since(self, t: float) -> bool:
        """Whether a page run that started after ``t`` was lost (``lost_runs``)."""
        return any(start >= t for start in self.lost_runs)

    async def click(self, label: str, timeout: float) -> float:
        """Seconds from pressing ``label`` to the end of a page run that started after it. A
        click whose run was lost is an error even when a later page run ended."""
        if label not in self.buttons:
            raise RuntimeError(f"{self.name}: no button {label!r} on the page")
        t = time.monotonic()
        await self._send(trigger=self.buttons[label])
        seconds = await self.finished_after(t, timeout)
        if self.lost_since(t):
            self.errors.append(f"{label}: its page run was cut off by a tick and never ended "
                               f"(a later page run ended after {seconds:.1f} s)")
        return seconds


# What scripts/runner_race.py's server writes to its log (class_load.py --watch counts it).
RACE_FORCE = "force-race"  # in a tick's cached-message hashes: hold it until the run ends
RACE_HELD, RACE_CUT, RACE_DROPPED = "RACE held", "RACE new runner", "RACE dropped"


def race_counts(log: str) -> dict[str, int]:
    """From a runner_race server's log: ticks it held, runners it made for a tick after the
    last one had stopped, page runs whose end it dropped (``SCRIPT_STOPPED_WITH_SUCCESS``
    of a replaced runner) and runner events it dropped in all."""
    return {"held": log.count(RACE_HELD), "new_runner_for_tick": log.count(RACE_CUT),
            "dropped_page_run_ends": log.count(f"{RACE_DROPPED} SCRIPT_STOPPED_WITH_SUCCESS"),
            "dropped_events": log.count(RACE_DROPPED)}


# ---------------------------------------------------------------------- /proc
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_table() -> dict[int, tuple[int, int, float]]:
    """pid -> (parent pid, RSS in kB, CPU seconds) for every process /proc lets us read."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        # fields[0] is the state: ppid is field 4 of stat, utime 14, stime 15, rss 24.
        table[int(name)] = (int(fields[1]), int(fields[21]) * PAGE_KB,
                            (int(fields[11]) + int(fields[12])) / CLK_TCK)
    return table


def machine_cpu_s() -> float:
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / CLK_TCK  # all but idle and iowait


def process_tree(table: dict[int, tuple[int, int, float]], root: int) -> set[int]:
    """``root`` and all its descendants in ``table``."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in table and pid not in out:
            out.add(pid)
            todo.extend(children.get(pid, []))
    return out


class Sampler(threading.Thread):
    """Every ``interval`` s: the RSS of the server process and of it with all its descendants;
    the CPU seconds of the server tree, of the clients (this process and its children: the
    Playwright driver and Chromium, or the websocket clients; keys ``*browser*``) and of the
    whole machine, so that other load on a shared machine shows. Samples are tagged with
    ``phase``, which the script sets as it goes. A thread, so that a busy event loop does not
    skip samples."""

    def __init__(self, server_pid: int | None, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.server_pid, self.interval = server_pid, interval
        self.samples: list[dict[str, float]] = []
        self.phase = "start"
        self._halt = threading.Event()
        self.t0 = time.monotonic()

    def sample(self) -> dict[str, float]:
        table = proc_table()
        server = process_tree(table, self.server_pid) if self.server_pid else set()
        mine = process_tree(table, os.getpid()) - server
        with open("/proc/loadavg") as f:
            load1 = float(f.read().split()[0])
        return {
            "t": round(time.monotonic() - self.t0, 2),
            "phase": self.phase,
            "rss_main_mb": table[self.server_pid][1] / 1024 if self.server_pid in table else 0,
            "rss_tree_mb": sum(table[p][1] for p in server) / 1024,
            "procs": len(server),
            "cpu_server_s": sum(table[p][2] for p in server),
            "cpu_browser_s": sum(table[p][2] for p in mine),
            "cpu_machine_s": machine_cpu_s(),
            "load1": load1,
        }

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self.samples.append(self.sample())
            except Exception:  # a process vanishing mid-read: skip the sample
                pass
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)
        try:
            self.samples.append(self.sample())
        except Exception:
            pass

    def peak(self, key: str = "rss_tree_mb") -> tuple[float, str]:
        """The largest ``key`` sampled and the phase it was in."""
        if not self.samples:
            return 0.0, ""
        best = max(self.samples, key=lambda s: s[key])
        return best[key], str(best["phase"])

    def phase_cpu(self) -> dict[str, dict[str, float]]:
        """Per phase: wall seconds and the cores used on average by the server, the clients
        and the other processes, and the highest 1-minute load average."""
        out: dict[str, dict[str, float]] = {}
        prev = None
        for s in self.samples:
            if prev is not None:
                d = out.setdefault(str(s["phase"]), dict.fromkeys(
                    ("wall_s", "server_cpu_s", "browser_cpu_s", "machine_cpu_s", "load1_max"),
                    0.0))
                d["wall_s"] += s["t"] - prev["t"]
                for k in ("server", "browser", "machine"):
                    d[f"{k}_cpu_s"] += max(0.0, s[f"cpu_{k}_s"] - prev[f"cpu_{k}_s"])
                d["load1_max"] = max(d["load1_max"], s["load1"])
            prev = s
        for d in out.values():
            w = d["wall_s"] or 1.0
            d["server_cores"] = round(d["server_cpu_s"] / w, 2)
            d["browser_cores"] = round(d["browser_cpu_s"] / w, 2)
            d["other_cores"] = round(max(0.0, d["machine_cpu_s"] - d["server_cpu_s"]
                                         - d["browser_cpu_s"]) / w, 2)
            for k in ("wall_s", "server_cpu_s", "browser_cpu_s", "machine_cpu_s"):
                d[k] = round(d[k], 1)
        return out

"""What the load scripts share (and the browser tests' harness reads): a ``streamlit run``
server on a free port, what a server frame says about script runs, the sessions' cones, the
app's caps, the server's memory and CPU from /proc, and the statistics of the reports.

Import it as ``from scripts.harness import ...`` with the repository root on ``sys.path``
(``python -m scripts.<name>`` from the root; pytest puts the root there itself).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
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
    tests/browser/conftest.py starts it; its output goes to ``log_path``."""

    def __init__(self, script: str = "app.py") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.mkdtemp(prefix="cone_explorer_server_")) / "server.log"
        cmd = [sys.executable, "-m", "streamlit", "run", script,
               "--server.headless", "true",
               "--server.port", str(self.port),
               "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]  # others may edit the tree meanwhile
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid

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

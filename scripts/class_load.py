"""A class at once, without browsers: N sessions that speak Streamlit's websocket protocol.

``scripts/load_test.py`` drives real Chromium tabs, and on one small machine those tabs use
most of the CPU (in a classroom they run on the students' laptops). This script measures the
server alone: each session is a websocket client that sends what the browser sends (a page
request with the link's query string, button clicks as widget triggers, and the fragment
timer's reruns at the interval the server asks for) and reads what the server sends back
(elements, ``script_finished``). The server's work is the same as with browsers; the clients
cost almost nothing.

Each session, all at the same time: opens Train live with its own cone in the link, presses
Play, trains for ``--seconds`` (answering the fragment timer as a browser would), presses Pause
and times it, presses Step ``--reruns`` times (``--think`` seconds apart) and times each rerun
from the click to the server's ``script_finished``, then opens Build a cone without a cone in
the link and checks that the sidebar's share link holds its own cone (isolation). Exceptions,
``st.error`` alerts and runs that never finish are errors. The server's RSS and CPU are sampled
as in load_test.py (:class:`scripts.harness.Sampler`). The sessions are
:class:`scripts.harness.Client`; the report counts the page runs that a fragment run cut off
(Streamlit dropped their end, and Train live reran the page: scripts/runner_race.py), and with
``--watch`` the server logs each script-runner event Streamlit dropped.

Usage (from the repository root; ``make class-load`` runs the defaults):
    .venv/bin/python -m scripts.class_load                    # 10 sessions
    .venv/bin/python -m scripts.class_load --sessions 30 --json class30.json --watch
    .venv/bin/python -m scripts.class_load --url http://host:8501 --pid 1234

Exit status 1 on any error, isolation failure, a Step p95 over ``--p95-limit`` s, a Pause
over ``--pause-limit`` s or an RSS over ``--rss-limit-mb``; 2 when the server did not start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from pathlib import Path
from urllib.parse import unquote

from scripts.harness import (
    PAUSE,
    PLAY,
    STEP,
    Client,
    Sampler,
    Server,
    cone_for,
    cpu_lines,
    latency_stats,
    race_counts,
    seconds,
    wait_healthy,
)

SHARE_A = re.compile(r"[?&]A=([^&\s]+)")


async def session(c: Client, args: argparse.Namespace, phase: dict[str, asyncio.Event]) -> None:
    r = c.result
    try:
        await c.connect()
        r["open_s"] = await c.open("train", f"A={c.cone}", args.timeout)
        await phase["opened"].wait()
        r["play_s"] = await c.click(PLAY, args.timeout)
        ticks0 = c.fragment_runs
        await asyncio.sleep(args.seconds)
        r["ticks_per_s"] = (c.fragment_runs - ticks0) / args.seconds
        r["pause_s"] = await c.click(PAUSE, args.timeout)
        after = c.fragment_runs
        await asyncio.sleep(1.0)
        r["ticks_after_pause"] = c.fragment_runs - after
        r["step_s"] = []
        for _ in range(args.reruns):
            await asyncio.sleep(args.think)
            r["step_s"].append(await c.click(STEP, args.timeout))
        await c.open("build", "", args.timeout)
        shared = [unquote(m.group(1)) for t in c.texts for m in SHARE_A.finditer(t)]
        r["share_A"] = shared[-1] if shared else None
        r["isolated"] = shared != [] and all(a == c.cone for a in shared)
    except Exception as exc:  # one broken session must not hide the others' numbers
        c.errors.append(f"{type(exc).__name__}: {exc}")
        r["trace"] = list(c.trace)
    finally:
        r["page_runs_cut"] = len(c.cut_runs)
        if c.cut_runs:
            r.setdefault("trace", list(c.trace))
        if hasattr(c, "ws"):
            await c.close()


async def run_class(args: argparse.Namespace, base: str, sampler: Sampler) -> list[Client]:
    clients = [Client(f"s{k}", base, cone_for(k)) for k in range(args.sessions)]
    phase = {"opened": asyncio.Event()}
    tasks = [asyncio.create_task(session(c, args, phase)) for c in clients]
    sampler.phase = "open"
    while not all("open_s" in c.result or c.errors for c in clients):
        await asyncio.sleep(0.05)
    sampler.phase = "train"
    phase["opened"].set()
    while not all("pause_s" in c.result or c.errors for c in clients):
        await asyncio.sleep(0.05)
    sampler.phase = "reruns"
    await asyncio.gather(*tasks)
    sampler.phase = "end"
    return clients


def summarise(args: argparse.Namespace, clients: list[Client], sampler: Sampler) -> dict:
    steps = [s for c in clients for s in c.result.get("step_s", [])]
    pauses = [c.result["pause_s"] for c in clients if "pause_s" in c.result]
    opens = [c.result["open_s"] for c in clients if "open_s" in c.result]
    ticks = [c.result["ticks_per_s"] for c in clients if "ticks_per_s" in c.result]
    peak, peak_phase = sampler.peak()
    out = {
        "sessions": args.sessions, "seconds": args.seconds, "reruns": args.reruns,
        "step": latency_stats(steps),
        "pause": latency_stats(pauses),
        "open": latency_stats(opens),
        "ticks_per_s": {"min": min(ticks, default=0.0), "max": max(ticks, default=0.0),
                        "total": sum(ticks)},
        "page_runs_cut": sum(c.result.get("page_runs_cut", 0) for c in clients),
        "rss_peak_mb": round(peak, 1), "rss_peak_phase": peak_phase,
        "cpu_by_phase": sampler.phase_cpu(),
        "errors": {c.name: c.errors for c in clients if c.errors},
        "isolation": {"ok": sum(bool(c.result.get("isolated")) for c in clients),
                      "of": len(clients),
                      "failures": {c.name: (c.cone, c.result.get("share_A")) for c in clients
                                   if not c.result.get("isolated")}},
        "sessions_detail": {c.name: {"cone": c.cone, **c.result} for c in clients},
    }
    failures = []
    if out["errors"]:
        failures.append(f"errors in {len(out['errors'])} session(s)")
    if out["isolation"]["ok"] != len(clients):
        failures.append("isolation")
    if not steps:
        failures.append("no Step finished")
    elif out["step"]["p95_s"] > args.p95_limit:
        failures.append(f"Step p95 {seconds(out['step']['p95_s'])} over {args.p95_limit} s")
    if not pauses:
        failures.append("no Pause finished")
    elif out["pause"]["max_s"] > args.pause_limit:
        failures.append(f"Pause max {seconds(out['pause']['max_s'])} over {args.pause_limit} s")
    if peak > args.rss_limit_mb:
        failures.append(f"RSS {peak:.0f} MB over {args.rss_limit_mb} MB")
    out["failures"] = failures
    return out


def report(out: dict) -> None:
    s, p, o, t = out["step"], out["pause"], out["open"], out["ticks_per_s"]
    print(f"{out['sessions']} sessions, {out['seconds']:g} s of training each, "
          f"{out['reruns']} Steps each")
    print(f"  open Train live:  p50 {seconds(o['p50_s'])}  max {seconds(o['max_s'])}")
    print(f"  live ticks/s per session: {t['min']:.2f} to {t['max']:.2f} "
          f"(all sessions together {t['total']:.1f}/s)")
    print(f"  Pause (click -> its run finished): p50 {seconds(p['p50_s'])}  "
          f"max {seconds(p['max_s'])}")
    print(f"  Step rerun (click -> script_finished), {s['n']} reruns: p50 {seconds(s['p50_s'])}"
          f"  p95 {seconds(s['p95_s'])}  max {seconds(s['max_s'])}")
    print(f"  page runs cut off by a tick (Streamlit dropped their end; the page reran): "
          f"{out['page_runs_cut']}")
    if "server_race" in out:
        print("  server (--watch): " + ", ".join(f"{k} {v}"
                                                for k, v in out["server_race"].items()))
    print(f"  server peak RSS {out['rss_peak_mb']:.0f} MB (phase {out['rss_peak_phase']})")
    for line in cpu_lines(out["cpu_by_phase"], "the clients"):
        print("  " + line)
    print(f"  isolation: {out['isolation']['ok']} of {out['isolation']['of']}")
    for name, errs in out["errors"].items():
        print(f"  {name}: {'; '.join(errs)[:300]}")
    print("RESULT: " + ("OK" if not out["failures"] else "FAIL: " + "; ".join(out["failures"])))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--seconds", type=float, default=20, help="of training (default 20)")
    p.add_argument("--reruns", type=int, default=5, help="Steps per session (default 5)")
    p.add_argument("--think", type=float, default=0.3, help="seconds between Steps")
    p.add_argument("--url", help="test this running server instead of starting one")
    p.add_argument("--pid", type=int, help="with --url: the server's pid, for its RSS")
    p.add_argument("--p95-limit", type=float, default=2.0)
    p.add_argument("--pause-limit", type=float, default=5.0)
    p.add_argument("--rss-limit-mb", type=float, default=1500)
    p.add_argument("--timeout", type=float, default=120, help="for any one run (default 120)")
    p.add_argument("--json", help="write the full results here")
    p.add_argument("--watch", action="store_true",
                   help="start the server through scripts/runner_race.py, which logs each "
                        "script-runner event Streamlit drops (reported at the end)")
    args = p.parse_args(argv)
    server = None
    try:
        if args.url:
            base, pid = args.url.rstrip("/"), args.pid
        else:
            server = Server(module="scripts.runner_race" if args.watch else "streamlit")
            base, pid = server.url, server.pid
        wait_healthy(base, 60, server)
    except RuntimeError as exc:
        print(exc)
        return 2
    sampler = Sampler(pid)
    sampler.start()
    try:
        clients = asyncio.run(run_class(args, base, sampler))
    finally:
        sampler.stop()
        if server is not None:
            server.stop()
    out = summarise(args, clients, sampler)
    if args.watch and server is not None:
        out["server_race"] = race_counts(server.log())
    report(out)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    return 1 if out["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())

"""Load and isolation test of the running app: many browser sessions at once (issue 8).

Starts ``streamlit run app.py`` (or uses ``--url`` of a running server), opens ``--sessions``
browser contexts in one headless Chromium (Debian's, /usr/bin/chromium), each with its own 2-D
cone in the link (``/build?A=...``), and then, all sessions at the same time:

1. goes to Train live through the sidebar, presses Play, trains for ``--seconds``, pauses;
2. presses Step ``--reruns`` times and times each rerun, from the click until the app is idle
   again (the server's ``script_finished`` message has arrived and the page's ``stApp`` reads
   ``notRunning``): p50 / p95 / max over all sessions;
3. goes to Build a cone through the sidebar (no ``A`` typed in) and checks that the address bar
   and the sidebar's share link still hold the session's own cone.

Every page is checked for ``stException`` elements, ``st.error`` alerts, uncaught page errors and
console errors. The server's RSS (the streamlit process and its children, from /proc) is sampled
every 0.5 s. ``--explode`` adds a session whose link holds a 10-D matrix whose double description
does not finish: it must get a message within the app's time limit while the others repeat the
Step round. ``--visit-all`` makes each session visit every page of the sidebar instead (press the
first primary button, or Play on Train live for ``--visit-seconds``) and reports the peak RSS:
the hosted-demo memory check.

Exit status 1 when there is any error (on a page, in the console, a session that could not
finish its steps within ``--timeout``), an isolation failure, a p95 over ``--p95-limit`` seconds
or a peak RSS over ``--rss-limit-mb``; 2 when the server or Chromium could not be started.

Usage (from the repository root; ``make load`` runs the defaults):
    .venv/bin/python -m scripts.load_test                      # 10 sessions, 20 s of training
    .venv/bin/python -m scripts.load_test --sessions 3 --seconds 10 --json load.json
    .venv/bin/python -m scripts.load_test --explode
    .venv/bin/python -m scripts.load_test --visit-all --sessions 1 --rss-limit-mb 800
    .venv/bin/python -m scripts.load_test --url http://host:8501 --pid 1234
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import conecore as cc
from scripts.harness import (
    ARTIFACTS,
    BUSY,
    CHROMIUM,
    CHROMIUM_ARGS,
    FRAGMENT_FINISHED,
    PAUSE,
    PLAY,
    STEP,
    Sampler,
    Server,
    app_limits,
    cone_for,
    cpu_lines,
    latency_stats,
    quantile,
    run_event,
    wait_healthy,
)

RUNNING = "[data-testid='stApp'][data-test-script-state='running']"
NOT_RUNNING = "[data-testid='stApp'][data-test-script-state='notRunning']"
EXCEPTION = "[data-testid='stException']"
ERROR_ALERT = "[data-testid='stAlertContentError']"
ALERT = "[data-testid='stAlert']"
NAV_LINK = "[data-testid='stSidebar'] [data-testid='stPageLink-NavLink']"  # explorer.shell
SHARE_CODE = "[data-testid='stSidebar'] [data-testid='stCode']"
PRIMARY = "[data-testid='stBaseButton-primary']"


def explode_matrix(d: int = 10, m: int = 45, seed: int = 0) -> str:
    """``m`` rows ``(round(97 u), -97)`` with ``u`` uniform on the sphere in R^(d-1): the cone
    over a random polytope with ``m`` facets, inside the app's size caps (its upper-bound-theorem
    ray count is under the 200,000 limit) but whose double description runs past a minute on a
    laptop core. About 1.7 kB as a link."""
    import numpy as np

    rng = np.random.default_rng(seed)
    U = rng.normal(size=(m, d - 1))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    return cc.to_url_text(np.array([[int(v) for v in np.round(97 * u)] + [-97] for u in U]))


# ---------------------------------------------------------------------- one browser session
class BrokenRun(Exception):
    """A step of the script could not be done (a timeout, a missing button)."""


@dataclass
class Session:
    index: int
    cone: str | None  # None: the app's default cone
    role: str = "load"  # "load", "explode" or "visit"
    page: Any = None
    context: Any = None
    busy: bool = False
    runs: int = 0
    fragment_runs: int = 0  # of ``runs``, the fragment's (the live view's timer)
    seen: int = 0
    seen_full: int = 0
    last_finished: float = 0.0
    errors: list[str] = field(default_factory=list)  # stException / st.error texts, page errors
    console_errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    latencies_explode: list[float] = field(default_factory=list)
    latencies_server: list[float] = field(default_factory=list)  # click -> script_finished
    notes: list[str] = field(default_factory=list)
    train: dict[str, Any] = field(default_factory=dict)
    isolation: dict[str, Any] = field(default_factory=dict)
    explode: dict[str, Any] = field(default_factory=dict)
    visits: list[dict[str, Any]] = field(default_factory=list)
    broken: str = ""
    ignored_console: int = 0

    @property
    def name(self) -> str:
        return f"{self.role}-{self.index}"

    # -- plumbing
    async def open(self, browser: Any, timeout: float) -> None:
        self.context = await browser.new_context(viewport={"width": 1200, "height": 900})
        self.context.set_default_timeout(timeout * 1000)  # every wait, not Playwright's 30 s
        self.page = await self.context.new_page()

        def on_frame(payload: Any) -> None:
            event = run_event(payload)
            if event == BUSY:
                self.busy = True
            elif event is not None:
                self.busy = False
                self.runs += 1
                self.fragment_runs += event == FRAGMENT_FINISHED
                self.last_finished = time.monotonic()

        self.page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
        self.page.on("pageerror", lambda err: self.errors.append(f"page error: {err}"))
        self.page.on("console", self._on_console)

    def _on_console(self, m: Any) -> None:
        if m.type != "error":
            return
        where = (m.location or {}).get("url", "")
        # Opened on a deep link (/build), Streamlit's frontend first asks /build/_stcore/health
        # and /build/_stcore/host-config, gets 404 and falls back to /_stcore/...: not an error.
        if "404" in m.text and re.search(r"/[^/]+/_stcore/(health|host-config)$", where):
            self.ignored_console += 1
            return
        self.console_errors.append(f"{m.text[:300]} ({where})" if where else m.text[:300])

    async def close(self) -> None:
        if self.context is not None:
            try:
                await self.context.close()
            except Exception:
                pass

    def mark(self) -> None:
        """Call just before an action: ``idle`` then waits for the runs after this point."""
        self.seen, self.seen_full = self.runs, self.runs - self.fragment_runs

    async def idle(self, timeout: float, must_run: bool = False, grace: float = 1.5) -> float:
        """Wait until the run an action started has finished and the page shows it; returns the
        seconds waited. With ``must_run`` a full run is known to come (a button press, a page
        switch): wait for one to finish (a late fragment run from the live view's timer does
        not count) up to ``timeout``; otherwise give a run ``grace`` seconds to start (as
        conftest does)."""
        t0 = time.monotonic()
        limit = timeout if must_run else grace

        def full_done() -> bool:
            return self.runs - self.fragment_runs > self.seen_full

        while not (self.busy or self.runs > self.seen):
            if time.monotonic() - t0 > limit:
                if must_run:
                    raise BrokenRun(f"{self.name}: no script run within {timeout:.0f} s")
                break
            await asyncio.sleep(0.01)
        while self.busy or (must_run and not full_done()):
            if time.monotonic() - t0 > timeout:
                raise BrokenRun(f"{self.name}: script still running after {timeout:.0f} s")
            await asyncio.sleep(0.01)
        left = max(1.0, timeout - (time.monotonic() - t0))
        await self.page.wait_for_selector(NOT_RUNNING, state="attached", timeout=left * 1000)
        self.mark()
        return time.monotonic() - t0

    async def goto(self, url: str, timeout: float) -> None:
        self.mark()
        await self.page.goto(url, timeout=timeout * 1000)
        await self.page.wait_for_selector(NOT_RUNNING, state="attached", timeout=timeout * 1000)
        await self.idle(timeout)

    async def nav(self, title: str, timeout: float, href: str | None = None) -> None:
        """Switch page through the sidebar (the session, and its state, stay)."""
        link = (self.page.locator(f"{NAV_LINK}[href='{href}']") if href else
                self.page.locator(NAV_LINK).filter(has_text=title)).first
        if href and urlsplit(href).path == urlsplit(self.page.url).path:
            return  # already there: a click would start no run
        self.mark()
        await link.click(timeout=timeout * 1000)
        await self.idle(timeout, must_run=True)

    async def check_errors(self, where: str) -> int:
        """Record every stException and st.error on the page now; returns how many."""
        found = 0
        for sel, label in ((EXCEPTION, "exception"), (ERROR_ALERT, "st.error")):
            for text in await self.page.locator(sel).all_inner_texts():
                found += 1
                msg = f"{label} on {where}: {' '.join(text.split())[:400]}"
                if msg not in self.errors:
                    self.errors.append(msg)
        return found

    def url_cone(self) -> str | None:
        values = parse_qs(urlsplit(self.page.url).query).get("A")
        return values[0] if values else None

    async def share_cone(self) -> str | None:
        codes = await self.page.locator(SHARE_CODE).all_inner_texts()
        for text in codes:
            values = parse_qs(urlsplit(text.strip()).query).get("A")
            if values:
                return values[0]
        return None

    async def play_back(self, play: Any, timeout: float) -> None:
        """Wait until Train live's Play button is enabled again (after a Pause)."""
        deadline = time.monotonic() + timeout
        while await play.is_disabled():
            if time.monotonic() > deadline:
                raise BrokenRun(f"{self.name}: Play never came back after Pause")
            await asyncio.sleep(0.05)

    async def button(self, label: str) -> Any:
        """The button whose accessible name ends with ``label`` (an icon's name comes first)."""
        return self.page.get_by_role("button", name=re.compile(rf"(^|\W|_){re.escape(label)}$"))

    async def progress_step(self) -> int | None:
        texts = await self.page.locator("[data-testid='stProgress']").all_inner_texts()
        for t in texts:
            m = re.search(r"step (\d+) of", t)
            if m:
                return int(m.group(1))
        return None

    # -- the load session
    async def start(self, base: str, timeout: float) -> None:
        t0 = time.monotonic()
        await self.goto(f"{base}/build?A={quote(self.cone, safe=',;/-')}", timeout)
        self.train["open_s"] = round(time.monotonic() - t0, 2)
        await self.check_errors("build (link)")
        if self.url_cone() != self.cone:
            self.isolation.setdefault("problems", []).append(
                f"opening /build?A={self.cone} shows A={self.url_cone()} in the address bar")

    async def train_live(self, seconds: float, timeout: float) -> None:
        await self.nav("Train live", timeout)
        await self.check_errors("train")
        if self.url_cone() != self.cone:
            self.isolation.setdefault("problems", []).append(
                f"Train live shows A={self.url_cone()} in the address bar")
        play, pause = await self.button(PLAY), await self.button(PAUSE)
        runs0 = self.runs
        t0 = time.monotonic()
        self.mark()
        await play.click(timeout=timeout * 1000)
        await pause.wait_for(state="visible", timeout=timeout * 1000)
        deadline = time.monotonic() + timeout
        while await pause.is_disabled():  # playing once Pause is enabled
            if time.monotonic() > deadline:
                raise BrokenRun(f"{self.name}: Pause never became enabled after Play")
            await asyncio.sleep(0.05)
        t_playing = time.monotonic()
        frags_playing = self.fragment_runs
        await asyncio.sleep(seconds)
        ticks = self.fragment_runs - frags_playing
        t_pause = time.monotonic()
        self.mark()
        runs_pause, frag_pause = self.runs, self.fragment_runs
        stopped_by_itself = await pause.is_disabled()
        if stopped_by_itself:  # a finding, not a reason to stop this session
            self.errors.append(
                f"Train live stopped playing by itself within {seconds:g} s (Pause disabled, "
                f"Play enabled, progress at step {await self.progress_step()})")
        else:
            await pause.click(timeout=timeout * 1000)
        await self.play_back(play, timeout)
        t_play_back = time.monotonic()
        await self.idle(timeout)
        self.train |= {
            "play_to_playing_s": round(t_playing - t0, 2),
            "trained_s": round(t_pause - t_playing, 1),
            "fragment_runs_while_playing": ticks,
            "ticks_per_s": round(ticks / max(1e-9, t_pause - t_playing), 2),
            "pause_to_play_enabled_s": round(t_play_back - t_pause, 2),
            "pause_s": round(time.monotonic() - t_pause, 2),
            "runs_during_pause": self.runs - runs_pause,
            "fragment_runs_during_pause": self.fragment_runs - frag_pause,
            "steps": await self.progress_step(),
            "runs_total": self.runs - runs0,
        }
        await self.check_errors("train (after training)")
        if self.url_cone() != self.cone:
            self.isolation.setdefault("problems", []).append(
                f"after training, Train live shows A={self.url_cone()} in the address bar")

    async def step_round(self, reruns: int, think: float, timeout: float,
                         into: list[float]) -> None:
        step = await self.button(STEP)
        for i in range(reruns):
            before = await self.progress_step()
            await step.wait_for(state="visible", timeout=timeout * 1000)
            self.mark()
            t0 = time.monotonic()
            await step.click(timeout=timeout * 1000)
            await self.idle(timeout, must_run=True)
            into.append(time.monotonic() - t0)
            if into is self.latencies:
                self.latencies_server.append(self.last_finished - t0)
            after = await self.progress_step()
            if before is not None and after != before + 1:
                self.notes.append(f"Step {i + 1}: progress went from {before} to {after}, "
                                  f"not {before + 1}")
            await self.check_errors("train (step)")
            await asyncio.sleep(think * (0.5 + (self.index * 7 + i) % 10 / 10))

    async def check_isolation(self, timeout: float) -> None:
        await self.nav("Build a cone", timeout)
        await self.check_errors("build (sidebar)")
        url_a, share_a = self.url_cone(), await self.share_cone()
        self.isolation.update({"url_A": url_a, "share_A": share_a})
        if url_a != self.cone:
            self.isolation.setdefault("problems", []).append(
                f"/build from the sidebar: the address bar has A={url_a}, not {self.cone}")
        if share_a != self.cone:
            self.isolation.setdefault("problems", []).append(
                f"/build from the sidebar: the share link has A={share_a}, not {self.cone}")
        self.isolation["ok"] = not self.isolation.get("problems")

    # -- the exploding session
    async def explode_warmup(self, base: str, timeout: float) -> None:
        """Load the app once in this context (a small cone), so that the exploding link's time
        is the server's and not the first download of Streamlit's JavaScript."""
        t0 = time.monotonic()
        await self.goto(f"{base}/build?A=1,0;0,1", timeout)
        self.explode["normal_load_s"] = round(time.monotonic() - t0, 2)

    async def explode_run(self, base: str, limit_s: float, timeout: float) -> None:
        url = f"{base}/build?A={quote(self.cone, safe=',;/-')}"
        t_normal = time.monotonic()
        await self.goto(f"{base}/build?A=-1,0;0,-1", timeout)  # a normal link, just before
        self.explode["normal_load_s"] = round(time.monotonic() - t_normal, 2)
        t0 = time.monotonic()
        self.mark()
        await self.page.goto(url, timeout=timeout * 1000)
        alert = self.page.locator(ALERT).filter(has_text="could not be used").first
        msg, took = None, None
        deadline = t0 + max(timeout, limit_s + 30)
        while time.monotonic() < deadline:
            if await alert.count():
                took = time.monotonic() - t0
                msg = " ".join((await alert.inner_text()).split())
                break
            if await self.page.locator(EXCEPTION).count():
                break
            await asyncio.sleep(0.1)
        try:
            await self.idle(timeout)
        except BrokenRun as exc:
            self.notes.append(str(exc))
        await self.check_errors("build (exploding link)")
        shape = cc.from_url_text(self.cone).shape
        self.explode |= {"rows": shape[0], "dim": shape[1],
                        "link_chars": len(url), "message_s": None if took is None
                        else round(took, 2), "message": msg, "app_limit_s": limit_s,
                        "url_A_after": "(exploding matrix)" if self.url_cone() == self.cone
                        else self.url_cone()}

    # -- visiting every page
    async def visit_all(self, base: str, play_seconds: float, timeout: float) -> None:
        await self.goto(f"{base}/", timeout)
        await self.check_errors("home")
        links = await self.page.locator(NAV_LINK).evaluate_all(
            "els => els.map(e => [e.innerText.trim(), e.getAttribute('href') || ''])")
        for text, href in links:
            title = text.split("\n")[-1].strip()  # after the icon
            path = urlsplit(href).path.rstrip("/").rsplit("/", 1)[-1] or "(root)"
            visit: dict[str, Any] = {"page": title, "path": path}
            t0 = time.monotonic()
            await self.nav(title, timeout, href)
            visit["load_s"] = round(time.monotonic() - t0, 2)
            await self.check_errors(title)
            play = await self.button(PLAY)
            if await play.count() and await play.is_enabled():
                pause = await self.button(PAUSE)
                t1 = time.monotonic()
                await play.click()
                await asyncio.sleep(play_seconds)
                await pause.click(timeout=timeout * 1000)
                await self.play_back(play, timeout)
                await self.idle(timeout)
                visit["action"] = f"Play {play_seconds:g} s (to step {await self.progress_step()})"
                visit["action_s"] = round(time.monotonic() - t1, 1)
            else:
                primary = self.page.locator(PRIMARY)
                if await primary.count() and await primary.first.is_enabled():
                    label = " ".join((await primary.first.inner_text()).split())
                    t1 = time.monotonic()
                    self.mark()
                    await primary.first.click()
                    await self.idle(timeout, must_run=True)
                    visit["action"] = f"pressed '{label}'"
                    visit["action_s"] = round(time.monotonic() - t1, 1)
                else:
                    visit["action"] = "-"
            visit["errors"] = await self.check_errors(f"{title} (after action)")
            self.visits.append(visit)


# ---------------------------------------------------------------------- orchestration
async def guarded(session: Session, coro: Any) -> None:
    """Run one session's step; a failure marks the session broken instead of stopping all."""
    if session.broken:
        coro.close()
        return
    try:
        await coro
    except Exception as exc:
        session.broken = f"{type(exc).__name__}: " + " | ".join(
            line.strip() for line in str(exc).splitlines()[:6] if line.strip())[:600]
        if os.environ.get("LOAD_TEST_DEBUG"):
            traceback.print_exc()
        try:  # what the page showed, for the report
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / f"load-{session.name}.png"
            await session.page.screenshot(path=str(shot), full_page=True, timeout=30_000)
            session.notes.append(f"screenshot of the failure: {shot}")
        except Exception:
            pass


def log(msg: str, t0: float) -> None:
    print(f"[{time.monotonic() - t0:6.1f} s] {msg}", flush=True)


async def run_load(args: argparse.Namespace, base: str, sampler: Sampler) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    t0 = time.monotonic()
    sessions = [Session(i, cone_for(i)) for i in range(args.sessions)]
    result: dict[str, Any] = {}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                           headless=True)
        try:
            if args.visit_all:
                sessions = [Session(i, None, role="visit") for i in range(args.sessions)]
                for s in sessions:
                    await s.open(browser, args.timeout)
                sampler.phase = "visit-all"
                log(f"{len(sessions)} session(s) visit every page", t0)
                await asyncio.gather(*(guarded(s, s.visit_all(base, args.visit_seconds,
                                                              args.timeout))
                                       for s in sessions))
            else:
                for s in sessions:
                    await s.open(browser, args.timeout)
                sampler.phase = "open"
                log(f"{len(sessions)} sessions open /build?A=<own cone>", t0)
                await asyncio.gather(*(guarded(s, s.start(base, args.timeout)) for s in sessions))
                sampler.phase = "train"
                log(f"Train live: Play, {args.seconds:g} s of training, Pause", t0)
                await asyncio.gather(*(guarded(s, s.train_live(args.seconds, args.timeout))
                                       for s in sessions))
                sampler.phase = "reruns"
                log(f"rerun latency: {args.reruns} x Step in every session", t0)
                await asyncio.gather(*(guarded(s, s.step_round(args.reruns, args.think,
                                                               args.timeout, s.latencies))
                                       for s in sessions))
                if args.explode:
                    ex = Session(len(sessions), explode_matrix(), role="explode")
                    await ex.open(browser, args.timeout)
                    await guarded(ex, ex.explode_warmup(base, args.timeout))
                    sampler.phase = "explode"
                    log(f"explode: one session opens a {ex.cone.count(';') + 1}-row 10-D link; "
                        f"the others press Step {args.reruns} more times", t0)
                    jobs = [guarded(ex, ex.explode_run(base, args.app_timeout, args.timeout))]
                    jobs += [guarded(s, s.step_round(args.reruns, args.think, args.timeout,
                                                     s.latencies_explode)) for s in sessions]
                    await asyncio.gather(*jobs)
                    sessions.append(ex)
                sampler.phase = "isolation"
                log("isolation: every session goes to Build a cone through the sidebar", t0)
                await asyncio.gather(*(guarded(s, s.check_isolation(args.timeout))
                                       for s in sessions if s.role == "load"))
            sampler.phase = "end"
            log("done", t0)
        finally:
            for s in sessions:
                await s.close()
            await browser.close()
    result["sessions"] = sessions
    return result


# ---------------------------------------------------------------------- report
def summarise(args: argparse.Namespace, sessions: list[Session], sampler: Sampler,
              server_rss_start: float | None, failures_extra: list[str]) -> dict[str, Any]:
    load = [s for s in sessions if s.role == "load"]
    lat = [x for s in load for x in s.latencies]
    lat_ex = [x for s in load for x in s.latencies_explode]
    lat_srv = [x for s in load for x in s.latencies_server]
    errors = [(s.name, e) for s in sessions for e in s.errors]
    console = [(s.name, e) for s in sessions for e in s.console_errors]
    broken = [(s.name, s.broken) for s in sessions if s.broken]
    iso_fail = [(s.name, p) for s in load for p in s.isolation.get("problems", [])]
    iso_checked = sum(1 for s in load if "ok" in s.isolation)
    peak_tree, peak_phase = sampler.peak("rss_tree_mb")
    peak_main, _ = sampler.peak("rss_main_mb")
    have_rss = bool(sampler.server_pid) and bool(sampler.samples)

    out: dict[str, Any] = {
        "args": {k: v for k, v in vars(args).items()},
        "latency": latency_stats(lat),
        "latency_to_script_finished": latency_stats(lat_srv),
        "errors": [f"{n}: {e}" for n, e in errors],
        "console_errors": [f"{n}: {e}" for n, e in console],
        "console_404_deep_link_probes_ignored": sum(s.ignored_console for s in sessions),
        "broken_sessions": [f"{n}: {e}" for n, e in broken],
        "isolation": {"checked": iso_checked, "of": len(load),
                      "failures": [f"{n}: {p}" for n, p in iso_fail]},
        "rss": {"server_start_mb": server_rss_start, "peak_tree_mb": round(peak_tree, 1)
                if have_rss else None, "peak_main_mb": round(peak_main, 1) if have_rss else None,
                "peak_phase": peak_phase if have_rss else None},
        "cpu_by_phase": sampler.phase_cpu() if have_rss else {},
        "sessions": [],
    }
    if lat_ex:
        out["latency_during_explode"] = latency_stats(lat_ex)
    for s in sessions:
        out["sessions"].append({
            "name": s.name, "cone": s.cone if s.role != "explode" else "(10-D exploding)",
            "train": s.train, "latencies_s": [round(x, 3) for x in s.latencies],
            "latencies_during_explode_s": [round(x, 3) for x in s.latencies_explode],
            "isolation": s.isolation, "explode": s.explode, "visits": s.visits,
            "errors": s.errors, "console_errors": s.console_errors, "notes": s.notes,
            "broken": s.broken})
    failures = list(failures_extra)
    if errors:
        failures.append(f"{len(errors)} error(s) on pages")
    if console:
        failures.append(f"{len(console)} console error(s)")
    if broken:
        failures.append(f"{len(broken)} session(s) could not finish")
    if iso_fail:
        failures.append(f"{len(iso_fail)} isolation failure(s)")
    if not args.visit_all and iso_checked < len(load):
        failures.append(f"isolation checked in {iso_checked} of {len(load)} sessions")
    p95 = out["latency"]["p95_s"]
    if not args.visit_all and (p95 is None or p95 > args.p95_limit):
        failures.append(f"rerun p95 {p95} s over the limit {args.p95_limit:g} s")
    if lat_ex and out["latency_during_explode"]["p95_s"] > args.p95_limit:
        failures.append(f"rerun p95 during the explode {out['latency_during_explode']['p95_s']}"
                        f" s over the limit {args.p95_limit:g} s")
    if have_rss and peak_tree > args.rss_limit_mb:
        failures.append(f"peak RSS {peak_tree:.0f} MB over the limit {args.rss_limit_mb:g} MB")
    for s in sessions:
        if s.role == "explode":
            took = s.explode.get("message_s")
            normal = s.explode.get("normal_load_s") or 0.0
            if took is None:
                failures.append("explode: no 'could not be used' message")
            elif took - normal > args.app_timeout + args.explode_slack:
                failures.append(f"explode: message after {took:.1f} s, over a normal load "
                                f"({normal:.1f} s) + the app's limit {args.app_timeout:g} s + "
                                f"{args.explode_slack:g} s")
    out["failures"] = failures
    out["ok"] = not failures
    return out


def print_report(out: dict[str, Any], args: argparse.Namespace) -> None:
    line = "-" * 100
    print("\n" + line)
    if args.visit_all:
        print(f"{'session':<10}{'page':<36}{'load s':>8}  {'action':<44}{'s':>6}")
        for s in out["sessions"]:
            for v in s["visits"]:
                print(f"{s['name']:<10}{v['page'][:35]:<36}{v['load_s']:>8.2f}  "
                      f"{v['action'][:43]:<44}{v.get('action_s', ''):>6}")
    else:
        print(f"{'session':<11}{'cone A':<17}{'open s':>7}{'play s':>7}{'ticks/s':>8}"
              f"{'steps':>6}{'pause s':>8}{'rerun p50':>10}{'max':>7}{'explode max':>12}  "
              f"{'isolation':<10}{'errors':>6}")
        for s in out["sessions"]:
            lat = s["latencies_s"]
            lat_ex = s["latencies_during_explode_s"]
            t = s["train"]
            iso = s["isolation"]
            iso_txt = ("ok" if iso.get("ok") else "FAIL" if "ok" in iso else
                       "-" if s["name"].startswith("explode") else "not run")
            print(f"{s['name']:<11}{s['cone'][:16]:<17}{t.get('open_s', '-'):>7}"
                  f"{t.get('play_to_playing_s', '-'):>7}{t.get('ticks_per_s', '-'):>8}"
                  f"{t.get('steps') or '-':>6}{t.get('pause_s', '-'):>8}"
                  f"{quantile(lat, 0.5) if lat else float('nan'):>10.2f}"
                  f"{max(lat) if lat else float('nan'):>7.2f}"
                  f"{max(lat_ex) if lat_ex else float('nan'):>12.2f}  {iso_txt:<10}"
                  f"{len(s['errors']) + len(s['console_errors']):>6}")
    print(line)
    L = out["latency"]
    if L["n"]:
        print(f"rerun latency (Step, click -> idle), {L['n']} reruns in "
              f"{sum(1 for s in out['sessions'] if s['latencies_s'])} sessions: "
              f"p50 {L['p50_s']:.2f} s  p95 {L['p95_s']:.2f} s  max {L['max_s']:.2f} s  "
              f"(limit p95 {args.p95_limit:g} s)")
        S = out["latency_to_script_finished"]
        print(f"  of which click -> the server's script_finished message: p50 {S['p50_s']:.2f} s"
              f"  p95 {S['p95_s']:.2f} s  max {S['max_s']:.2f} s (the rest: the page drawing)")
    if "latency_during_explode" in out:
        E = out["latency_during_explode"]
        print(f"rerun latency while the exploding cone computes, {E['n']} reruns: "
              f"p50 {E['p50_s']:.2f} s  p95 {E['p95_s']:.2f} s  max {E['max_s']:.2f} s")
    for s in out["sessions"]:
        if s["explode"]:
            e = s["explode"]
            took = "no message" if e["message_s"] is None else f"{e['message_s']:.1f} s"
            print(f"explode ({e['rows']} x {e['dim']}, link {e['link_chars']} chars): message "
                  f"after {took} (app limit {e['app_limit_s']:g} s; a normal link just before "
                  f"took {e.get('normal_load_s', float('nan')):.1f} s to load): {e['message']}")
    trained = [s["train"] for s in out["sessions"] if "steps" in s["train"]]
    if trained:
        print(f"training: {len(trained)} sessions, steps after ~{args.seconds:g} s: "
              f"min {min(t['steps'] or 0 for t in trained)} max "
              f"{max(t['steps'] or 0 for t in trained)}; live ticks/s (goal 4): min "
              f"{min(t['ticks_per_s'] for t in trained)} max "
              f"{max(t['ticks_per_s'] for t in trained)}")
        print(f"  Pause: Play enabled again after p50 "
              f"{quantile([t['pause_to_play_enabled_s'] for t in trained], 0.5):.1f} s (max "
              f"{max(t['pause_to_play_enabled_s'] for t in trained):.1f} s), idle after p50 "
              f"{quantile([t['pause_s'] for t in trained], 0.5):.1f} s (max "
              f"{max(t['pause_s'] for t in trained):.1f} s), with p50 "
              f"{quantile([t['fragment_runs_during_pause'] for t in trained], 0.5):.0f} "
              "fragment runs still arriving after the Pause click")
    R = out["rss"]
    if R["peak_tree_mb"] is not None:
        print(f"server RSS: at start {R['server_start_mb']:.0f} MB, peak {R['peak_tree_mb']:.0f}"
              f" MB with children ({R['peak_main_mb']:.0f} MB streamlit process alone), in "
              f"phase '{R['peak_phase']}' (limit {args.rss_limit_mb:g} MB)")
    else:
        print("server RSS: not sampled (pass --pid with --url)")
    if out["cpu_by_phase"]:
        print("\n".join(cpu_lines(out["cpu_by_phase"], "the browser side")))
    iso = out["isolation"]
    if not args.visit_all:
        print(f"isolation: {iso['checked'] - len({f.split(':')[0] for f in iso['failures']})} "
              f"of {iso['of']} sessions kept their own cone"
              + ("" if not iso["failures"] else ":\n  " + "\n  ".join(iso["failures"])))
    print(f"errors: {len(out['errors'])} on pages, {len(out['console_errors'])} console, "
          f"{len(out['broken_sessions'])} broken sessions (ignored: "
          f"{out['console_404_deep_link_probes_ignored']} console 404s of Streamlit's "
          "/<page>/_stcore/ probes)")
    for e in out["errors"] + out["console_errors"] + out["broken_sessions"]:
        print("  " + e)
    notes = [f"{s['name']}: {n}" for s in out["sessions"] for n in s["notes"]]
    for n in notes:
        print("  note: " + n)
    print(line)
    print("RESULT: " + ("PASS" if out["ok"] else "FAIL: " + "; ".join(out["failures"])))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=10, help="browser sessions (default 10)")
    p.add_argument("--seconds", type=float, default=20,
                   help="seconds of live training (default 20)")
    p.add_argument("--reruns", type=int, default=5,
                   help="Step presses timed per session (default 5)")
    p.add_argument("--think", type=float, default=0.3,
                   help="pause between two presses (0.5-1.4 x this, per session)")
    p.add_argument("--url", help="test this running server instead of starting one")
    p.add_argument("--pid", type=int, help="with --url: the server's pid, for its RSS")
    p.add_argument("--explode", action="store_true",
                   help="one more session opens a cone whose double description explodes")
    p.add_argument("--explode-slack", type=float, default=5.0,
                   help="seconds the message may take over a normal page load plus the app's "
                        "time limit (default 5)")
    p.add_argument("--visit-all", action="store_true",
                   help="each session visits every page of the sidebar instead")
    p.add_argument("--visit-seconds", type=float, default=5.0,
                   help="with --visit-all: seconds of Play on Train live")
    p.add_argument("--p95-limit", type=float, default=2.0, help="seconds (default 2.0)")
    p.add_argument("--rss-limit-mb", type=float, default=1500, help="MB (default 1500)")
    p.add_argument("--timeout", type=float, default=300,
                   help="seconds any one wait may take before a session counts as broken")
    p.add_argument("--json", help="write the full results here")
    args = p.parse_args(argv)
    args.app_timeout = app_limits().timeout  # one double description in the app
    if args.sessions < 1:
        p.error("--sessions must be at least 1")
    if not os.path.exists(CHROMIUM):
        print(f"needs Chromium at {CHROMIUM} (apt-get install chromium)", file=sys.stderr)
        return 2

    server = None
    t_start = time.monotonic()
    try:
        if args.url:
            base, pid = args.url.rstrip("/"), args.pid
            wait_healthy(base, 60)
        else:
            server = Server()
            base, pid = server.url, server.pid
            took = wait_healthy(base, 90, server)
            print(f"streamlit run app.py on {base} (pid {pid}), healthy after {took:.1f} s; "
                  f"log {server.log_path}", flush=True)
        sampler = Sampler(pid)
        rss_start = round(sampler.sample()["rss_tree_mb"], 1) if pid else None
        sampler.start()
        failures: list[str] = []
        try:
            res = asyncio.run(run_load(args, base, sampler))
            sessions = res["sessions"]
        finally:
            sampler.stop()
        if server is not None and server.proc.poll() is not None:
            failures.append(f"the server exited with {server.proc.returncode}")
        if server is not None:
            log_text = server.log_path.read_text(errors="replace")
            if "Traceback" in log_text:
                failures.append("the server log holds a traceback")
                print("server log tail:\n" + server.log_tail(60))
    except (RuntimeError, OSError) as exc:
        print(f"load test could not run: {exc}", file=sys.stderr)
        if server is not None:
            server.stop()
        return 2
    finally:
        if server is not None:
            server.stop()
    out = summarise(args, sessions, sampler, rss_start, failures)
    out["wall_s"] = round(time.monotonic() - t_start, 1)
    print_report(out, args)
    if args.json:
        out["rss_samples"] = sampler.samples
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
        print(f"wrote {args.json}")
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""Fuzz the pages the way strangers' links and typing reach them, in AppTest (no browser): random
matrices whose entries mix 0, small integers, fractions, 1e-300, 1e200, 1e300, 10^30 and 2^63
given as the link's ``A`` to every cone page (pressing its main button), the same as the
Polyhedra page's ``A`` and ``b`` (walking its step slider), and junk values for the widgets
bound to the link. Prints each page run that ends in an exception ("This app has encountered
an error"), with what reproduces it. A script, not a test: each run draws new cases (every
bug it found on 2026-12-02 has a test of its own).

Usage: python -m scripts.fuzz_pages [--seconds 300] [--seed 0] [--only links|cones|polyhedra]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable

ENTRIES = ["0", "1", "-1", "2", "-3", "1/3", "-7/2", "0.1", "1e-300", "1e200", "1e300",
           "1000000000000000000000000000000", "-1000000000000000000000000000000",
           "9223372036854775808", "-9223372036854775809"]
PAGES = ["home", "build", "steps", "train", "samples", "vae", "benchmark", "polyhedra",
         "glossary"]
# The link's parameters: the app's own (A, P, ...) and widgets bound to the URL.
KEYS = ["A", "P", "build_mode", "controls", "lesson", "paint", "preset", "dd_order", "dd_step",
        "poly_example", "poly_scale", "poly_mode", "poly_step", "samples_seed", "samples_steps",
        "samples_frames", "samples_n", "samples_set", "samples_poly", "train_nonneg",
        "train_task", "train_width", "train_lr", "train_batch", "train_steps", "train_penalty",
        "train_methods", "train_set", "train_poly", "train_seed", "vae_seed", "vae_latent",
        "vae_hidden", "vae_source", "bench_width", "bench_box", "bench_batches",
        "home_example", "proj_k", "proj_seed", "angle_az", "show_polar_2d", "table_d"]
JUNK = ["", "abc", "-1", "0", "1e999", "inf", "-inf", "nan", "99999999999999999999", "1,2;3",
        "[]", "\u2603", "1;2;3;4;5", "true", "-0", "0.5", "1/0", "x" * 3000, ";;;", "0,0;0,0"]
BUTTONS = {"train": "train_step", "benchmark": "bench_go", "samples": "samples_go"}


def _errors(at) -> list[str]:
    return [str(e.value)[:160] for e in at.exception]


def _matrix(rng: random.Random, rows: int, cols: int, sep: str, row_sep: str) -> str:
    return row_sep.join(sep.join(rng.choice(ENTRIES) for _ in range(cols)) for _ in range(rows))


def cone_case(rng: random.Random) -> tuple[str, list[str]]:
    from tests.app.pages import open_page

    A = _matrix(rng, rng.randint(1, 5), rng.choice([2, 2, 3, 3, 4]), ",", ";")
    page = rng.choice(["build", "steps", "train", "benchmark", "samples", "home"])
    at = open_page(page, A=A, check=False, timeout=300)
    bad = _errors(at)
    button = BUTTONS.get(page)
    if not bad and button:
        try:
            if page == "samples":
                at.number_input(key="samples_steps").set_value(50).run()
                at.number_input(key="samples_frames").set_value(5).run()
            at.button(key=button).click().run()
        except KeyError:  # the page said why it has no button (a cone it cannot use)
            pass
        bad = _errors(at)
    return f"{page}?A={A}", bad


def polyhedron_case(rng: random.Random) -> tuple[str, list[str]]:
    from tests.app.pages import open_page

    m = rng.randint(1, 6)
    A = _matrix(rng, m, rng.choice([2, 2, 3, 3, 4]), " ", "\n")
    b = "\n".join(rng.choice(ENTRIES) for _ in range(m))
    at = open_page("polyhedra", poly_mode="A and b", check=False, timeout=300)
    at.text_area(key="poly_A").set_value(A).run()
    at.text_area(key="poly_b").set_value(b).run()
    bad = _errors(at)
    try:
        slider = at.slider(key="poly_step")
        for k in range(int(slider.max) + 1):
            slider.set_value(k).run()
            bad += [f"step {k}: {e}" for e in _errors(at)]
    except KeyError:  # no step by step for this polyhedron (the page says why)
        pass
    return f"polyhedra A={A!r} b={b!r}", bad


def link_case(rng: random.Random) -> tuple[str, list[str]]:
    from tests.app.pages import open_page

    page = rng.choice(PAGES)
    params = {k: rng.choice(JUNK) for k in rng.sample(KEYS, rng.randint(1, 6))}
    at = open_page(page, check=False, timeout=120, **params)
    return f"{page} {params}", _errors(at)


KINDS: dict[str, Callable[[random.Random], tuple[str, list[str]]]] = {
    "links": link_case, "cones": cone_case, "polyhedra": polyhedron_case}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.fuzz_pages", description=__doc__.split(
        "\n\n")[0])
    p.add_argument("--seconds", type=float, default=300.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", choices=sorted(KINDS))
    args = p.parse_args(argv)
    rng = random.Random(args.seed)
    kinds = [KINDS[args.only]] if args.only else list(KINDS.values())
    end = time.monotonic() + args.seconds
    runs = problems = 0
    while time.monotonic() < end:
        what, bad = rng.choice(kinds)(rng)
        runs += 1
        if bad:
            problems += 1
            print(f"PROBLEM {what}: {bad[0]}", flush=True)
    print(f"{runs} page runs, {problems} with an exception")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

r"""The double description itself, exact, bounded in size and time, with two backends.

The work starts from the integer rows of ``A`` (``cone.py`` makes them): their pivots (the rank),
the extreme rays of the reduced pointed problem :math:`\{y \in \mathbb{R}^r : A_J y \le 0\}`,
the redundant rows and the exact views (:func:`conecore._cdd_worker.run`).

Backends (both exact, both give the same primitive integer rays and the same redundant rows):

* ``"cddlib"``: pycddlib in GMP rationals, the reference implementation. pycddlib ships no
  Linux or macOS wheels, so it is an extra: ``pip install "conecore[cdd]"`` (building it needs
  Debian's ``libcdd-dev`` and ``libgmp-dev``).
* ``"python"``: :mod:`conecore.dd_exact`, a double description in Python integers that needs
  nothing installed; used automatically when ``import cdd`` fails. On this project's benchmark
  cones it is no slower than pycddlib (see ``dd_exact``'s docstring).

Choose with ``Limits(backend=...)``, the ``backend=`` argument of the functions here, or the
environment variable ``CONECORE_BACKEND`` (``auto``, ``cddlib`` or ``python``); the default,
``auto``, takes cddlib when it can be imported.

Neither backend can be interrupted from inside the process, and pycddlib holds the interpreter
(the GIL) while it runs: a 400-row cone held a server's every session for 13 s. So work whose
estimated cost (:func:`estimate_seconds`, pessimistic) passes ``Limits.in_process_seconds``
(50 ms) runs in a child process (``_cdd_worker.py``, run as a script: it starts in about
30-50 ms, importing neither numpy nor conecore) that is killed after ``Limits.timeout`` and
limits its own address space to ``Limits.max_memory``; at most one child per core runs at once
(:mod:`conecore.gate`, where requests wait in line and say so). The upper bound theorem only
feeds the estimate: it never refuses (``Limits.max_rays_bound`` is infinite by default). One
child run computes everything asked for (rays, redundant rows, exact views), so a page pays
for one start-up.

``import cdd`` happens inside the functions, so the rest of conecore (the layer, the benchmark)
runs where pycddlib is not installed.
"""

from __future__ import annotations

import io
import math
import os
import signal
import sys
from dataclasses import dataclass

from conecore import _cdd_worker as _worker
from conecore.errors import ConeError, ConeTimeoutError, ConeTooLargeError
from conecore.exact import IntMatrix, bareiss_work, echelon_pivots
from conecore.gate import Ticket, run_child

BACKENDS = ("cddlib", "python")
BACKEND_ENV = "CONECORE_BACKEND"
_ALIASES = {"auto": "auto", "": "auto", "cddlib": "cddlib", "cdd": "cddlib",
            "pycddlib": "cddlib", "python": "python", "pure": "python", "py": "python"}


class BackendError(ConeError, ValueError):
    """An unknown backend name (in an argument, ``Limits`` or ``CONECORE_BACKEND``)."""


class BackendUnavailableError(ConeError, ImportError):
    """The cddlib backend was asked for, but pycddlib cannot be imported."""


def cddlib_available() -> bool:
    """Whether pycddlib (with its exact GMP module) can be imported."""
    try:
        import cdd.gmp  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_backend(backend: str | None = None) -> str:
    """The backend to use: ``"cddlib"`` or ``"python"``.

    ``backend`` (an argument or ``Limits.backend``) wins; otherwise the environment variable
    ``CONECORE_BACKEND``; otherwise ``"auto"``, which takes cddlib when it can be imported.
    Asking for cddlib where pycddlib is missing raises :class:`BackendUnavailableError`.
    """
    source = "backend=" + repr(backend)
    if backend is None:
        backend = os.environ.get(BACKEND_ENV, "")
        source = f"{BACKEND_ENV}={backend}"
    name = _ALIASES.get(backend.strip().lower())
    if name is None:
        raise BackendError(
            f"unknown double description backend {backend!r} ({source}); use one of "
            f"'auto', 'cddlib' or 'python'")
    if name == "auto":
        return "cddlib" if cddlib_available() else "python"
    if name == "cddlib" and not cddlib_available():
        raise BackendUnavailableError(
            f"the cddlib backend was asked for ({source}) but pycddlib cannot be imported: "
            'install it with  pip install "conecore[cdd]"  (it has no wheels for Linux or '
            "macOS, so it compiles against cddlib and GMP: on Debian or Ubuntu first "
            "apt-get install libcdd-dev libgmp-dev), or use the pure-Python exact backend "
            f"(backend='python', or unset {BACKEND_ENV})")
    return name



@dataclass(frozen=True)
class Limits:
    """Bounds on what a conversion may attempt. The defaults suit a laptop; the app lowers them.

    Before starting: ``max_dim`` and ``max_rows`` bound the input; ``max_elimination`` bounds
    the exact rank computation (about ``rank * rows * columns`` integer operations) and
    ``max_bit_work`` its cost with big integers (:func:`conecore.exact.bareiss_work`, units of
    about 0.1 µs, so ``3e7`` is about 3 s); ``max_rays_bound`` refuses problems whose
    upper-bound-theorem ray count is larger (infinite by default: the bound is a poor predictor
    of work, so the time and memory limits decide).

    While running: work whose estimated cost (:func:`estimate_seconds`) is at most
    ``in_process_seconds`` runs in this process; anything more runs in a child process, at most
    :func:`conecore.gate.max_parallel` at once, killed after ``timeout`` seconds and limited to
    ``max_memory`` bytes of address space; a cone with more than ``max_rays`` extreme rays is
    refused once they are counted (before they are sent back).

    ``backend`` (``"auto"``, ``"cddlib"`` or ``"python"``; ``None`` reads the environment
    variable ``CONECORE_BACKEND``) picks the exact arithmetic (see :func:`resolve_backend`).
    """

    max_dim: int = 4096
    max_rows: int = 5000
    max_elimination: int = 50_000_000
    max_bit_work: float = 3e7
    max_rays_bound: float = math.inf
    timeout: float = 30.0
    in_process_seconds: float = 0.05
    max_memory: int = 2**30
    max_rays: int = 1_000_000
    backend: str | None = None


DEFAULT_LIMITS = Limits()


def max_extreme_rays(rows: int, rank: int) -> int:
    r"""Upper bound theorem: the most extreme rays a pointed cone in :math:`\mathbb{R}^r` with
    ``rows`` facets can have (the facets of the cyclic ``(r-1)``-polytope with ``rows`` vertices).

    >>> max_extreme_rays(5, 3)   # a pentagonal cone in 3-D has 5 rays
    5
    """
    if rank <= 0:
        return 0
    if rank <= 2:
        return rank
    n = rank - 1
    if rows <= n + 1:
        return rows
    return math.comb(rows - math.ceil(n / 2), n // 2) + math.comb(
        rows - n // 2 - 1, math.ceil(n / 2) - 1
    )


# ---------------------------------------------------------------------- what runs where
OP_SECONDS = 1e-7
"""The unit of the cost estimates: about one Python-level integer operation (0.1 µs here)."""
CDDLIB_FACTOR = 8.0
"""pycddlib (GMP rationals) against the pure-Python backend on small problems (dd_exact's
docstring: 5-8 times slower on the benchmark cones)."""
WANTS = ("pivots", "rays", "redundant", "rays_exact", "lines_exact")


def _words(bits: float) -> float:
    """The cost of one multiplication of ``bits``-bit integers, in machine-word products."""
    return max(1.0, bits / 64) ** 1.58


def max_bits(rows: IntMatrix) -> int:
    """The longest integer in ``rows``, in bits."""
    return max((abs(v).bit_length() for row in rows for v in row), default=0)


def estimate_seconds(m: int, d: int, want: set[str] | frozenset[str], *, rank: int | None = None,
                     eliminate: bool | None = None, bits: int = 1, nrays: int | None = None,
                     backend: str = "cddlib") -> float:
    """A pessimistic estimate of the seconds :func:`conecore._cdd_worker.run` takes to compute
    ``want`` (names in :data:`WANTS`) for an ``m x d`` integer matrix with entries of ``bits``
    bits, of rank ``rank`` (when known), ``nrays`` extreme rays (when already known), and
    whether the job finds the pivots itself (``eliminate``; by default when the rank is not
    known). It only chooses between this process and a child, and never refuses.

    The double description is bounded through the upper bound theorem, a poor predictor of the
    work (the 8-D cross-polytope's 257 rows allow 169 million rays; it has 16): a large bound
    sends the work to a child, where the time and memory limits decide.
    """
    r = min(m, d) if rank is None else rank
    if eliminate is None:
        eliminate = rank is None and bool(set(want) - {"redundant"})
    bound = max_extreme_rays(m, r)
    k = bound if nrays is None else nrays
    w = _words(r * (bits + math.log2(r + 1)))  # ray entries are r x r minors
    ops = 1000.0 + m * d  # calling, copying the rows, lifting
    if eliminate:
        ops += bareiss_work(m, d, bits) + m * d * r
    dd = m * bound * (r + bound / 4 + 8) * w
    if backend == "cddlib":
        dd *= CDDLIB_FACTOR
    if nrays is None and ("rays" in want or "rays_exact" in want):
        ops += dd
    if "redundant" in want:
        if backend == "cddlib":  # one linear program a row
            ops += 2 * m * m * (r + 4) ** 2 * w
        else:
            # The rays again, the zero sets, the facets; and, when the cone is flat, one more
            # double description for each implicit equality (a cone that is only the origin
            # makes every row one).
            ops += dd * (1 + m) + m * (k + d) * (r + 4) * w + m * m
    # The exact views are Python loops (they let other threads run every 5 ms): their
    # estimates follow the measured time more closely (Gram products run at C speed).
    if "rays_exact" in want:
        ops += k * d
        if r < d:
            ops += (k * (r * d + r * r) + r * r * d / 4 + r ** 3) * w
    if r < d and "lines_exact" in want:
        ops += r * r * d * w + (d - r) * (r + d / 50)
    return ops * OP_SECONDS


def solve(job: dict, limits: Limits = DEFAULT_LIMITS, *, seconds: float,
          ticket: Ticket | None = None) -> dict:
    """Run ``job`` (see :func:`conecore._cdd_worker.run`) here when ``seconds``, its estimated
    cost, is at most ``limits.in_process_seconds``, else in a child process through the gate.

    Raises :class:`ConeTimeoutError` after ``limits.timeout``, :class:`ConeTooLargeError` when
    the child runs out of ``limits.max_memory`` or the cone has more than ``limits.max_rays``
    rays, and :class:`conecore.gate.ConeCancelledError` when ``ticket``'s owner asks again.
    """
    job = dict(job, max_rays=limits.max_rays)
    if seconds <= limits.in_process_seconds:
        try:
            return _worker.run(job)
        except _worker.TooManyRays as exc:
            raise _too_many_rays(exc.args[0], limits) from None
    return _run_in_child(job, limits, ticket)


def _too_many_rays(count: int, limits: Limits) -> ConeTooLargeError:
    return ConeTooLargeError(
        f"the cone has {count:,} extreme rays, over the limit of {limits.max_rays:,}; remove "
        "constraints or lower the dimension")


def _run_in_child(job: dict, limits: Limits, ticket: Ticket | None) -> dict:
    """Run the job in a child process (``_cdd_worker.py``) that is killed after
    ``limits.timeout`` seconds and may use ``limits.max_memory`` bytes of address space."""
    header = {k: job[k] for k in ("ncols", "want", "backend", "pivot_rows", "pivot_cols",
                                  "max_rays") if job.get(k) is not None}
    payload = io.StringIO()
    _worker.write_message(payload, header, {k: job[k] for k in ("rows", "rays")
                                            if job.get(k) is not None})
    argv = [sys.executable, _worker.__file__, str(int(limits.max_memory))]
    result = run_child(argv, payload.getvalue(), limits.timeout, ticket)
    rows = job["rows"]
    what = f"{len(rows)} constraints in {job['ncols']} dimensions"
    if result.timed_out:
        raise ConeTimeoutError(
            f"the double description of {what} did not finish within {limits.timeout:g} s and "
            "was stopped; the cone probably has very many extreme rays")
    answer: dict = {}
    if result.returncode == 0 and result.stdout:
        answer, matrices = _worker.read_message(io.StringIO(result.stdout))
        answer.update(matrices)
    error = answer.get("error")
    out_of_memory = (error == "memory" or "MemoryError" in result.stderr
                     or "allocate" in result.stderr
                     or result.returncode in (-signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS))
    if out_of_memory:
        raise ConeTooLargeError(
            f"the double description of {what} needed more than its memory limit of "
            f"{limits.max_memory / 2**20:,.0f} MB and was stopped; the cone probably has very "
            "many extreme rays")
    if error == "rays":
        raise _too_many_rays(answer["count"], limits)
    if result.returncode != 0 or not result.stdout:
        err = result.stderr.strip()
        last = err.splitlines()[-1] if err else f"exit code {result.returncode}"
        raise ConeError(f"the double description failed: {last}")
    return answer


def extreme_rays(rows: IntMatrix, rank: int, limits: Limits = DEFAULT_LIMITS,
                 backend: str | None = None, ticket: Ticket | None = None) -> IntMatrix:
    """Extreme rays (primitive integer vectors) of the pointed cone ``{y : B y <= 0}`` (``B``
    has ``rank`` columns and full column rank; zero, repeated and opposite rows are fine).

    ``backend`` (else ``limits.backend``, else ``CONECORE_BACKEND``) picks the arithmetic, see
    :func:`resolve_backend`; the set of rays does not depend on it, their order may. Where it
    runs, and what can stop it, is :func:`solve`'s business.
    """
    name = resolve_backend(backend if backend is not None else limits.backend)
    check_bound(rows, rank, limits)
    if not any(any(r) for r in rows):
        return []
    m = len(rows)
    seconds = estimate_seconds(m, rank, {"rays"}, rank=rank, bits=max_bits(rows), backend=name)
    job = {"rows": rows, "ncols": rank, "pivot_cols": list(range(rank)), "want": ["rays"],
           "backend": name}
    return solve(job, limits, seconds=seconds, ticket=ticket)["rays"]


def check_bound(rows: IntMatrix, rank: int, limits: Limits) -> None:
    """Refuse, before starting, a problem whose upper-bound-theorem ray count passes
    ``limits.max_rays_bound`` (infinite by default)."""
    if math.isinf(limits.max_rays_bound):
        return
    equalities, inequalities = _worker.split_rows(rows)
    eq_rank = len(echelon_pivots(equalities, rank)[1]) if equalities else 0
    bound = max_extreme_rays(len(inequalities), rank - eq_rank)
    if bound > limits.max_rays_bound:
        raise ConeTooLargeError(
            f"{len(inequalities)} distinct inequalities in {rank - eq_rank} essential dimensions "
            f"could give up to {bound:,} extreme rays (upper bound theorem), over the limit of "
            f"{limits.max_rays_bound:,}; remove constraints or lower the dimension"
        )


def redundant_rows(rows: IntMatrix, backend: str | None = None,
                   limits: Limits = DEFAULT_LIMITS, ticket: Ticket | None = None) -> list[int]:
    """Indices (into ``rows``) of constraints implied by the remaining ones.

    Rows are examined in turn and a redundant row is dropped before the next is examined, so
    of two identical rows the later one is reported. Zero rows are always redundant.
    ``backend``: see :func:`resolve_backend`; both give the same rows. Large problems run in a
    child process under ``limits`` (see :func:`solve`).
    """
    name = resolve_backend(backend if backend is not None else limits.backend)
    if not rows:
        return []
    m, d = len(rows), len(rows[0])
    seconds = estimate_seconds(m, d, {"redundant"}, bits=max_bits(rows), backend=name)
    job = {"rows": rows, "ncols": d, "want": ["redundant"], "backend": name}
    return solve(job, limits, seconds=seconds, ticket=ticket)["redundant"]

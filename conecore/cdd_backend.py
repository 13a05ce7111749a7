r"""The double description itself, exact, bounded in size and time, with two backends.

Only pointed, full-column-rank problems reach this module (``cone.py`` separates the lineality
space first), given as integer rows ``b_i`` of :math:`\{y \in \mathbb{R}^r : B y \le 0\}`.

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

Neither backend can be interrupted from inside the process, so a problem that may take long
runs in a child process (``_cdd_worker.py``, run as a script) that is killed after its time
limit. Small problems, whose number of rays is bounded by a few hundred by the upper bound
theorem, run in the process: starting a child costs more than solving them.

``import cdd`` happens inside the functions, so the rest of conecore (the layer, the benchmark)
runs where pycddlib is not installed.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass

from conecore import _cdd_worker as _worker
from conecore import dd_exact
from conecore.errors import ConeError, ConeTimeoutError, ConeTooLargeError
from conecore.exact import IntMatrix, echelon_pivots

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

    ``max_dim`` and ``max_rows`` bound the input; ``max_elimination`` bounds the exact rank
    computation (about ``rank * rows * columns`` integer operations) and ``max_bit_work`` its
    cost with big integers (:func:`conecore.exact.bareiss_work`, units of about 0.1 µs, so
    ``3e7`` is about 3 s); ``max_rays_bound`` refuses
    problems whose upper-bound-theorem ray count is larger; ``timeout`` (seconds) stops the
    double description itself; problems with a ray bound up to ``in_process_rays`` skip the
    child process. ``backend`` (``"auto"``, ``"cddlib"`` or ``"python"``; ``None`` reads the
    environment variable ``CONECORE_BACKEND``) picks the exact arithmetic (see
    :func:`resolve_backend`).
    """

    max_dim: int = 4096
    max_rows: int = 5000
    max_elimination: int = 50_000_000
    max_bit_work: float = 3e7
    max_rays_bound: int = 10_000_000
    timeout: float = 30.0
    in_process_rays: int = 2000
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


def _redundant(rows: IntMatrix, backend: str = "cddlib") -> list[int]:
    """Indices of rows of ``{y : B y <= 0}`` that are implied by the others (checked in turn,
    from the last row to the first); the rows are non-zero."""
    if backend == "python":
        return dd_exact.redundant_rows(rows)
    import cdd
    import cdd.gmp

    mat = cdd.gmp.matrix_from_array(
        [[0] + [-v for v in row] for row in rows], rep_type=cdd.RepType.INEQUALITY
    )
    return sorted(cdd.gmp.redundant_rows(mat))


def extreme_rays(rows: IntMatrix, rank: int, limits: Limits = DEFAULT_LIMITS,
                 backend: str | None = None) -> IntMatrix:
    """Extreme rays (primitive integer vectors) of the pointed cone ``{y : B y <= 0}``.

    ``backend`` (else ``limits.backend``, else ``CONECORE_BACKEND``) picks the arithmetic, see
    :func:`resolve_backend`; the set of rays does not depend on it, their order may.

    Raises :class:`ConeTooLargeError` before starting when the upper bound theorem allows more
    than ``limits.max_rays_bound`` rays, and :class:`ConeTimeoutError` after ``limits.timeout``.
    """
    name = resolve_backend(backend if backend is not None else limits.backend)
    unique = sorted({tuple(r) for r in rows if any(r)})
    if not unique:
        return []
    # Pairs a, -a are equalities: they lower the dimension the rays live in, and cddlib
    # handles them best as its linearity set.
    present = set(unique)
    equalities = [list(r) for r in unique if tuple(-v for v in r) in present and r > tuple(
        -v for v in r)]
    paired = {tuple(r) for r in equalities} | {tuple(-v for v in r) for r in equalities}
    inequalities = [list(r) for r in unique if r not in paired]
    eq_rank = len(echelon_pivots(equalities, rank)[1]) if equalities else 0
    bound = max_extreme_rays(len(inequalities), rank - eq_rank)
    if bound > limits.max_rays_bound:
        raise ConeTooLargeError(
            f"{len(inequalities)} distinct inequalities in {rank - eq_rank} essential dimensions "
            f"could give up to {bound:,} extreme rays (upper bound theorem), over the limit of "
            f"{limits.max_rays_bound:,}; remove constraints or lower the dimension"
        )
    if not inequalities:
        return []
    ordered = equalities + inequalities
    if bound <= limits.in_process_rays:
        return _worker.extreme_rays(ordered, len(equalities), name)
    return _run_in_child(ordered, len(equalities), limits.timeout, name)


def _run_in_child(rows: IntMatrix, equalities: int, timeout: float,
                  backend: str = "cddlib") -> IntMatrix:
    """Run the double description in a child process that is killed after ``timeout`` seconds."""
    payload = json.dumps({"rows": rows, "equalities": equalities, "backend": backend})
    proc = subprocess.Popen(
        [sys.executable, _worker.__file__],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(payload, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise ConeTimeoutError(
            f"the double description of {len(rows)} constraints in {len(rows[0])} dimensions "
            f"did not finish within {timeout:g} s and was stopped; the cone probably has very "
            "many extreme rays"
        ) from None
    if proc.returncode != 0:
        last = err.strip().splitlines()[-1] if err.strip() else f"exit code {proc.returncode}"
        raise ConeError(f"the double description failed: {last}")
    return json.loads(out)["rays"]


def redundant_rows(rows: IntMatrix, backend: str | None = None) -> list[int]:
    """Indices (into ``rows``) of constraints implied by the remaining ones.

    Rows are examined in turn and a redundant row is dropped before the next is examined, so
    of two identical rows the later one is reported. Zero rows are always redundant.
    ``backend``: see :func:`resolve_backend`; both give the same rows.
    """
    keep = [i for i, r in enumerate(rows) if any(r)]
    zero = [i for i, r in enumerate(rows) if not any(r)]
    if not keep:
        return zero
    found = _redundant([rows[i] for i in keep], resolve_backend(backend))
    return sorted(zero + [keep[j] for j in found])

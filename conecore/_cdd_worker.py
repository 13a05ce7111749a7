"""The exact work of a conversion, run in the server's process when it is cheap and in a child
process (this file, run as a script) when it may take long (see ``cdd_backend.py``).

Run as a script (``python _cdd_worker.py``), not as part of the package, so that it starts in a
few tens of milliseconds: it imports pycddlib, or only ``dd_exact.py`` (the pure-Python
backend) and ``exact_pure.py`` (next to this file, as top-level modules); never numpy or
conecore. Before reading its job it limits its own address space (``RLIMIT_AS``) to the
number of bytes given as its argument (itself, not through ``preexec_fn``, which is unsafe
in a threaded server and rules out ``vfork``).

One job (:func:`run`) computes whatever a page needs from the integer rows ``A`` of a cone, in
one go: the pivots (fraction-free elimination), the extreme rays of the reduced pointed problem
``{y : A[:, J] y <= 0}``, the redundant rows, the exact rays (projected onto the row space)
and an integer basis of the lines.

Protocol (text, so that neither side parses one huge JSON document in one call): the first
line is a JSON header, then each matrix as a line ``name count`` followed by ``count`` lines of
integers in hexadecimal (Python reads any length of hex, while decimal text over 4,300 digits
is refused; a row with few non-zero entries is written sparse). The answer has the same
shape; its header holds ``error`` when the job failed.
"""

import json
import math
import sys

HEADER_LISTS = ("pivot_rows", "pivot_cols", "redundant")
MATRICES = ("rows", "rays", "rays_exact", "lines_exact")


class TooManyRays(Exception):
    """The cone has more extreme rays than the job's ``max_rays``."""


def _modules():
    if __package__:
        from conecore import dd_exact, exact_pure
    else:  # run as a script: this folder is sys.path[0]
        import dd_exact
        import exact_pure
    return dd_exact, exact_pure


def extreme_rays(rows, equalities=0, backend="cddlib"):
    """Extreme rays of the pointed cone ``{y : B y <= 0}`` in exact arithmetic (cddlib's GMP
    rationals, or Python integers with ``backend="python"``); the first ``equalities`` rows hold
    with equality (cddlib's linearity set)."""
    if backend == "python":
        return _modules()[0].extreme_rays(rows, equalities)
    import cdd
    import cdd.gmp

    # cddlib's H-representation is  b - A y >= 0;  here b = 0 and A = B.
    mat = cdd.gmp.matrix_from_array(
        [[0] + [-v for v in row] for row in rows],
        lin_set=set(range(equalities)),
        rep_type=cdd.RepType.INEQUALITY,
    )
    gens = cdd.gmp.copy_generators(cdd.gmp.polyhedron_from_matrix(mat))
    if gens.lin_set:
        raise RuntimeError("internal error: the reduced cone should be pointed but has lines")
    rays = []
    for t, *y in gens.array:
        if not any(y):
            continue
        if t != 0:
            raise RuntimeError("internal error: a cone produced a vertex other than the origin")
        lcm = 1
        for v in y:
            lcm = lcm * v.denominator // math.gcd(lcm, v.denominator)
        ints = [int(v * lcm) for v in y]
        g = 0
        for v in ints:
            g = math.gcd(g, v)
        rays.append([v // g for v in ints])
    return rays


def split_rows(rows):
    """The distinct non-zero rows of ``{y : B y <= 0}`` as (equalities, inequalities): a pair
    ``a, -a`` is one equality (it lowers the dimension the rays live in, and cddlib handles it
    best as its linearity set)."""
    unique = sorted({tuple(r) for r in rows if any(r)})
    present = set(unique)
    equalities = [list(r) for r in unique
                  if tuple(-v for v in r) in present and r > tuple(-v for v in r)]
    paired = {tuple(r) for r in equalities} | {tuple(-v for v in r) for r in equalities}
    inequalities = [list(r) for r in unique if r not in paired]
    return equalities, inequalities


def pointed_rays(rows, backend="cddlib"):
    """Extreme rays of ``{y : B y <= 0}`` for a ``B`` of full column rank (zero, repeated and
    opposite rows allowed)."""
    equalities, inequalities = split_rows(rows)
    if not inequalities:
        return []
    return extreme_rays(equalities + inequalities, len(equalities), backend)


def redundant_rows(rows, backend="cddlib"):
    """Indices of rows of ``{y : B y <= 0}`` implied by the others: zero rows, and the rest
    examined in turn from the last to the first (a redundant row is dropped before the next is
    examined, so of two identical rows the later one is reported)."""
    keep = [i for i, r in enumerate(rows) if any(r)]
    zero = [i for i, r in enumerate(rows) if not any(r)]
    if not keep:
        return zero
    nonzero = [rows[i] for i in keep]
    if backend == "python":
        found = _modules()[0].redundant_rows(nonzero)
    else:
        import cdd
        import cdd.gmp

        mat = cdd.gmp.matrix_from_array(
            [[0] + [-v for v in row] for row in nonzero], rep_type=cdd.RepType.INEQUALITY)
        found = cdd.gmp.redundant_rows(mat)
    return sorted(zero + [keep[j] for j in found])


def run(job):
    """Compute what ``job["want"]`` names from the integer rows ``job["rows"]`` (``m x ncols``):

    * ``pivots``: ``pivot_rows`` and ``pivot_cols`` (given in the job when already known);
    * ``rays``: the extreme rays of ``{y : A[:, J] y <= 0}`` (primitive integers, in ``R^r``);
      more than ``max_rays`` raises :class:`TooManyRays`;
    * ``redundant``: the redundant rows of ``A[:, J]`` (of ``A`` when no pivots are known or
      wanted: the same rows);
    * ``rays_exact``: the rays lifted to ``R^d`` and projected onto the row space of ``A``;
    * ``lines_exact``: an integer basis of ``ker A``.
    """
    exact_pure = _modules()[1]
    rows = job["rows"]
    ncols = job["ncols"]
    want = set(job["want"])
    backend = job.get("backend", "cddlib")
    out = {}
    pivot_rows, pivot_cols = job.get("pivot_rows"), job.get("pivot_cols")
    if pivot_cols is None and want & {"pivots", "rays", "rays_exact", "lines_exact"}:
        pivot_rows, pivot_cols = exact_pure.echelon_pivots(rows, ncols)
        out["pivot_rows"], out["pivot_cols"] = pivot_rows, pivot_cols
    reduced = rows if pivot_cols is None else [[row[j] for j in pivot_cols] for row in rows]
    rays = job.get("rays")
    if rays is None and want & {"rays", "rays_exact"}:
        rays = pointed_rays(reduced, backend) if pivot_cols else []
        if len(rays) > job.get("max_rays", math.inf):
            raise TooManyRays(len(rays))
        out["rays"] = rays
    if "redundant" in want:
        out["redundant"] = redundant_rows(reduced, backend)
    if "rays_exact" in want:
        lifted = exact_pure.lift(rays, pivot_cols, ncols)
        if len(pivot_cols) < ncols:
            lifted = exact_pure.project_to_rowspace(rows, pivot_rows, lifted)
        out["rays_exact"] = lifted
    if "lines_exact" in want:
        out["lines_exact"] = exact_pure.nullspace_basis(rows, pivot_rows, pivot_cols, ncols)
    return out


# ---------------------------------------------------------------------- the text protocol
def _row_text(row):
    nonzero = [(j, v) for j, v in enumerate(row) if v]
    if 3 * len(nonzero) < len(row):  # sparse (a line basis: r + 1 entries of d)
        return f"~{len(row)} " + " ".join(f"{j:x}:{v:x}" for j, v in nonzero)
    return " ".join(format(v, "x") for v in row)


def _row(text):
    if text.startswith("~"):
        size, *pairs = text.split()
        row = [0] * int(size[1:])
        for pair in pairs:
            j, v = pair.split(":")
            row[int(j, 16)] = int(v, 16)
        return row
    return [int(t, 16) for t in text.split()]


def write_message(stream, header, matrices):
    """A JSON header line, then each matrix as ``name count`` and rows of hex integers (a row
    with few non-zero entries as ``~length index:value ...``)."""
    stream.write(json.dumps(header) + "\n")
    for name, mat in matrices.items():
        stream.write(f"{name} {len(mat)}\n")
        for row in mat:
            stream.write(_row_text(row) + "\n")


def read_message(lines):
    """The header and the matrices of a message (``lines``: an iterator over its lines)."""
    header = json.loads(next(lines))
    matrices = {}
    for line in lines:
        name, count = line.split()
        matrices[name] = [_row(next(lines).rstrip("\n")) for _ in range(int(count))]
    return header, matrices


def _limit_memory(limit):
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return
    if limit:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        if soft == resource.RLIM_INFINITY or limit < soft:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def main():
    if len(sys.argv) > 1:  # the address-space limit in bytes, set before reading the job
        _limit_memory(int(sys.argv[1]))
    out = None
    try:
        header, matrices = read_message(iter(sys.stdin.read().splitlines()))
        out = run(dict(header, **matrices))
    except MemoryError:
        answer = {"error": "memory"}
    except TooManyRays as exc:
        answer = {"error": "rays", "count": exc.args[0]}
    if out is None:
        write_message(sys.stdout, answer, {})
        return
    write_message(sys.stdout, {k: out[k] for k in HEADER_LISTS if k in out},
                  {k: out[k] for k in MATRICES if k in out})


if __name__ == "__main__":
    main()

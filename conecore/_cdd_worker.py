"""Child process for a double description that may need to be stopped (see cdd_backend.py).

Run as a script (``python _cdd_worker.py``), not as part of the package, so that it starts in
a few tens of milliseconds: it imports only pycddlib, or only ``dd_exact.py`` (the pure-Python
backend, next to this file, as a top-level module) when pycddlib is not wanted or not there.
Reads ``{"rows": [[int, ...], ...], "equalities": k, "backend": "cddlib" | "python"}`` as JSON
on stdin (the first ``k`` rows are equalities) and writes ``{"rays": [[int, ...], ...]}``
(primitive integer vectors).
"""

import json
import math
import sys


def extreme_rays(rows, equalities=0, backend="cddlib"):
    """Extreme rays of the pointed cone ``{y : B y <= 0}`` in exact arithmetic (cddlib's GMP
    rationals, or Python integers with ``backend="python"``); the first ``equalities`` rows hold
    with equality (cddlib's linearity set)."""
    if backend == "python":
        if __package__:
            from conecore import dd_exact
        else:  # run as a script: this folder is sys.path[0]
            import dd_exact
        return dd_exact.extreme_rays(rows, equalities)
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


if __name__ == "__main__":
    job = json.load(sys.stdin)
    rays = extreme_rays(job["rows"], job["equalities"], job.get("backend", "cddlib"))
    json.dump({"rays": rays}, sys.stdout)

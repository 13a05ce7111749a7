#!/usr/bin/env bash
# Every suite of `python -m conecore.bench` on one device, the checkerboards read from JSON
# (written by `python -m conecore.gpu_check --write-cones`: no pycddlib needed), each suite
# under its own 2-minute limit: issue 16 asks each to finish within 2 minutes on one GPU.
# The last step of scripts/gpu_session.sh. BENCH_ARGS (default "--device cuda") is appended to
# every suite, after this script's own options, so it overrides them:
#   BENCH_ARGS="--device cpu --batch 8 --repeat 1" scripts/gpu_bench.sh  # a smoke run on a CPU
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
read -r -a EXTRA <<< "${BENCH_ARGS:---device cuda}"
CONES=$(mktemp -d)
trap 'rm -rf "$CONES"' EXIT
"$PYTHON" -m conecore.gpu_check --write-cones "$CONES" > /dev/null || exit 1
failed=0
for suite in layer toy train vae polyhedron; do
    case $suite in
        layer) args=(--cone "$CONES/cb28.json" --batch 256,4096,65536 --repeat 3) ;;
        polyhedron) args=(--repeat 3) ;;  # its own cases
        *) args=(--cone "$CONES/cb8.json") ;;  # toy and vae: one coordinate per 8 x 8 pixel
    esac
    start=$SECONDS
    timeout -k 10 120 "$PYTHON" -m conecore.bench --suite "$suite" "${args[@]}" "${EXTRA[@]}"
    rc=$?
    echo "=== bench $suite: exit $rc, $((SECONDS - start)) s"
    [ "$rc" -eq 0 ] || failed=$((failed + 1))
done
exit "$failed"

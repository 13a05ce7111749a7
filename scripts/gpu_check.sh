#!/usr/bin/env bash
# The ConeLayer on a GPU: feasibility under autocast (bf16, fp16) and TF32, and its speed against
# nn.Linear at batch 256 / 4096 / 65536, eager and compiled; prints two tables (about 2-4 min).
#
# Needs torch with CUDA, numpy and scipy; not pycddlib (the cones are read from JSON with
# cc.cone_from_json). Run from anywhere:
#   scripts/gpu_check.sh                    # the full check on cuda
#   scripts/gpu_check.sh --no-compile       # eager only
#   scripts/gpu_check.sh --device cpu --quick --threads 1   # smoke test on a CPU
# Any other option goes to `python -m conecore.gpu_check` (--help lists them); exit status 1
# when a feasibility check failed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
exec env PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" timeout 290 "$PYTHON" -m conecore.gpu_check "$@"

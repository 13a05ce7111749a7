#!/usr/bin/env bash
# Everything a session with a GPU should measure, in one command (about 8-10 min on one H200,
# never run in full there yet), the most needed first, so that a session cut short still has
# it:
#   1. scripts/gpu_check.sh: feasibility under autocast and TF32, speed eager and compiled
#      (the README's GPU numbers);
#   2. the CUDA-only tests of the layer (the Triton kernels compiled, the one-node training),
#      where pytest and hypothesis are installed (carry their wheels otherwise);
#   3. where the time goes: torch.profiler tables at batches 256 and 4096, eager and compiled,
#      forward and training step (gpu_check --profile), and the code Inductor generated;
#   4. python -m scripts.triton_blocks: the Triton kernels alone, for three splits of a row
#      block over threads (the default, 16 entries a thread, and half and twice that);
#   5. the eager speed again without the Triton kernels (CONECORE_TRITON=0), for comparison;
#   6. the compiled forward with Inductor's freezing (the fold P W once, at compile time;
#      freezing changes only inference graphs, so no training step);
#   7. scripts/gpu_bench.sh: every `python -m conecore.bench` suite on the GPU (each should
#      finish within 2 minutes), with whatever time is left.
# Each step has its own time limit and the next runs whatever the last gave; the whole stays
# within SESSION_LIMIT seconds (default 570, under the device tool's 600 s a command): a step
# gets at most what is left, and one with under 30 s left is skipped, saying so. With OUT set
# (the device tool's $OUT), every step's output is written there, one file each.
#   scripts/gpu_session.sh
#   SKIP_TESTS=1 GPU_CHECK_ARGS="--device cpu --quick --threads 1" \
#     BLOCKS_ARGS="--device cpu --quick" BENCH_ARGS="--device cpu --batch 8 --repeat 1" \
#     scripts/gpu_session.sh  # smoke test, on a CPU
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
OUT="${OUT:-}"
SESSION_LIMIT="${SESSION_LIMIT:-570}"
SECONDS=0
read -r -a EXTRA <<< "${GPU_CHECK_ARGS:-}"  # appended to every gpu_check call
read -r -a BLOCKS <<< "${BLOCKS_ARGS:-}"  # given to scripts/triton_blocks.py

step() {  # step NAME SECONDS COMMAND...
    # The step's process group is stopped at the limit, and killed 10 s later if it ignores
    # that. With OUT set, the output goes to a file and is printed after: through a pipe, a
    # process that left the group (a new session) and holds the output kept the next step
    # waiting until it exited (tried with `setsid sleep 30`: 30 s against 2).
    local name=$1 limit=$2 rc left
    shift 2
    left=$((SESSION_LIMIT - SECONDS))
    if [ "$left" -lt 30 ]; then
        echo "=== $name: skipped (${left}s left of SESSION_LIMIT=${SESSION_LIMIT}s)"
        return
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo "=== $name ($(date -u +%H:%M:%S), limit ${limit}s)"
    if [ -n "$OUT" ]; then
        timeout -k 10 "$limit" "$@" > "$OUT/$name.txt" 2>&1
        rc=$?
        cat "$OUT/$name.txt"
    else
        timeout -k 10 "$limit" "$@" 2>&1
        rc=$?
    fi
    echo "=== $name: exit $rc"
}

"$PYTHON" -c "import torch; print(torch.__version__,
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA device')"
step gpu-check 300 "$PYTHON" -m conecore.gpu_check "${EXTRA[@]}"
if [ -n "${SKIP_TESTS:-}" ]; then
    echo "=== cuda-tests: skipped (SKIP_TESTS)"
elif "$PYTHON" -c "import pytest, hypothesis" 2>/dev/null; then
    step cuda-tests 180 "$PYTHON" -m pytest -q -p no:cacheprovider \
        tests/conecore/test_layer.py tests/conecore/test_polyhedron_layer.py \
        -k "cuda or packed or training or ties"
else
    echo "=== cuda-tests: skipped (no pytest/hypothesis here)"
fi
# The profile step also keeps the code Inductor generated (Triton kernels on a GPU) in
# inductor-code.txt, where $OUT is set: which kernels the compiled layer became, without
# another compile. Its log lines are kept out of profile.txt.
LOGS=()
if [ -n "$OUT" ]; then
    LOGS=(TORCH_LOGS=output_code "TORCH_LOGS_OUT=$OUT/inductor-code.txt")
fi
step profile 150 env "${LOGS[@]}" bash -c \
    'exec "$@" 2> >(grep --line-buffered -v "__output_code\]" >&2)' _ \
    "$PYTHON" -m conecore.gpu_check --skip feasibility --profile --batches 256 4096 "${EXTRA[@]}"
step triton-blocks 150 "$PYTHON" -m scripts.triton_blocks "${BLOCKS[@]}"
step no-triton 120 env CONECORE_TRITON=0 "$PYTHON" -m conecore.gpu_check --skip feasibility \
    --no-compile "${EXTRA[@]}"
step freezing 240 "$PYTHON" -m conecore.gpu_check --skip feasibility --freezing "${EXTRA[@]}"
step bench 240 env "PYTHON=$PYTHON" bash scripts/gpu_bench.sh

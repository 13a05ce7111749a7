#!/usr/bin/env bash
# Install torch into the given Python's environment, the build that fits this machine:
#   - an NVIDIA GPU (nvidia-smi lists one): PyPI's wheel, which on Linux is the CUDA build;
#   - Linux without one: the CPU build from PyTorch's own index (183 MB instead of ~2.7 GB of
#     CUDA packages), or, where that index cannot be reached, whatever the public index gives
#     (a local wheel folder in pip's config wins; otherwise the CUDA build, with a warning);
#   - macOS and others: PyPI's wheel (CPU / Apple MPS).
# Skipped when torch already imports. TORCH_VERSION overrides the version.
set -euo pipefail
PY="${1:-.venv/bin/python}"
VERSION="${TORCH_VERSION:-2.13.0}"
CPU_INDEX="https://download.pytorch.org/whl/cpu"

if "$PY" -c 'import torch' >/dev/null 2>&1; then
  echo "torch: $("$PY" -c 'import torch; print(torch.__version__)') is installed already"
  exit 0
fi
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q GPU; then
  echo "torch: an NVIDIA GPU is present: the CUDA build of torch $VERSION (PyPI)"
  exec "$PY" -m pip install -q "torch==$VERSION"
fi
if [ "$(uname -s)" != "Linux" ]; then
  exec "$PY" -m pip install -q "torch==$VERSION"
fi
if "$PY" - "$CPU_INDEX/torch/" <<'PYEOF' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=8).read(1)
PYEOF
then
  echo "torch: no NVIDIA GPU: the CPU build $VERSION+cpu from PyTorch's CPU index"
  exec "$PY" -m pip install -q "torch==$VERSION+cpu" --index-url "$CPU_INDEX" \
    --extra-index-url https://pypi.org/simple
fi
echo "torch: PyTorch's CPU index ($CPU_INDEX) cannot be reached: torch $VERSION from the public"
echo "torch: index (on Linux this is the CUDA build, about 2.7 GB more, unless pip finds a local"
echo "torch: CPU wheel in its find-links)"
exec "$PY" -m pip install -q "torch==$VERSION"

#!/usr/bin/env bash
# One command installs mona_mm and the OpenMMLab stack it runs on:
#   torch (if missing) -> build tools -> mmcv 2.1.0 with ops (from source) -> mmdet, mmseg,
#   mmrotate, pycocotools, test tools -> mona_mm in editable mode.
# Idempotent: finished steps are skipped, and pip's cache keeps the built mmcv wheel, so a second
# run takes seconds. Set PYTHON to choose the interpreter, TORCH_SPEC to choose the torch to install
# when none is present (CUDA users: install torch for your CUDA first, then run this).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
PIP="$PY -m pip"

echo "[install] python: $($PY --version 2>&1)"
if ! $PY -c "import torch" 2>/dev/null; then
  $PIP install "${TORCH_SPEC:-torch==2.13.0}"
fi
echo "[install] torch $($PY -c 'import torch; print(torch.__version__, "cuda" if torch.cuda.is_available() else "cpu")')"

$PIP install -r requirements/build.txt

if $PY -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'" 2>/dev/null; then
  echo "[install] mmcv 2.1.0 with ops already installed"
else
  # Builds CPU ops, plus CUDA ops when torch sees a GPU (or FORCE_CUDA=1). About 10-15 minutes
  # on 2 cores the first time; pip caches the wheel for the next time.
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} $PIP install --no-build-isolation "mmcv==2.1.0"
fi

$PIP install -r requirements.txt
$PIP install --no-build-isolation --no-deps -e .
$PY -c "import mona_mm; print('[install] mona_mm', mona_mm.__version__, 'ready')"

#!/usr/bin/env bash
# Packs what a GPU machine with PyTorch but no package index needs to run mona_mm's CUDA tests:
#
#   PYTHON=/venv/bin/python bash tools/gpu/pack_wheels.sh DEST
#
# PYTHON is an environment made by tools/install.sh (with FORCE_CUDA=1, see docs/install.md) with
# the GPU machine's Python minor version and torch version: mmcv's ops are compiled against both,
# so its wheel is taken from install.sh's build folder for exactly that pair. The other packages
# are the OpenMMLab stack and the small dependencies a PyTorch image usually lacks (PACKAGES
# overrides the list), at the versions installed in PYTHON's environment, i.e. those it was
# tested with. Then, on the GPU machine: bash tools/gpu/run_cuda_tests.sh DEST
set -euo pipefail
DEST=${1:?usage: PYTHON=/venv/bin/python bash tools/gpu/pack_wheels.sh DEST}
PY=${PYTHON:-python3}
PACKAGES=${PACKAGES:-mmengine mmdet mmsegmentation mmrotate e2cnn pycocotools shapely ftfy wcwidth
prettytable terminaltables addict yapf platformdirs termcolor}

INFO=$($PY -c "
import sys, torch
try:
    import mmcv
except ImportError:
    sys.exit('[pack] no mmcv in ' + sys.executable + ': run tools/install.sh with PYTHON=' +
             sys.executable + ' and FORCE_CUDA=1 first.')
if not torch.version.cuda:
    sys.exit('[pack] torch ' + torch.__version__ + ' in ' + sys.executable + ' is a CPU build: '
             'the GPU machine needs mmcv built against its own CUDA torch; point PYTHON at an '
             'environment with that torch (docs/install.md).')
print('py%d%d-torch%s-cu%s' % (*sys.version_info[:2], torch.__version__.split('+')[0],
                               torch.version.cuda), mmcv.__version__)") || exit 1
read -r KEY MMCV_VERSION <<< "$INFO"
BUILDS=${MONA_MM_BUILD_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mona_mm}
WHEEL=$(ls "$BUILDS"/mmcv-"$MMCV_VERSION"-"$KEY"-sm*/dist/mmcv-*.whl 2>/dev/null | head -1) || true
if [ -z "$WHEEL" ]; then
  echo "[pack] no CUDA build of mmcv $MMCV_VERSION for $KEY in $BUILDS: run" \
       "FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST=... PYTHON=$PY bash tools/install.sh first." >&2
  exit 1
fi
mkdir -p "$DEST"
cp "$WHEEL" "$DEST/"
echo "[pack] $(basename "$WHEEL") (from $(dirname "$(dirname "$WHEEL")"))"
for name in $PACKAGES; do
  version=$($PY -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$name")
  # pip wheel takes the published wheel for PYTHON's platform, or builds one from the sdist
  $PY -m pip wheel -q --no-deps --no-build-isolation -w "$DEST" "$name==$version"
  echo "[pack] $name $version"
done
du -sh "$DEST"

#!/usr/bin/env bash
# One command installs mona_mm and the OpenMMLab stack it runs on:
#   torch (if missing) -> build tools -> mmcv 2.1.0 with ops (from source) -> mmdet, mmseg,
#   mmrotate, pycocotools, test tools -> mona_mm in editable mode.
# Idempotent: finished steps are skipped, and the built mmcv wheel is kept, so a second run takes
# seconds. Set PYTHON to choose the interpreter, TORCH_SPEC to choose the torch to install when
# none is present (default torch==2.13.0; the fork: torch==2.14.1 torchvision==0.29.1, since its
# mmrotate imports torchvision). CUDA users: install torch for your CUDA first, then run this.
# MONA_STACK=onedl installs the OneDL fork of the stack instead of the upstream pins
# (requirements/onedl.txt; onedl-mmcv 2.3.6 built as mmcv is); see docs/install.md.
# CUDA: with a CUDA build of torch and a visible GPU, or FORCE_CUDA=1 on a machine without one,
# mmcv's CUDA ops are compiled too, by the nvcc on PATH (or CUDA_HOME's), for the architectures
# in TORCH_CUDA_ARCH_LIST (default: the visible GPUs'); see docs/install.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-python3}
PIP="$PY -m pip"
STACK=${MONA_STACK:-upstream}
case "$STACK" in
  upstream) MMCV_PKG=mmcv; MMCV=2.1.0; REQUIREMENTS=requirements.txt
            OTHERS="onedl-mmengine onedl-mmcv onedl-mmdetection onedl-mmsegmentation onedl-mmrotate" ;;
  onedl)    MMCV_PKG=onedl-mmcv; MMCV=2.3.6; REQUIREMENTS=requirements/onedl.txt
            OTHERS="mmengine mmcv mmdet mmsegmentation mmrotate" ;;
  *) echo "[install] MONA_STACK=$STACK: use upstream (default) or onedl." >&2; exit 1 ;;
esac
MMCV_SDIST=${MMCV_PKG//-/_}-$MMCV  # the sdist's name and folder: mmcv-2.1.0, onedl_mmcv-2.3.6
PATCHES=$ROOT/tools/patches/mmcv-2.1.0  # apply to onedl-mmcv 2.3.6 too (offsets only)
echo "[install] stack: $STACK ($MMCV_PKG $MMCV, $REQUIREMENTS)"
# both stacks have the same module names: the other one's distributions must go first
for dist in $OTHERS; do
  if $PY -m pip show "$dist" >/dev/null 2>&1; then
    echo "[install] removing $dist (the other stack: same modules)"
    $PIP uninstall -y "$dist" >/dev/null
  fi
done

echo "[install] python: $($PY --version 2>&1)"
if ! $PY -c "import torch" 2>/dev/null; then
  # The fork's mmrotate imports torchvision, and PyPI's torchvision imports only beside the torch
  # it was built with (not beside the CPU torch 2.13.0 file): that stack's default is a pair.
  case "$STACK" in
    upstream) DEFAULT_TORCH="torch==2.13.0" ;;
    onedl)    DEFAULT_TORCH="torch==2.14.1 torchvision==0.29.1" ;;
  esac
  # shellcheck disable=SC2086  # TORCH_SPEC may name several requirements
  $PIP install ${TORCH_SPEC:-$DEFAULT_TORCH}
fi
echo "[install] torch $($PY -c 'import torch; print(torch.__version__, "cuda" if torch.cuda.is_available() else "cpu")')"
if [ "$STACK" = onedl ]; then
  # onedl-mmrotate 1.2.1 imports torchvision (mmrotate/models/detectors/h2rbox_v2.py) without
  # declaring it. Without one that imports, every rotated-detection model fails to build.
  if ! $PY -m pip show torchvision >/dev/null 2>&1; then
    TORCHVISION=$($PY -c "import torch; print('torchvision==0.%d.*' % (15 + int(torch.__version__.split('.')[1])))")
    echo "[install] the fork's mmrotate imports torchvision: installing $TORCHVISION (pairs with this torch)"
    $PIP install "$TORCHVISION" && OURS=1 || true
  fi
  if ! TV_ERROR=$($PY -c "import torchvision" 2>&1); then
    # one that this run installed and that does not import is removed again
    [ -z "${OURS:-}" ] || $PIP uninstall -y torchvision >/dev/null
    echo "[install] the fork's mmrotate imports torchvision, and torchvision does not import beside" \
         "torch $($PY -c 'import torch; print(torch.__version__)'): ${TV_ERROR##*$'\n'}" >&2
    echo "[install] install a torch and torchvision built together first, e.g." \
         "'pip install torch==2.14.1 torchvision==0.29.1' (or your CUDA's pair from pytorch.org)," \
         "then rerun; or use the upstream stack (no MONA_STACK)." >&2
    exit 1
  fi
  echo "[install] torchvision $($PY -c 'import torchvision; print(torchvision.__version__)')"
fi

$PIP install -r requirements/build.txt

# Does this install compile mmcv's CUDA ops? mmcv's setup.py does when torch sees a GPU or
# FORCE_CUDA=1; both need a CUDA build of torch. Does torch need C++20 (>= 2.14)?
read -r WITH_CUDA NEEDS_CXX20 < <($PY -c "
import os, sys, torch
wanted = torch.cuda.is_available() or os.environ.get('FORCE_CUDA') == '1'
if wanted and torch.version.cuda is None:
    sys.exit('[install] FORCE_CUDA=1, but torch ' + torch.__version__ + ' is a CPU-only build: '
             'install the torch build for your CUDA first (pip install torch==X), then rerun.')
print(int(wanted), int(tuple(map(int, torch.__version__.split('.')[:2])) >= (2, 14)))")
[ -n "$WITH_CUDA" ] || exit 1

# Finds the CUDA toolkit (CUDA_HOME) and checks that its nvcc can build for this torch.
cuda_toolkit() {
  if [ -z "${CUDA_HOME:-}" ]; then
    if ! command -v nvcc >/dev/null; then
      echo "[install] torch is a CUDA $($PY -c 'import torch; print(torch.version.cuda)') build" \
           "but no nvcc is on PATH: install the CUDA toolkit of that major version and put its" \
           "bin/ on PATH, or set CUDA_HOME." >&2
      return 1
    fi
    # nvcc may be a wrapper script outside the toolkit (torch would then guess CUDA_HOME from
    # the wrapper's folder and find no headers): ask nvcc where its toolkit is.
    CUDA_HOME=$(nvcc --dryrun -c -x cu /dev/null -o /dev/null 2>&1 | sed -n 's/^#\$ TOP=//p')
    CUDA_HOME=$(cd "$CUDA_HOME" && pwd -P)
    export CUDA_HOME
  fi
  if [ -z "${TORCH_CUDA_ARCH_LIST:-}" ] &&
      ! $PY -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
    echo "[install] FORCE_CUDA=1 on a machine without a visible GPU: set TORCH_CUDA_ARCH_LIST to" \
         "the compute capabilities to build for, e.g. \"8.0;9.0\" (A100, H100); torch cannot" \
         "choose them without a GPU." >&2
    return 1
  fi
  local nvcc_version torch_cuda
  nvcc_version=$("$CUDA_HOME/bin/nvcc" --version | sed -n 's/.*release \([0-9.]*\),.*/\1/p')
  torch_cuda=$($PY -c 'import torch; print(torch.version.cuda)')
  echo "[install] CUDA ops: nvcc $nvcc_version ($CUDA_HOME), torch built with CUDA $torch_cuda," \
       "architectures ${TORCH_CUDA_ARCH_LIST:-of the visible GPUs}"
  if [ "${nvcc_version%%.*}" != "${torch_cuda%%.*}" ]; then
    echo "[install] nvcc $nvcc_version cannot build extensions for torch's CUDA $torch_cuda" \
         "(the major versions must match): set CUDA_HOME to a CUDA ${torch_cuda%%.*} toolkit." >&2
    return 1
  fi
  # torch's CUDA headers include cuSPARSE, cuBLAS and cuSOLVER headers. A minimal toolkit (nvcc
  # and the runtime only) lacks them; torch's own pip dependencies (nvidia-*) ship them, so
  # point the compilers there (CPATH comes after the -I folders: the toolkit's own headers win).
  local extra
  extra=$($PY -c "
import glob, os, sys
need = ('cusparse.h', 'cublas_v2.h', 'cublasLt.h', 'cusolverDn.h')
missing = [h for h in need if not os.path.exists(os.path.join(sys.argv[1], 'include', h))]
try:
    import nvidia
    roots = list(nvidia.__path__)
except ImportError:
    roots = []
dirs = []
for h in missing:
    found = sorted(d for r in roots for d in glob.glob(os.path.join(r, '**', 'include'),
                                                       recursive=True)
                   if os.path.exists(os.path.join(d, h)))
    if not found:
        sys.exit('[install] ' + h + ' is in neither ' + sys.argv[1] + '/include nor the nvidia-* '
                 'packages of torch: install the full CUDA toolkit (with its math libraries).')
    dirs += [d for d in found[:1] if d not in dirs]
print(os.pathsep.join(dirs))" "$CUDA_HOME")
  if [ -n "$extra" ]; then
    echo "[install] headers missing from $CUDA_HOME taken from torch's CUDA packages: $extra"
    export CPATH=$extra${CPATH:+:$CPATH}
  fi
}

# mmcv 2.1.0 from its source archive, patched (tools/patches/mmcv-2.1.0/, see docs/install.md)
# and built in a folder of its own per Python, torch, CUDA and architecture list: for CUDA ops,
# and for torch >= 2.14 (whose headers need C++20, where mmcv asks for C++17). The folder keeps
# the build, so an interrupted build resumes where it stopped, and the wheel, so a new
# environment with the same torch installs it in seconds. (pip's wheel cache is not used here:
# it keys mmcv's wheel by the source archive only, and would hand this environment a CPU-only
# wheel, or one built against another torch.)
build_mmcv_patched() {
  local key dir src patch
  key=$($PY -c "import sys, torch; print('py%d%d-torch%s' % (*sys.version_info[:2],
      torch.__version__.split('+')[0]))")
  if [ "$WITH_CUDA" = 1 ]; then
    key=$key-cu$($PY -c 'import torch; print(torch.version.cuda)')
    key=$key-sm$(echo "${TORCH_CUDA_ARCH_LIST:-visible}" | tr -c 'A-Za-z0-9.\n' '_')
  else
    key=$key-cpu
  fi
  dir=${MONA_MM_BUILD_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mona_mm}/$MMCV_PKG-$MMCV-$key
  src=$dir/$MMCV_SDIST
  mkdir -p "$dir/dist"
  if ! ls "$dir"/dist/"${MMCV_PKG//-/_}"-$MMCV-*.whl >/dev/null 2>&1; then
    if [ ! -f "$src/setup.py" ]; then
      $PIP download --no-deps --no-binary :all: --no-build-isolation -d "$dir" \
        "$MMCV_PKG==$MMCV"
      tar -xzf "$dir/$MMCV_SDIST.tar.gz" -C "$dir" --no-same-owner
    fi
    if ! command -v patch >/dev/null; then
      echo "[install] building mmcv $MMCV needs patch(1): install it (apt-get install patch)." >&2
      return 1
    fi
    for patch in "$PATCHES"/*.patch; do
      [ -e "$patch" ] || continue
      if patch -d "$src" -p1 -R --dry-run --silent < "$patch" >/dev/null 2>&1; then
        continue  # applied by an earlier, interrupted run
      fi
      echo "[install] applying $(basename "$patch")"
      patch -d "$src" -p1 --forward --silent < "$patch"
    done
    echo "[install] building $MMCV_PKG $MMCV with ops in $src (objects kept there)"
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
      $PIP wheel --no-build-isolation --no-deps --no-cache-dir -w "$dir/dist" "$src"
  fi
  $PIP uninstall -y "$MMCV_PKG" >/dev/null 2>&1 || true  # e.g. a CPU-only build of it
  $PIP install "$dir"/dist/"${MMCV_PKG//-/_}"-$MMCV-*.whl
}

if [ "$WITH_CUDA" = 1 ]; then
  cuda_toolkit
  HAVE_MMCV="import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV'
assert mmcv.ops.get_compiling_cuda_version() != 'not available'"
else
  HAVE_MMCV="import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV'"
fi
if $PY -c "$HAVE_MMCV" 2>/dev/null; then
  echo "[install] $MMCV_PKG $MMCV with ops already installed"
elif [ "$WITH_CUDA" = 1 ] || [ "$NEEDS_CXX20" = 1 ]; then
  build_mmcv_patched
else
  # Builds the CPU ops. About 15-35 minutes on 2 cores the first time; pip caches the wheel for
  # the next time.
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} $PIP install --no-build-isolation \
    "$MMCV_PKG==$MMCV"
fi

$PIP install -r "$REQUIREMENTS"
$PIP install --no-build-isolation --no-deps -e .
$PY -c "import mona_mm; print('[install] mona_mm', mona_mm.__version__, 'ready ($STACK stack)')"

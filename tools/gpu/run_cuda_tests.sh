#!/usr/bin/env bash
# Runs mona_mm's CUDA tests (tests/test_cuda, marker `cuda`) on a GPU machine that has PyTorch
# but no package index, with the wheels packed by tools/gpu/pack_wheels.sh:
#
#   bash tools/gpu/run_cuda_tests.sh WHEELS [OUT [PYTEST_ARGS...]]
#
# The wheels go to a folder of their own on PYTHONPATH (SITE; the machine's packages are left as
# they are); OUT gets environment.txt, pytest.log and junit.xml. Arguments after OUT replace the
# default selection (tests/test_cuda), e.g. one file or test id to rerun.
set -uo pipefail
cd "$(dirname "$0")/../.."
WHEELS=${1:?usage: bash tools/gpu/run_cuda_tests.sh WHEELS [OUT [PYTEST_ARGS...]]}
OUT=${2:-work_dirs/cuda_tests}
shift $(( $# < 2 ? $# : 2 ))
[ $# -gt 0 ] || set -- tests/test_cuda
. tools/gpu/install_wheels.sh
install_wheels cuda-tests "$WHEELS" "$OUT" || exit 1
# tools/dist_train.sh calls `python`, as OpenMMLab's does; some images have only python3
if ! command -v python >/dev/null; then
  mkdir -p "$SITE/bin"
  printf '#!/bin/sh\nexec %s "$@"\n' "$(command -v "$PY")" > "$SITE/bin/python"
  chmod +x "$SITE/bin/python"
  export PATH=$SITE/bin:$PATH
fi
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  $PY -c "
import platform, numpy, torch, mmengine, mmcv, mmcv.ops, mmdet, mmseg, mona_mm
import mona_mm.rotate, mmrotate  # mona_mm.rotate first: its shims let mmrotate import
print('python', platform.python_version(), '| torch', torch.__version__, '| cuda',
      torch.version.cuda, '| gpu', torch.cuda.get_device_name() if torch.cuda.is_available()
      else None)
print('mmcv', mmcv.__version__, 'compiled with CUDA', mmcv.ops.get_compiling_cuda_version(),
      '| mmengine', mmengine.__version__, '| mmdet', mmdet.__version__, '| mmseg',
      mmseg.__version__, '| mmrotate', mmrotate.__version__, '| numpy', numpy.__version__,
      '| mona_mm', mona_mm.__version__)"
} 2>&1 | tee "$OUT/environment.txt"
$PY -m pytest -m cuda -n "${WORKERS:-4}" --dist loadfile -rA --durations=0 \
  --junitxml="$OUT/junit.xml" "$@" 2>&1 | tee "$OUT/pytest.log"

#!/usr/bin/env bash
# Runs benchmarks/gpu_run.py (issue 20's one prepared GPU run: Swin-B backbone and UperNet Swin-L
# at 512x512, eager and captured, merged inference at 1333x800, top kernels) on a GPU machine that
# has PyTorch but no package index, with the wheels packed by tools/gpu/pack_wheels.sh:
#
#   bash tools/gpu/run_gpu_bench.sh WHEELS [OUT [GPU_RUN_ARGS...]]
#
# The backbone and UperNet use none of mmcv's CUDA ops: an mmcv wheel with CPU ops only, built
# against the machine's Python and torch, is enough (docs/benchmarks.md). The wheels go to a
# folder of their own on PYTHONPATH (SITE); OUT gets environment.txt and gpu_run.md (the tables).
# Arguments after OUT go to gpu_run.py (e.g. --repeats 3, --tasks backbone, --dry-run).
set -uo pipefail
cd "$(dirname "$0")/../.."
WHEELS=${1:?usage: bash tools/gpu/run_gpu_bench.sh WHEELS [OUT [GPU_RUN_ARGS...]]}
OUT=${2:-work_dirs/gpu_bench}
shift $(( $# < 2 ? $# : 2 ))
. tools/gpu/install_wheels.sh
install_wheels gpu-bench "$WHEELS" "$OUT" || exit 1
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
  $PY -c "
import platform, torch, mmengine, mmcv, mmdet, mmseg, mona_mm
print('python', platform.python_version(), '| torch', torch.__version__, '| cuda',
      torch.version.cuda, '| gpu', torch.cuda.get_device_name() if torch.cuda.is_available()
      else None)
print('mmcv', mmcv.__version__, '| mmengine', mmengine.__version__, '| mmdet', mmdet.__version__,
      '| mmseg', mmseg.__version__, '| mona_mm', mona_mm.__version__)"
} 2>&1 | tee "$OUT/environment.txt"
$PY benchmarks/gpu_run.py "$@" 2>&1 | tee "$OUT/gpu_run.md"
exit "${PIPESTATUS[0]}"

# Sourced by run_cuda_tests.sh and run_gpu_bench.sh (not run on its own).
#
#   install_wheels TAG WHEELS OUT
#
# installs the wheels of tools/gpu/pack_wheels.sh in WHEELS into SITE (default
# /tmp/mona_mm_site: a folder of their own, the machine's packages are left as they are), puts
# SITE and the repository first on PYTHONPATH and makes OUT; with no wheels in WHEELS it says
# where they come from (messages start with [TAG]) and returns 1, before OUT exists. PY is the
# interpreter (PYTHON, default python3).
install_wheels() {
  local tag=$1 wheels=$2 out=$3
  SITE=${SITE:-/tmp/mona_mm_site}
  PY=${PYTHON:-python3}
  if ! ls "$wheels"/*.whl >/dev/null 2>&1; then
    echo "[$tag] no wheels in $wheels: make them with tools/gpu/pack_wheels.sh where pip" \
         "works (docs/install.md)." >&2
    return 1
  fi
  mkdir -p "$out"
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE" "$wheels"/*.whl || return 1
  export PYTHONPATH=$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}
}

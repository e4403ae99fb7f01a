#!/usr/bin/env bash
# The whole suite on the OneDL fork of the OpenMMLab stack, in a fresh virtual environment:
#   bash tools/run_suite_onedl.sh [VENV_DIR]        (default .venv-onedl, beside .venv)
# It installs the fork with the README's command and its switch (MONA_STACK=onedl), runs the
# README's test command there, prints pytest's output and the install and suite times, and exits
# with pytest's status. Where no torch is installed the fork's default pair is installed (torch
# 2.14.1 + torchvision 0.29.1, since the fork's mmrotate imports torchvision). The first run builds
# onedl-mmcv from source (about 14 minutes for the whole install on 2 cores); later runs reuse the
# built wheel. .ci/run runs it after the upstream suite (docs/install.md has the times).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv-onedl}
python3 -m venv --clear "$VENV"
# shellcheck disable=SC1091
. "$VENV/bin/activate"
start=$(date +%s)
MONA_STACK=onedl bash tools/install.sh
python -m pip install -r requirements/tests.txt
installed=$(date +%s)
status=0
# the whole output on the terminal (a failure's traceback in CI's log) and in the venv's log;
# pipefail: the status is pytest's
python -m pytest tests -p no:cacheprovider 2>&1 | tee "$VENV/pytest.log" || status=$?
echo "[onedl] install $((installed - start)) s, suite $(($(date +%s) - installed)) s," \
     "pytest exit status $status (whole log: $VENV/pytest.log)"
exit "$status"

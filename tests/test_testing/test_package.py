"""mona_mm.testing is opt-in: ``import mona_mm`` does not load it (as mmdet.testing)."""
import subprocess
import sys

from tests.helpers import ROOT


def test_import_mona_mm_does_not_load_the_generators():
    code = ('import sys, mona_mm\n'
            'print(sorted(m for m in sys.modules if m.startswith("mona_mm.testing")))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == '[]'

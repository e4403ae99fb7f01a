"""tools/analysis_tools/count_params.py on the Swin-B COCO configs, against docs/spec.md (4)."""
import os.path as osp
import re
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def run_tool(leaf):
    config = osp.join(ROOT, 'configs', 'coco', f'cascade-mask-rcnn_swin-b-{leaf}_16xb1-3x_coco.py')
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'analysis_tools', 'count_params.py'), config],
        capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in out.splitlines():
        m = re.match(r'^(\S.*?)\s{2,}([\d,]+)\s+([\d,]+)\s*([\d.]+%)?$', line)
        if m:
            rows[m.group(1)] = (int(m.group(2).replace(',', '')),
                                int(m.group(3).replace(',', '')), m.group(4))
    return out, rows


@pytest.mark.parametrize('leaf,adapters,other,share', [
    ('mona', 3_667_456, 0, '4.23%'),
    ('bitfit', 0, 201_656, '0.23%'),
])
def test_count_tool_swin_b(leaf, adapters, other, share):
    out, rows = run_tool(leaf)
    assert rows['backbone adapters'][0] == adapters
    assert rows['backbone other trainable'][0] == other
    assert rows['backbone adapters'][1] + rows['backbone other trainable'][1] + rows[
        'backbone frozen'][1] == 86_745_016 + adapters  # the pretrained Swin-B + adapters
    assert rows['backbone trainable (all)'] == (adapters + other, 86_745_016 + adapters, share)
    assert rows['neck'][0] == rows['neck'][1] > 0 and rows['heads'][0] == rows['heads'][1] > 0
    assert 'tuning: ' in out

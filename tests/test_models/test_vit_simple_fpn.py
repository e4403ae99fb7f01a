"""The ViTDet simple feature pyramid (mona_mm.det.necks): levels, strides, the extra level."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.registry import DefaultScope

import mona_mm.det  # noqa: F401  (registers the neck in mmdet's MODELS)


@pytest.fixture(autouse=True)
def mmdet_scope():
    """Build in mmdet's scope, whatever scope an earlier test of this process left current."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield


def test_levels_from_the_last_map():
    neck = MODELS.build(dict(type='SimpleFeaturePyramid', in_channels=64, out_channels=32))
    neck.init_weights()
    first, last = torch.randn(2, 64, 6, 6), torch.randn(2, 64, 8, 6)
    outs = neck((first, last))  # only the last map is used
    assert [tuple(o.shape) for o in outs] == [(2, 32, 32, 24), (2, 32, 16, 12), (2, 32, 8, 6),
                                             (2, 32, 4, 3), (2, 32, 2, 2)]
    assert torch.equal(outs[4], F.max_pool2d(outs[3], kernel_size=1, stride=2))
    assert all(torch.equal(a, b) for a, b in zip(outs, neck((last, ))))
    # each level normalises its channels (a LayerNorm at identity after the 3x3 convolution)
    torch.testing.assert_close(outs[2].mean(dim=1), torch.zeros(2, 8, 6), atol=1e-5, rtol=0)


def test_scales_and_levels_are_checked():
    with pytest.raises(ValueError, match='scale 3 is not one of'):
        MODELS.build(dict(type='SimpleFeaturePyramid', in_channels=64, scales=(3, 1)))
    with pytest.raises(ValueError, match='num_outs=2 is fewer than the 4 scales'):
        MODELS.build(dict(type='SimpleFeaturePyramid', in_channels=64, num_outs=2))

"""Tests for mona_mm.testing.scenes: outlines, placement, colours and determinism of the scenes."""
import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from mona_mm.testing.scenes import (
    ASPECT_RATIOS,
    COLOR_JITTER,
    PALETTE,
    SHAPES,
    check_sizes,
    draw_scene,
    rectangle,
    rectangles_look,
    shapes_look,
)

LOOKS = {'shapes': shapes_look(list(SHAPES)), 'rectangles': rectangles_look(len(ASPECT_RATIOS))}


def test_outlines_have_size_one():
    for outline in SHAPES.values():
        assert np.hypot(outline[:, 0], outline[:, 1]).max() == pytest.approx(0.5)  # diameter 1
    corners = rectangle(2.0)  # long side 1 along x, clockwise on screen from the top left
    np.testing.assert_allclose(corners, [[-0.5, -0.25], [0.5, -0.25], [0.5, 0.25], [-0.5, 0.25]])


@pytest.mark.parametrize('name', sorted(LOOKS))
def test_objects_are_inside_apart_and_painted_in_their_colour(name):
    look, size, rng = LOOKS[name], 96, np.random.default_rng(0)
    labels = set()
    for _ in range(30):
        img, objects = draw_scene(rng, look, size, max_objects=4)
        assert img.shape == (size, size, 3) and img.dtype == np.uint8
        assert 1 <= len(objects) <= 4
        masks = [mask_utils.decode(obj.rle) for obj in objects]
        for i, (obj, mask) in enumerate(zip(objects, masks)):
            labels.add(obj.label)
            assert mask.any() and not (mask[[0, -1]].any() or mask[:, [0, -1]].any())  # inside
            assert ((obj.polygon > 0) & (obj.polygon < size)).all()
            ring = cv2.dilate(mask, np.ones((3, 3), np.uint8))
            assert not any((ring & other).any() for other in masks[i + 1:])  # apart, not touching
            # one colour per object, within the jitter of its class colour
            pixels = img[mask.astype(bool)].astype(float)
            assert (pixels == pixels[0]).all()
            assert np.abs(pixels[0] - PALETTE[obj.label % len(PALETTE)]).max() <= COLOR_JITTER + 1
    assert labels == set(range(len(look.outlines)))


def test_equal_streams_give_equal_scenes():
    scenes = [draw_scene(np.random.default_rng(seed), LOOKS['shapes'], 64, 3) for seed in (5, 5, 6)]
    (img_a, obj_a), (img_b, obj_b), (img_c, _) = scenes
    assert np.array_equal(img_a, img_b) and not np.array_equal(img_a, img_c)
    assert [(o.label, o.polygon.tolist()) for o in obj_a] == [
        (o.label, o.polygon.tolist()) for o in obj_b]


def test_bad_arguments_are_named():
    for bad in ((), ('square', 'person'), ('circle', 'circle')):
        with pytest.raises(ValueError, match='distinct shapes'):
            shapes_look(bad)
    for args in ((8, 3), (64, 0), (64, 3, 5, -1)):
        with pytest.raises(ValueError, match='image_size >= 16'):
            check_sizes(*args)
    check_sizes(16, 1, 0)

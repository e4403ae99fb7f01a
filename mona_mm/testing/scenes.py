"""The scenes of every tiny set: a few coloured polygons on a textured background.

A scene is a mildly textured, low-saturation background with one to a few non-overlapping filled
polygons. Each class has its own outline (a shape, or a rectangle of its own aspect ratio) and its
own saturated colour, so identity, extent and outline are plainly visible: a small detector or
segmenter with a random frozen backbone learns them on a CPU in a few hundred iterations, which is
what the tiny configs and the end-to-end tests need.

Each object is painted through the mask that pycocotools rasterises from its polygon (vertices
rounded to 0.01 px), the rasteriser of ``COCO.annToMask`` and mmdet's ``PolygonMasks``, so the
pixels and every annotation written from the polygon or the mask agree to the pixel.
(``cv2.fillPoly`` also fills boundary pixels: objects would come out about half a pixel larger
than their polygons.)
"""
from dataclasses import dataclass
from typing import Dict, List, NamedTuple, Sequence, Tuple

import cv2
import numpy as np
from pycocotools import mask as mask_utils

#: One saturated BGR colour per class index (cycled when there are more classes).
PALETTE = ((40, 40, 220), (40, 200, 40), (220, 60, 30), (30, 210, 230), (200, 40, 200),
           (210, 200, 30))
COLOR_JITTER = 20  # +- per channel and object: a class is a colour range, not one value
JPEG_QUALITY = 95  # keeps JPEG error (a few levels) well below the colour jitter
GAP = 2  # px between the circumcircles of two objects: a 1 px ring around one never touches another
MIN_IMAGE_SIZE = 16  # smaller, and the objects are a few pixels across


def regular_polygon(num_vertices: int, rotation: float, inner: float = 1.0) -> np.ndarray:
    """Vertices of a regular polygon of diameter 1 around the origin.

    Args:
        num_vertices: Number of vertices.
        rotation: Angle of the first vertex in radians (clockwise on screen, y pointing down).
        inner: Radius of every second vertex relative to the others (below 1: a star).

    Returns:
        np.ndarray: (num_vertices, 2) x, y coordinates.
    """
    angles = rotation + 2 * np.pi * np.arange(num_vertices) / num_vertices
    radii = np.where(np.arange(num_vertices) % 2 == 1, 0.5 * inner, 0.5)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


def rectangle(aspect: float) -> np.ndarray:
    """Corners of a rectangle with long side 1 along x and short side ``1 / aspect``.

    Returns:
        np.ndarray: (4, 2) corners, clockwise on screen from the top left, as DOTA lists them.
    """
    return np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [0.5, 0.5 / aspect]


#: Outlines of the classes of the COCO, VOC and segmentation sets (circles are 24-gons).
SHAPES: Dict[str, np.ndarray] = {
    'square': regular_polygon(4, np.pi / 4),
    'circle': regular_polygon(24, 0.0),
    'triangle': regular_polygon(3, -np.pi / 2),
    'diamond': regular_polygon(4, 0.0),
    'hexagon': regular_polygon(6, 0.0),
    'star': regular_polygon(10, -np.pi / 2, inner=0.45),
}
#: Long side / short side of class ``k`` of the DOTA and STAR sets (cycled).
ASPECT_RATIOS = (1.5, 2.5, 4.0, 2.0, 3.0, 1.2)


@dataclass(frozen=True)
class Look:
    """How the objects of one set are drawn.

    Attributes:
        outlines: Per class, in label order, an (N, 2) polygon of size 1 around the origin.
        sizes: Range of the size the outline is scaled to, as fractions of the image side.
        rotations: Range of the rotation in radians (clockwise on screen).
    """

    outlines: Tuple[np.ndarray, ...]
    sizes: Tuple[float, float]
    rotations: Tuple[float, float]


def shapes_look(names: Sequence[str]) -> Look:
    """COCO, VOC and segmentation: a shape per class, 1/4 to 1/2 of the side across, upright +-15°.

    Raises:
        ValueError: If ``names`` is empty, repeats a shape or names one not in :data:`SHAPES`.
    """
    if not names or len(set(names)) != len(names) or not set(names) <= set(SHAPES):
        raise ValueError(f'classes must be distinct shapes from {sorted(SHAPES)}, got '
                         f'{list(names)}')
    return Look(tuple(SHAPES[n] for n in names), (0.25, 0.5), (-np.pi / 12, np.pi / 12))


def rectangles_look(num_classes: int) -> Look:
    """DOTA and STAR: class ``k`` a rectangle of aspect ``ASPECT_RATIOS[k]``, long side 0.3 to
    0.55 of the image side, at any angle."""
    return Look(tuple(rectangle(ASPECT_RATIOS[k % len(ASPECT_RATIOS)]) for k in range(num_classes)),
                (0.3, 0.55), (0.0, np.pi))


def check_sizes(image_size: int, max_objects: int, *counts: int) -> None:
    """Raise ValueError unless the image side, objects per image and image counts make sense."""
    if image_size < MIN_IMAGE_SIZE or max_objects < 1 or min(counts, default=0) < 0:
        raise ValueError(f'need image_size >= {MIN_IMAGE_SIZE}, max_objects >= 1 and '
                         f'non-negative image counts; got image_size={image_size}, '
                         f'max_objects={max_objects}, counts={list(counts)}')


class SceneObject(NamedTuple):
    """One drawn object.

    Attributes:
        label: Class index into the look's outlines.
        polygon: (N, 2) vertices in pixels, rounded to 0.01 px.
        rle: pycocotools RLE of exactly the painted pixels.
    """

    label: int
    polygon: np.ndarray
    rle: dict


def background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A low-saturation base colour with a soft gradient and mild noise: (size, size, 3) float."""
    base = rng.uniform(70, 180) + rng.uniform(-15, 15, size=3)
    ramp = np.linspace(-1, 1, size)
    gx, gy = rng.uniform(-15, 15, size=2)
    grad = gx * ramp[None, :] + gy * ramp[:, None]
    noise = rng.normal(0, 5, size=(size, size, 3))
    return np.clip(base[None, None, :] + grad[..., None] + noise, 0, 255)


def draw_scene(rng: np.random.Generator, look: Look, size: int,
               max_objects: int) -> Tuple[np.ndarray, List[SceneObject]]:
    """Draw one scene of one to ``max_objects`` objects.

    Args:
        rng: The random stream; equal streams give equal scenes.
        look: The classes' outlines, sizes and rotations.
        size: Side of the square image in pixels.
        max_objects: Most objects in the scene; fewer when no free place is found.

    Returns:
        tuple: The BGR image (size, size, 3) uint8 and its objects.
    """
    img = background(rng, size)
    placed: List[Tuple[float, float, float]] = []  # (cx, cy, circumradius)
    objects = []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        label = int(rng.integers(len(look.outlines)))
        outline = look.outlines[label]
        # Rejection-sample a size and centre whose circumcircle stays inside the image and clear
        # of the others: objects are never cut by the border and never overlap, at any angle.
        for _try in range(50):
            scale = rng.uniform(*look.sizes) * size
            radius = scale * np.hypot(outline[:, 0], outline[:, 1]).max()
            cx, cy = rng.uniform(radius + 1, size - radius - 1, size=2)
            if all(np.hypot(cx - x, cy - y) > radius + r + GAP for x, y, r in placed):
                break
        else:
            continue  # no room left: the scene has one object fewer
        placed.append((cx, cy, radius))
        angle = rng.uniform(*look.rotations)
        rotate = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
        polygon = np.round(outline @ rotate * scale + [cx, cy], 2)
        rle = mask_utils.merge(mask_utils.frPyObjects([polygon.ravel().tolist()], size, size))
        color = np.array(PALETTE[label % len(PALETTE)], dtype=np.float64)
        color += rng.uniform(-COLOR_JITTER, COLOR_JITTER, size=3)
        img[mask_utils.decode(rle).astype(bool)] = np.clip(color, 0, 255)
        objects.append(SceneObject(label, polygon, rle))
    return np.round(img).astype(np.uint8), objects


def save_image(path: str, img: np.ndarray) -> None:
    """Write a BGR image; JPEG at :data:`JPEG_QUALITY`, other formats (PNG) losslessly."""
    params = [int(cv2.IMWRITE_JPEG_QUALITY), JPEG_QUALITY] if path.endswith('.jpg') else []
    if not cv2.imwrite(path, img, params):
        raise OSError(f'could not write {path}')

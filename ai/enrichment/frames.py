"""The earlier frames of a clip (``frames`` of ``/action-recognize`` and ``/enrich``):
vetted and decoded like the image, each cropped to a detection's box, scaled when a
frame's size differs from the image's (a camera's sub-stream, say)."""

from __future__ import annotations

from PIL import Image

from ai.contracts.images import Box
from ai.runtime.images import ImageLimits, decode_base64, decode_image, pixels_at, probe_image


def frame_pixels(texts: list[str], limits: ImageLimits) -> int:
    """Pixels decoding every frame will hold, from their headers alone (for admission)."""
    return sum(
        pixels_at(probe_image(decode_base64(t, limits, f"frames[{i}]"), limits, f"frames[{i}]"), 1)
        for i, t in enumerate(texts)
    )


def decode_frames(texts: list[str], limits: ImageLimits) -> list[Image.Image]:
    """Every frame as an upright RGB image; a bad one is the usual 4xx naming its index."""
    return [decode_image(decode_base64(t, limits, f"frames[{i}]"), limits, f"frames[{i}]") for i, t in enumerate(texts)]


def crop_clip(frames: list[Image.Image], box: Box | None, size: tuple[int, int]) -> list[Image.Image]:
    """``box`` (in pixels of an image of ``size``) cut out of each frame, scaled to it."""
    if box is None:
        return frames
    width, height = size
    crops = []
    for frame in frames:
        sx, sy = frame.width / width, frame.height / height
        region = (
            int(box.x1 * sx),
            int(box.y1 * sy),
            max(int(box.x2 * sx), int(box.x1 * sx) + 1),
            max(int(box.y2 * sy), int(box.y1 * sy) + 1),
        )
        crops.append(frame.crop(region))
    return crops

"""Dominant colours of a region as names an operator (and the LLM) can use: pure numpy
over the pixels, no model. Each pixel is named by hue, saturation and value; the names
covering the most pixels win."""

from __future__ import annotations

import numpy as np
from PIL import Image

# Hue bands (degrees) of the saturated colours, in order around the wheel.
HUES = ((15, "red"), (40, "orange"), (70, "yellow"), (165, "green"), (255, "blue"), (290, "purple"), (335, "pink"))
MIN_SHARE = 0.15  # a colour named among the dominant ones covers at least this share
SAMPLE_SIDE = 64  # pixels are named on a copy this size: the answer does not need more


def pixel_names(rgb: np.ndarray) -> np.ndarray:
    """A colour name for every pixel of an (..., 3) uint8 array."""
    values = rgb.astype(np.float32) / 255.0
    high, low = values.max(axis=-1), values.min(axis=-1)
    chroma = high - low
    saturation = np.where(high > 0, chroma / np.maximum(high, 1e-6), 0.0)
    r, g, b = values[..., 0], values[..., 1], values[..., 2]
    safe = np.maximum(chroma, 1e-6)
    hue = np.where(high == r, ((g - b) / safe) % 6, np.where(high == g, (b - r) / safe + 2, (r - g) / safe + 4)) * 60.0
    names = np.full(high.shape, "red", dtype=object)
    for upper, name in reversed(HUES):
        names[hue < upper] = name
    names[hue >= HUES[-1][0]] = "red"
    brownish = (hue < 45) & (high < 0.65) & (saturation > 0.25)
    names[brownish] = "brown"
    beige = (hue < 60) & (saturation <= 0.35) & (saturation > 0.12) & (high > 0.6)
    names[beige] = "beige"
    grey = saturation <= 0.12
    names[grey & (high < 0.22)] = "black"
    names[grey & (high >= 0.22) & (high < 0.8)] = "gray"
    names[grey & (high >= 0.8)] = "white"
    names[(high < 0.15)] = "black"
    return names


def dominant_colors(image: Image.Image, mask: np.ndarray | None = None, most: int = 2) -> list[str]:
    """Names covering the most of ``image`` (where ``mask`` is true), most covering first;
    at least one name for a non-empty region."""
    if mask is not None:
        mask = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize((SAMPLE_SIDE, SAMPLE_SIDE))) > 127
    pixels = np.asarray(image.convert("RGB").resize((SAMPLE_SIDE, SAMPLE_SIDE)))
    names = pixel_names(pixels)
    chosen = names[mask] if mask is not None else names.ravel()
    if chosen.size == 0:
        return []
    labels, counts = np.unique(chosen, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    shares = counts[order] / chosen.size
    found = [str(labels[i]) for i, share in zip(order, shares, strict=True) if share >= MIN_SHARE][:most]
    return found or [str(labels[order[0]])]


def upper_body(image: Image.Image) -> Image.Image:
    """The torso band of a person crop (20%-55% of its height): where a top's colour is."""
    width, height = image.size
    return image.crop((0, int(height * 0.2), width, max(int(height * 0.55), int(height * 0.2) + 1)))

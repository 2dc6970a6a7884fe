"""Small CelebA-like folders of random image files for the loader tests."""

from pathlib import Path

import numpy as np
from PIL import Image

#: (width, height, mode, suffix) of the generated files, in name order; CelebA's are 178x218.
CELEBA_LIKE = [
    (178, 218, "RGB", ".jpg"),
    (178, 218, "RGB", ".png"),
    (178, 218, "RGBA", ".png"),
    (178, 218, "L", ".png"),
    (100, 120, "RGB", ".jpg"),  # smaller than the 140x140 crop: zero-padded
    (250, 300, "RGB", ".jpeg"),
] + [(178, 218, "RGB", ".jpg")] * 6


def write_images(folder: Path, specs=CELEBA_LIKE, seed: int = 0) -> list[Path]:
    """Random images ``000001.jpg``, ... into ``folder``; returns their paths in name order."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i, (w, h, mode, suffix) in enumerate(specs):
        channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
        # Smooth-ish content (a random gradient plus noise) so the JPEG files are not all noise.
        base = rng.integers(0, 256, size=(1, 1, channels))
        ramp = np.linspace(0, 1, w)[None, :, None] * rng.integers(-120, 120, size=(1, 1, channels))
        pixels = np.clip(base + ramp + rng.normal(0, 30, size=(h, w, channels)), 0, 255)
        pixels = pixels.astype(np.uint8)
        img = Image.fromarray(pixels[:, :, 0] if mode == "L" else pixels, mode)
        path = folder / f"{i + 1:06d}{suffix}"
        img.save(path)
        paths.append(path)
    return paths

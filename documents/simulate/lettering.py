"""Letters set one at a time: DejaVu fonts by file name, and a glyph turned to any angle."""

from __future__ import annotations

from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from documents.fonts import FONT_DIR


@cache
def font(file: str, size_px: int) -> ImageFont.FreeTypeFont:
    """A DejaVu font (`DejaVuSans-Bold.ttf`…) at `size_px` pixels to the em, loaded once."""
    return ImageFont.truetype(str(FONT_DIR / file), size_px)


def glyph(
    face: ImageFont.FreeTypeFont, ch: str, angle: float
) -> tuple[Image.Image, tuple[float, float]]:
    """One letter on its own tile (mode "L", ink 255) turned `angle` degrees counter-clockwise,
    and where on the tile its pen origin (the left end of its baseline) ended up."""
    ascent, descent = face.getmetrics()
    margin = (ascent + descent) // 4
    tile = Image.new("L", (int(face.getlength(ch)) + 2 * margin, ascent + descent), 0)
    ImageDraw.Draw(tile).text((margin, 0), ch, fill=255, font=face)
    turned = tile.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    # Pillow turns about the tile's centre and then grows the tile to fit: follow the origin.
    dx, dy = margin - tile.width / 2, ascent - tile.height / 2
    theta = np.radians(angle)
    ox = dx * np.cos(theta) + dy * np.sin(theta) + turned.width / 2
    oy = -dx * np.sin(theta) + dy * np.cos(theta) + turned.height / 2
    return turned, (float(ox), float(oy))

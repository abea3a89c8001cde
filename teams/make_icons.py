"""Draw the Teams app icons (no dependencies): ``python teams/make_icons.py``.

color.png   192x192, full colour: three bars (the three goods) on a green tile.
outline.png  32x32, white on transparent, as Teams requires for the outline icon.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

HERE = Path(__file__).parent
GREEN = (46, 107, 79, 255)
WHITE = (255, 255, 255, 255)
CLEAR = (0, 0, 0, 0)


def png(width: int, height: int, pixel) -> bytes:  # pixel(x, y) -> RGBA
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width))
                    for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def bars(size: int, x: int, y: int) -> bool:
    """Three bars of rising height (60 / 25 / 15 reversed: a balanced book), baseline."""
    u = size / 32
    base = 26 * u
    for left, top in ((7, 15), (14, 10), (21, 5)):
        if left * u <= x < (left + 5) * u and top * u <= y < base:
            return True
    return 5 * u <= x < 27 * u and base + 1 * u <= y < base + 2.5 * u


def rounded(size: int, x: int, y: int, r: float) -> bool:
    cx = min(max(x + 0.5, r), size - r)
    cy = min(max(y + 0.5, r), size - r)
    return (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r


def main() -> None:
    (HERE / "color.png").write_bytes(png(192, 192, lambda x, y: (
        WHITE if bars(192, x, y) else GREEN) if rounded(192, x, y, 28) else CLEAR))
    (HERE / "outline.png").write_bytes(png(32, 32, lambda x, y: WHITE if bars(32, x, y)
                                           else CLEAR))


if __name__ == "__main__":
    main()

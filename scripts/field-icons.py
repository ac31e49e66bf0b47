#!/usr/bin/env python3
"""Draws the icons of the grid workers' app (网格通): web/field-192.png and web/field-512.png.

Standard library only (zlib + struct): a full-bleed square in the app's colour (so the icon also
serves as "maskable": the launcher may cut it to any shape) with a white 3x3 grid and one amber
cell inside the central safe zone (the middle 80 % circle), antialiased by 4x4 supersampling.
The files are committed; run this again only to change the drawing:

    python3 scripts/field-icons.py
"""
import os
import struct
import zlib

BACKGROUND = (0x8C, 0x2D, 0x19)
WHITE = (0xFF, 0xFF, 0xFF)
AMBER = (0xF5, 0xB0, 0x41)
SAMPLES = 4  # per axis


def shape(x, y):
    """The colour at (x, y) in unit coordinates (0..1, y down), or None for the background."""
    # The grid: a square of side 0.46 centred, outline and inner lines 0.04 thick.
    lo, hi, t = 0.27, 0.73, 0.04
    if not (lo - t / 2 <= x <= hi + t / 2 and lo - t / 2 <= y <= hi + t / 2):
        return None
    step = (hi - lo) / 3
    on_line = any(abs(x - (lo + i * step)) <= t / 2 for i in range(4)) or any(
        abs(y - (lo + i * step)) <= t / 2 for i in range(4)
    )
    if on_line:
        return WHITE
    # The amber cell: the grid's centre cell (the worker's own grid).
    if lo + step < x < lo + 2 * step and lo + step < y < lo + 2 * step:
        return AMBER
    return None


def pixel(px, py, size):
    acc = [0.0, 0.0, 0.0]
    for sy in range(SAMPLES):
        for sx in range(SAMPLES):
            x = (px + (sx + 0.5) / SAMPLES) / size
            y = (py + (sy + 0.5) / SAMPLES) / size
            c = shape(x, y) or BACKGROUND
            for i in range(3):
                acc[i] += c[i]
    n = SAMPLES * SAMPLES
    return bytes(round(v / n) for v in acc) + b"\xff"


def png(size):
    rows = bytearray()
    for py in range(size):
        rows.append(0)  # filter: none
        for px in range(size):
            rows += pixel(px, py, size)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


def main():
    web = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "web")
    for size in (192, 512):
        path = os.path.join(web, f"field-{size}.png")
        with open(path, "wb") as f:
            f.write(png(size))
        print(f"wrote {os.path.relpath(path)} ({size}x{size})")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Each pixel path of `cargo bench -p bochsfb-renderer --bench pixels` against its baseline
from the same run: medians and criterion's 95% intervals from target/criterion, the ratio of
the medians, and the ratio's range from the two intervals (slowest/fastest combinations)."""
import json
import pathlib
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
# (group, path, baseline path): each path is compared with the baseline of its format.
PAIRS = [
    ("fill", "clear", "memset"),
    ("fill", "fill_solid 800x500", "memset 800x500"),
    ("fill", "fill_contiguous", "memset"),
    ("fill", "paint", "memset"),
    ("fill", "draw_iter", "memset"),
    ("blit", "rgb 256x256", "memcpy 256x256"),
    ("blit", "rgb 256x256", "memcpy source 256x256"),
    ("blit", "rgba alpha 64x64", "memcpy 64x64"),
    ("blit", "scaled 640x480 to 1024x768", "memcpy 1024x768"),
    ("blit", "scaled 640x480 to 1024x768", "memcpy source 640x480"),
]
FORMATS = ["XRGB8888", "RGB888", "RGB565", "RGB332"]


def load():
    """(group, path, format) -> (median, low, high) of every benchmark under ROOT, read once."""
    found = {}
    for bench in ROOT.glob("*/*/*/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        median = json.loads((bench.parent / "estimates.json").read_text())["median"]
        ci = median["confidence_interval"]
        found[(meta["group_id"], meta["function_id"], meta["value_str"])] = (
            median["point_estimate"], ci["lower_bound"], ci["upper_bound"])
    return found


ESTIMATES = load()


def estimate(group, name, fmt):
    return ESTIMATES.get((group, name, fmt))


def micros(ns):
    return f"{ns / 1000:.1f}"


print(f"{'path':28} {'baseline':24} {'format':9} {'µs':>8} {'base µs':>8}  ratio [range]")
for group, name, base in PAIRS:
    for fmt in FORMATS:
        a, b = estimate(group, name, fmt), estimate(group, base, fmt)
        if not a or not b:
            continue
        ratio, low, high = a[0] / b[0], a[1] / b[2], a[2] / b[1]
        print(f"{name:28} {base:24} {fmt:9} {micros(a[0]):>8} {micros(b[0]):>8}  {ratio:.2f} [{low:.2f}–{high:.2f}]")
# Row encoding across formats: each format's paint and fill_contiguous against XRGB8888's.
for name in ["paint", "fill_contiguous"]:
    xrgb = estimate("fill", name, "XRGB8888")
    for fmt in FORMATS[1:]:
        a = estimate("fill", name, fmt)
        if a and xrgb:
            print(f"{name:28} {name + ' XRGB8888':24} {fmt:9} {micros(a[0]):>8} {micros(xrgb[0]):>8}  {a[0] / xrgb[0]:.2f}")

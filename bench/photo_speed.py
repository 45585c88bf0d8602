"""Seconds to turn each photo of the test corpus into an MNIST-style digit (`vae.load_digit`). Prints one JSON line.

The photos are the 12-megapixel phone photos of tests/data/images (tests/make_corpus.py: SHADOWED and PAGE_PHOTOS,
plus phone_photo.jpg): lined and squared paper, sticky notes on a desk, tiny digits, shadows. Each is read from
memory (the file's bytes are loaded first) and decoded --repeats times; a photo's time is the median of its runs.

    python bench/photo_speed.py [--repeats 3] [--json]

photo_s_median / photo_s_max   the median and the slowest of the per-photo times
per_photo_s                    each photo's time
Seconds depend on what else the machine runs: the JSON records the load average before and after, and the threads.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from anywhere without installing
sys.path.insert(0, str(ROOT / "tests"))

import vae  # noqa: E402
from make_corpus import IMAGE_DIR, PAGE_PHOTOS, SHADOWED  # noqa: E402

PHOTOS = sorted({"phone_photo.jpg", *SHADOWED, *PAGE_PHOTOS})


def seconds(data: bytes, repeats: int) -> float:
    """The median wall time of `repeats` runs of load_digit on the same bytes."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        vae.load_digit(data)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per photo; its time is their median")
    parser.add_argument("--json", action="store_true", help="print only the JSON line, not a line per photo")
    args = parser.parse_args()
    load_before = os.getloadavg()
    files = {name: (IMAGE_DIR / name).read_bytes() for name in PHOTOS}
    vae.load_digit(files[PHOTOS[0]])  # imports and first-call set-up off the clock
    per_photo = {name: round(seconds(data, args.repeats), 3) for name, data in files.items()}
    result = {
        "photos": len(per_photo),
        "repeats": args.repeats,
        "photo_s_median": round(statistics.median(per_photo.values()), 3),
        "photo_s_max": max(per_photo.values()),
        "slowest": max(per_photo, key=per_photo.get),
        "per_photo_s": per_photo,
        "threads": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")},
        "cpus": os.cpu_count(),
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
    }
    if not args.json:
        for name, s in sorted(per_photo.items(), key=lambda item: -item[1]):
            print(f"{s:7.3f} s  {name}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

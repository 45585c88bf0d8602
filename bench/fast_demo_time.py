"""How long the Train page's "fast 2-D demo" preset takes, exactly as the page runs it: `python -m vae train
--preset fast-2d --threads 1` at lower priority on the full 60k training split. Prints one JSON line.

Wall seconds depend on what else the machine runs (a classroom's sessions, other training): the JSON also gives the
CPU seconds of the process, which is what the run costs on an otherwise idle core, and the load average.

    python bench/fast_demo_time.py [--data-dir D] [--preset fast-2d]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="folder holding MNIST/raw (default: $VAE_DATA_DIR or ./data)")
    parser.add_argument("--preset", default="fast-2d")
    args = parser.parse_args()
    cmd = [sys.executable, "-m", "vae", "train", "--preset", args.preset, "--threads", "1", "--json"]
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    r = subprocess.run(["nice", "-n", "10", *cmd], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        print(json.dumps({"preset": args.preset, "error": r.stderr.strip().splitlines()[-1:]}))
        sys.exit(1)
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    print(json.dumps({"preset": args.preset, "epochs": summary["epochs"], "wall_s": round(wall, 1),
                      "cpu_s": round(usage.ru_utime + usage.ru_stime, 1), "train_s": summary["train_seconds"],
                      "test_neg_elbo": round(summary["test_neg_elbo"], 2), "load_before": round(load_before, 2),
                      "load_after": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}))


if __name__ == "__main__":
    main()

"""How long the Train page's "fast 2-D demo" preset takes, exactly as the page runs it: through ui.supervisor.start_run
(`python -m vae train` with the preset's configs, one thread, `nice` and its autogroup niced, in its own session)
on the full 60k training split, from the start until the run's state is "finished" (the page shows it then).
Prints one JSON line.

Wall seconds depend on what else the machine runs (a classroom's sessions, other training): the JSON also gives the
CPU seconds of the process, which is what the run costs on an otherwise idle core, and the load average.
--class-sessions 30 runs bench/load.py's classroom (30 students exploring and uploading, no training session of its
own) against a server of its own for the whole run, started 20 s before the run.

    python bench/fast_demo_time.py [--data-dir D] [--preset fast-2d] [--class-sessions 30]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ui import supervisor  # noqa: E402
from vae.config import PRESETS  # noqa: E402
from vae.data import training_data_present  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="folder holding MNIST/raw (default: $VAE_DATA_DIR or ./data)")
    parser.add_argument("--preset", default="fast-2d")
    parser.add_argument("--class-sessions", type=int, default=0, help="run bench/load.py's class meanwhile")
    args = parser.parse_args()
    data_dir = Path(args.data_dir or os.environ.get("VAE_DATA_DIR") or ROOT / "data").resolve()
    if not training_data_present("mnist", data_dir):
        sys.exit(f"no MNIST training files in {data_dir}/MNIST/raw: pass --data-dir")
    classroom = None
    if args.class_sessions:  # a class of students for longer than the run; stopped (cleanly: SIGINT) after it
        classroom = subprocess.Popen([sys.executable, str(ROOT / "bench" / "load.py"), "--sessions",
                                      str(args.class_sessions), "--no-train", "--releases", "10000",
                                      "--max-seconds", "3600"], cwd=ROOT, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)  # its group: it + server
        time.sleep(20)
    model_cfg, train_cfg = PRESETS[args.preset]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_dir = supervisor.start_run(tmp, model_cfg, train_cfg, args.preset, data_dir=data_dir)
        while (s := supervisor.read_status(run_dir)).active:
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        load_during = os.getloadavg()[0]
        supervisor._children[s.pid].wait()  # our child: its CPU time is in RUSAGE_CHILDREN once reaped
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    class_alive = classroom is not None and classroom.poll() is None
    if classroom is not None:  # the class and its server (a SIGINT alone once left the server running)
        os.killpg(classroom.pid, signal.SIGINT)
        try:
            classroom.wait(60)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(classroom.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        classroom.wait()
    if s.state != "finished":
        print(json.dumps({"preset": args.preset, "error": s.message or s.state}))
        sys.exit(1)
    last = s.history[-1]
    print(json.dumps({"preset": args.preset, "epochs": s.epoch, "wall_s": round(wall, 1),
                      "cpu_s": round(usage.ru_utime + usage.ru_stime, 1), "train_s": last["train_seconds"],
                      "test_neg_elbo": round(last["test_neg_elbo"], 2), "via": "ui.supervisor.start_run, as the page",
                      "class_sessions": args.class_sessions, "class_ran_throughout": class_alive,
                      "load_before": round(load_before, 2), "load_at_end": round(load_during, 2),
                      "cpus": os.cpu_count()}))


if __name__ == "__main__":
    main()

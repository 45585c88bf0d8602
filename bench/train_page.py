"""The Train page's two waits, through the real app in headless Chromium: press "Start training" -> the progress bar
first shows "Epoch ..." (start_to_first_progress_s), and press Stop -> the page shows the run stopped
(stop_to_shown_s). Prints one JSON line, with the machine's load average (the goals, <= 8 s and <= 2 s, are for a
quiet machine).

    python bench/train_page.py [--data-dir D] [--repeats 3]          # the medians of the rounds, and each round

`streamlit run app.py` runs in a scratch folder (its own runs/app, the project's config), with the MNIST training
files from --data-dir, $VAE_DATA_DIR, ./data or ../shared/data, so the button is "Start training" on the 60k split
with the page's default recipe (fast-2d), as a teacher uses it; each round starts a run, lets it train 1.5 s and
stops it. Alongside, a thread reads the run's files every 20 ms, to say where the time went: `process_imported_s`
and `process_first_step_s` are seconds after the click at which the training process had imported its modules
(progress.json appears) and reported its first step, `process_cpu_s_to_first_step` the CPU seconds it had used by
then (what the start costs on an idle core), `process_wrote_stopped_s` and `process_exited_s` seconds after the Stop
click.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.browser import cpu_seconds  # noqa: E402  (user + system CPU seconds of a process)
from bench.harness import CHROMIUM, CHROMIUM_ARGS, start_streamlit  # noqa: E402
from ui import supervisor  # noqa: E402
from vae import runs  # noqa: E402
from vae.data import training_data_present  # noqa: E402

TIMEOUT_MS = 600_000
PROGRESS = "[data-testid=stProgress]"


def find_data_dir(given: str | None) -> Path:
    for folder in [given, os.environ.get("VAE_DATA_DIR"), ROOT / "data", ROOT.parent / "shared" / "data"]:
        if folder and training_data_present("mnist", folder):
            return Path(folder).resolve()
    sys.exit("no MNIST training files: pass --data-dir (a folder holding MNIST/raw/train-images-idx3-ubyte[.gz])")


class Watcher(threading.Thread):
    """Seconds after t0 at which the run's files (and process) first showed each stage."""

    def __init__(self, runs_dir: Path, t0: float):
        super().__init__(daemon=True)
        self.runs_dir, self.t0, self.seen, self.done = runs_dir, t0, {}, threading.Event()
        self.before = {s.run_id for s in supervisor.list_runs(runs_dir)}  # earlier rounds' runs

    def mark(self, what: str) -> None:
        self.seen.setdefault(what, round(time.perf_counter() - self.t0, 2))

    def run(self) -> None:
        pid = None
        while not self.done.is_set():
            for s in [s for s in supervisor.list_runs(self.runs_dir) if s.run_id not in self.before][:1]:
                pid = pid or s.pid
                prog = runs.read_json(s.run_dir / "progress.json") or {}
                if prog:
                    self.mark("process_imported_s")
                if prog.get("state") == "running" and "process_first_step_s" not in self.seen:
                    self.mark("process_first_step_s")
                    try:  # what the start costs the process, whatever else the machine runs
                        self.seen["process_cpu_s_to_first_step"] = round(cpu_seconds(pid), 2)
                    except (OSError, IndexError, ValueError):
                        pass
                if prog.get("state") == "stopped":
                    self.mark("process_wrote_stopped_s")
                if pid and "process_first_step_s" in self.seen and not supervisor.process_alive(pid, s.run_dir):
                    self.mark("process_exited_s")
            time.sleep(0.02)


def wait_for_app(page) -> None:
    """Until Streamlit has run the page's script, without an exception on the page."""
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=TIMEOUT_MS)
    errors = page.locator("[data-testid=stException]")
    assert errors.count() == 0, errors.first.inner_text()


def progress_text(page) -> str:
    return page.evaluate(f"() => Array.from(document.querySelectorAll('{PROGRESS}')).map(e => e.innerText).join(' ')")


def one_round(browser, url: str, runs_dir: Path) -> dict:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    try:
        page.goto(url + "/train", timeout=TIMEOUT_MS)
        wait_for_app(page)
        start = page.get_by_role("button", name="Start training")
        t0 = time.perf_counter()
        watcher = Watcher(runs_dir, t0)
        start.click()
        watcher.start()
        page.wait_for_function(f"""() => Array.from(document.querySelectorAll('{PROGRESS}'))
                                        .some(e => /Epoch \\d+ of \\d+/.test(e.innerText))""", timeout=TIMEOUT_MS)
        t_progress = time.perf_counter() - t0
        shown_progress = progress_text(page)
        page.wait_for_timeout(1500)  # let it train a moment, as a student would watch it
        stop = page.get_by_role("button", name="Stop")
        watcher.t_stop = time.perf_counter()
        stop.click()
        page.get_by_text("Stopped after epoch", exact=False).or_(
            page.get_by_text("Stopped before the first epoch", exact=False)).first.wait_for(timeout=TIMEOUT_MS)
        t_shown = time.perf_counter() - watcher.t_stop
        deadline = time.time() + 30  # the process's exit, which the page no longer waits for
        while "process_exited_s" not in watcher.seen and time.time() < deadline:
            time.sleep(0.1)
        watcher.done.set()
        watcher.join()
        stop_offset = watcher.t_stop - t0
        seen = {k: (v if k.startswith(("process_imported", "process_first_step", "process_cpu")) else
                    round(v - stop_offset, 2)) for k, v in watcher.seen.items()}
        run = supervisor.list_runs(runs_dir)[0]  # the page's default recipe (fast-2d), as a teacher would start it
        return {"start_to_first_progress_s": round(t_progress, 2), "stop_to_shown_s": round(t_shown, 2),
                "first_progress_text": shown_progress, **seen, "run": run.name,
                "epochs_done_at_stop": run.epoch, "state": run.state}
    finally:
        page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="a folder holding MNIST/raw with the training files")
    parser.add_argument("--repeats", type=int, default=1, help="start/stop rounds on one server (median reported)")
    args = parser.parse_args()
    data_dir = find_data_dir(args.data_dir)
    from playwright.sync_api import sync_playwright

    load_before = os.getloadavg()
    scratch = Path(tempfile.mkdtemp(prefix="train-page-bench-"))
    (scratch / ".streamlit").mkdir()
    shutil.copy(ROOT / ".streamlit" / "config.toml", scratch / ".streamlit" / "config.toml")
    runs_dir = scratch / "runs" / "app"
    server, url = start_streamlit(str(ROOT / "app.py"), env={"VAE_DATA_DIR": str(data_dir)}, cwd=scratch)
    rounds = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _ in range(args.repeats):
                rounds.append(one_round(browser, url, runs_dir))
            browser.close()
    finally:
        server.kill()
        server.wait(10)
        for s in supervisor.list_runs(runs_dir):  # only the runs this bench started
            if s.active and s.pid:
                try:
                    os.kill(s.pid, 9)
                except ProcessLookupError:
                    pass
        shutil.rmtree(scratch, ignore_errors=True)
    med = lambda key: round(statistics.median(r[key] for r in rounds), 2)  # noqa: E731
    print(json.dumps({"bench": "train_page", "via": "headless Chromium, streamlit run app.py",
                      "start_to_first_progress_s": med("start_to_first_progress_s"),
                      "stop_to_shown_s": med("stop_to_shown_s"), "rounds": rounds,
                      "load_avg_before": [round(x, 2) for x in load_before],
                      "load_avg_after": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()}))


if __name__ == "__main__":
    main()

"""The runs folder as serve.py's replicas share it: every replica reads the same runs (VAE_RUNS_DIR), "one run at a
time" is a lock in the folder (vae.runs.start_lock) that holds between processes and between one server's sessions,
Stop is a file any replica can write, and a run started on another host counts as alive while it reports."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT
from fake_trainer import FakeTrainer
from test_runs import kill_leftovers, tiny_configs, wait_for
from ui import supervisor
from vae import runs

HOLD = """
import sys, time
from vae import runs
with runs.start_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def runs_dir(tmp_path):
    folder = tmp_path / "shared" / "runs"
    yield folder
    kill_leftovers(folder)


def test_the_start_lock_holds_between_processes(runs_dir):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(runs_dir), "30"], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(TimeoutError):
            with runs.start_lock(runs_dir, timeout_s=0.3):
                pass
    finally:
        holder.kill()  # a holder that dies (SIGKILL) leaves no stale lock: the kernel releases it
        holder.wait()
    with runs.start_lock(runs_dir, timeout_s=10):
        assert (runs_dir / runs.START_LOCK).is_file()


def test_two_sessions_starting_at_once_start_one_run(runs_dir, tmp_path, monkeypatch):
    FakeTrainer(tmp_path / "fake-checkpoints").install(monkeypatch)
    model_cfg, train_cfg = tiny_configs(epochs=100)
    check = supervisor.active_runs

    def slow_check(folder):  # widen the race between "is one training?" and starting one
        found = check(folder)
        time.sleep(0.3)
        return found

    monkeypatch.setattr(supervisor, "active_runs", slow_check)
    outcomes: list[str] = []

    def press_start(name: str) -> None:
        try:
            supervisor.start_run(runs_dir, model_cfg, train_cfg, name, demo=True, max_active=1)
            outcomes.append("started")
        except supervisor.RunLimitReached as exc:
            outcomes.append(f"refused: {exc.busy.name}")

    threads = [threading.Thread(target=press_start, args=(f"run {i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes)[1:] == ["started"] and outcomes.count("started") == 1, outcomes
    assert len([d for d in runs_dir.iterdir() if d.is_dir()]) == 1


def test_a_run_started_by_another_process_blocks_a_start_and_stops_by_its_file(runs_dir, tmp_path, monkeypatch):
    FakeTrainer(tmp_path / "fake-checkpoints").install(monkeypatch)
    model_cfg, train_cfg = tiny_configs(epochs=100)
    run_dir = supervisor.start_run(runs_dir, model_cfg, train_cfg, "first", demo=True, max_active=1)
    wait_for(run_dir, lambda s: s.epoch >= 1, "the first epoch")
    supervisor._children.clear()  # as another replica sees it: not its child, only a pid in run.json
    with pytest.raises(supervisor.RunLimitReached):
        supervisor.start_run(runs_dir, model_cfg, train_cfg, "second", demo=True, max_active=1)
    with pytest.raises(supervisor.RunLimitReached):
        supervisor.resume_run(run_dir, max_active=1)
    runs.request_stop(run_dir)  # Stop from any replica: a file in the shared folder
    s = wait_for(run_dir, lambda s: not s.active, "the run to stop")
    assert s.state == "stopped"
    second = supervisor.start_run(runs_dir, model_cfg, train_cfg, "second", demo=True, max_active=1)
    assert supervisor.read_status(second).active


def test_a_run_on_another_host_is_alive_while_it_reports(runs_dir):
    run_dir = runs_dir / "20260101-000000-elsewhere"
    run_dir.mkdir(parents=True)
    runs.write_json_atomic(run_dir / "run.json", {"name": "elsewhere", "pid": os.getpid(), "host": "another-host",
                                                  "model_config": {}, "train_config": {}})
    runs.write_json_atomic(run_dir / "progress.json", {"state": "running", "epochs": 10, "history": []})
    assert supervisor.read_status(run_dir).state == "running"  # its pid means nothing here; its reports do
    old = time.time() - supervisor.REMOTE_SILENCE_S - 5
    os.utime(run_dir / "progress.json", (old, old))
    os.utime(run_dir / "run.json", (old, old))
    assert supervisor.read_status(run_dir).state in ("interrupted", "failed")  # silent too long: it died


def test_a_run_just_launched_on_another_host_holds_the_limit_before_it_reports(runs_dir):
    """Between the launch (run.json written) and the process's first report (it imports torch first, seconds), a run
    started on another host is alive: another host must neither call it failed nor start a second run."""
    run_dir = runs_dir / "20260101-000000-just-started"
    run_dir.mkdir(parents=True)
    runs.write_json_atomic(run_dir / "run.json", {"name": "just started", "pid": 1, "host": "another-host/boot",
                                                  "model_config": {}, "train_config": {}})
    assert supervisor.read_status(run_dir).state == "starting"
    with pytest.raises(supervisor.RunLimitReached):
        supervisor._check_limit(runs_dir, 1)


def test_this_host_is_named_by_its_boot_too():
    boot = Path("/proc/sys/kernel/random/boot_id")
    if boot.is_file():  # two containers may share a host name, never a boot id
        assert supervisor.HOST.endswith("/" + boot.read_text().strip())


def test_every_replica_reads_the_runs_folder_it_is_given(tmp_path):
    out = subprocess.run([sys.executable, "-c", "import ui.state; print(ui.state.RUNS_DIR)"], cwd=ROOT,
                         env={**os.environ, "VAE_RUNS_DIR": str(tmp_path / "shared" / "runs")},
                         capture_output=True, text=True, check=True).stdout.strip()
    assert Path(out) == tmp_path / "shared" / "runs"

"""Background training runs (ui.supervisor starts and watches the process, vae.runs is its folder).

start -> at least one epoch -> stop -> the checkpoint loads and is in the model picker: with tests/fake_trainer.py as
the process (the supervisor's side: nice, its own session, one thread, the stop file, the folder's files), in seconds.
killed -> interrupted -> resume -> finished with a continuous history and recorded test metrics: a real
`python -m vae train` process on a tiny subset of the test split (marked `trains`: the one test here that trains).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import vae
from fake_trainer import SCRIPT, FakeTrainer
from ui import supervisor
from vae import runs

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 180  # generous: the machine may be busy; the runs themselves take seconds


def tiny_configs(epochs: int, subset: int = 1000, batch: int = 100):
    model_cfg = vae.ModelConfig(arch="mlp", latent_dim=2, hidden=(32, 16))
    train_cfg = vae.TrainConfig(epochs=epochs, batch_size=batch, train_subset=subset, warmup_steps=0, lr=3e-3)
    return model_cfg, train_cfg


def wait_for(run_dir: Path, done, what: str, poll_s: float = 0.05) -> runs.RunStatus:
    deadline = time.time() + TIMEOUT_S
    while time.time() < deadline:
        s = supervisor.read_status(run_dir)
        if done(s):
            return s
        time.sleep(poll_s)
    log = (run_dir / "log.txt").read_text(errors="replace")[-2000:] if (run_dir / "log.txt").exists() else ""
    raise AssertionError(f"timed out waiting for {what}; last status {s.state}, epoch {s.epoch}; log: {log}")


def kill_leftovers(runs_dir: Path) -> None:
    """Kill the processes the test started and left running (only those: pids from the test's own run.json)."""
    for s in supervisor.list_runs(runs_dir):
        if s.active and s.pid:
            try:
                os.kill(s.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def runs_dir(tmp_path):
    folder = tmp_path / "runs" / "app"
    yield folder
    kill_leftovers(folder)


def assert_nice_in_its_own_autogroup(pid: int) -> None:
    """Linux with autogroup: nice must hold against the server's group. The kernel prints nothing for the default
    (root) autogroup, where a process that never called setsid stays (CI runs the tests so)."""
    theirs = Path(f"/proc/{pid}/autogroup").read_text().split() if Path("/proc/self/autogroup").is_file() else []
    if theirs:
        group, nice = theirs[0::2]
        assert nice == str(supervisor.NICE)
        ours = Path("/proc/self/autogroup").read_text().split()
        assert not ours or group != ours[0]  # its own group, not the test's


def assert_in_the_picker(s: runs.RunStatus, monkeypatch) -> None:
    import ui.state
    monkeypatch.setattr(ui.state, "RUNS_DIR", s.run_dir.parent)
    choices = [c for c in ui.state.model_choices() if not c.bundled]
    assert [c.path for c in choices] == [str(s.checkpoint)]
    assert "demo" in choices[0].label and f"({s.epoch} epochs)" in choices[0].label


def test_run_trains_in_background_stops_and_appears_in_the_picker(runs_dir, tmp_path, monkeypatch):
    fake = FakeTrainer(tmp_path / "fake-checkpoints").install(monkeypatch)  # the process: see the module's doc
    model_cfg, train_cfg = tiny_configs(epochs=100)
    run_dir = supervisor.start_run(runs_dir, model_cfg, train_cfg, "tiny", demo=True)
    s = supervisor.read_status(run_dir)
    assert s.active and s.name.endswith(supervisor.DEMO_SUFFIX)
    assert s.train_config.threads == 1  # the app's runs leave the other core to the class
    assert s.command == fake.commands[0] and s.command[1] == str(SCRIPT) and "--threads" in s.command

    s = wait_for(run_dir, lambda s: s.epoch >= 1, "the first epoch")
    assert s.state == "running" and 0 < s.fraction < 1
    assert_nice_in_its_own_autogroup(s.pid)
    runs.request_stop(run_dir)
    s = wait_for(run_dir, lambda s: not s.active, "the run to stop")
    assert s.state == "stopped", s.message
    assert 1 <= s.epoch < 100
    assert s.can_resume  # a stopped run can be continued later

    ck = vae.load_checkpoint(s.checkpoint)
    assert ck.epoch == s.epoch == len(ck.history)
    assert "demo" in ck.name

    epochs, frames, labels = runs.load_snapshots(run_dir)
    assert epochs == list(range(0, s.epoch + 1))  # epoch 0: the untrained model's map
    assert len(labels) == 1000 and frames[0].shape == frames[1].shape == (1000, 2)
    assert_in_the_picker(s, monkeypatch)


@pytest.mark.trains
def test_killed_run_is_interrupted_keeps_its_epoch_and_resumes(runs_dir, monkeypatch):
    model_cfg, train_cfg = tiny_configs(epochs=3, subset=1000, batch=50)
    run_dir = supervisor.start_run(runs_dir, model_cfg, train_cfg, "killed", demo=True)
    s = wait_for(run_dir, lambda s: s.epoch >= 1, "the first epoch")
    assert_nice_in_its_own_autogroup(s.pid)  # (a few /proc reads: the run is still in epoch 2 of 3)
    os.kill(s.pid, signal.SIGKILL)  # like a crash, or the laptop's lid closing on the server and its child
    assert s.command[1:4] == ["-m", "vae", "train"]  # the real process
    s = wait_for(run_dir, lambda s: not s.active, "the process to die")
    assert s.state == "interrupted" and "Resume" in s.message
    assert s.can_resume, "the kill raced the end of training: make the run longer"
    saved = vae.load_checkpoint(s.checkpoint)
    assert saved.epoch == s.epoch >= 1

    supervisor.resume_run(run_dir)
    s = wait_for(run_dir, lambda s: s.state == "finished", "the resumed run to finish")
    ck = vae.load_checkpoint(s.checkpoint)
    assert ck.epoch == 3 and [h["epoch"] for h in ck.history] == [1, 2, 3]
    assert ck.history[:saved.epoch] == saved.history  # the resumed run continued, it did not start over
    epochs, frames, labels = runs.load_snapshots(run_dir)
    assert epochs == [0, 1, 2, 3]  # the resumed process did not redo epoch 0
    assert len(labels) == 1000 and frames[0].shape == frames[1].shape == (1000, 2)
    assert not np.allclose(frames[1], 0) and not np.allclose(frames[0], frames[1])  # a real model's maps
    assert_in_the_picker(s, monkeypatch)
    # the finished run recorded its full test metrics, so the KL lab's rate-distortion tab need not evaluate it
    from vae.evaluation import has_full_metrics
    assert has_full_metrics(ck) and ck.metrics["neg_elbo"] == pytest.approx(ck.metrics["recon"] + ck.metrics["kl"])


def test_a_vanished_process_without_an_epoch_reads_as_failed(runs_dir):
    run_dir = runs_dir / "20260101-000000-x"
    run_dir.mkdir(parents=True)
    runs.write_json_atomic(run_dir / "run.json", {"name": "x", "pid": 2**22 + 12345, "train_config": {"epochs": 3}})
    (run_dir / "log.txt").write_text("error: something broke\n")
    s = supervisor.read_status(run_dir)
    assert s.state == "failed" and "something broke" in s.message and not s.can_resume


def test_a_final_state_shows_while_its_process_exits_and_not_before_a_resumed_one_reports(runs_dir):
    # Stop -> "stopped" in progress.json -> the process still exits for seconds (torch's teardown: 2.6 s on a busy
    # machine), and the page kept showing the run training meanwhile. The state written by the run's own process
    # counts at once; the one an earlier process left is not the resumed process's.
    import subprocess
    import sys
    run_dir = runs_dir / "20260101-000000-x"
    run_dir.mkdir(parents=True)
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", str(run_dir.resolve())])
    try:
        runs.write_json_atomic(run_dir / "run.json", {"name": "x", "pid": process.pid,
                                                      "train_config": {"epochs": 3}})
        done = {"state": "stopped", "epochs": 3, "history": [{"epoch": 1}]}
        runs.write_json_atomic(run_dir / "progress.json", {**done, "pid": process.pid})
        assert supervisor.read_status(run_dir).state == "stopped"
        runs.write_json_atomic(run_dir / "progress.json", {**done, "pid": process.pid + 1})  # an earlier process
        assert supervisor.read_status(run_dir).state == "running"
    finally:
        process.kill()
        process.wait()
    assert supervisor.read_status(run_dir).state == "stopped"


def test_replay_frames_share_one_coordinate_system():
    rng = np.random.default_rng(0)
    frames = [rng.normal(size=(50, 5)).astype(np.float32) for _ in range(3)]
    views = runs.project_frames(frames)
    assert [v.shape for v in views] == [(50, 2)] * 3
    two_d = [f[:, :2] for f in frames]
    assert all(np.array_equal(a, b) for a, b in zip(runs.project_frames(two_d), two_d))


def test_the_train_page_shows_runs_without_importing_torch(tmp_path):
    """Only the training process imports torch (1.8 s): the Train page lists runs, reads their state (pid checks
    included) and draws the curves, the live map and the replay (PCA for D > 2) with NumPy. A fresh interpreter:
    this test process imported torch long ago."""
    code = ("import sys\n"
            "from pathlib import Path\n"
            "import numpy as np\n"
            "import ui.state\n"
            "from vae import runs\n"
            "from streamlit.testing.v1 import AppTest\n"
            f"folder = Path({str(tmp_path / 'runs' / 'app')!r})\n"
            "for run_id, dim in (('20250101-000000-two', 2), ('20250102-000000-ten', 10)):\n"
            "    run_dir = folder / run_id\n"
            "    (run_dir / 'latents').mkdir(parents=True)\n"
            "    runs.write_json_atomic(run_dir / 'run.json', {'name': run_id, 'pid': 2**22 + 12345,\n"
            "        'model_config': {'latent_dim': dim, 'hidden': [32, 16]}, 'train_config': {'epochs': 2}})\n"
            "    history = [{'epoch': e, 'train_recon': 100.0 - e, 'train_kl': 5.0, 'train_neg_elbo': 105.0 - e}\n"
            "               for e in (1, 2)]\n"
            "    runs.write_json_atomic(run_dir / 'progress.json', {'state': 'finished', 'epochs': 2,\n"
            "                                                       'history': history})\n"
            "    np.save(run_dir / 'latents' / 'labels.npy', np.arange(100) % 10)\n"
            "    for e in (0, 1, 2):\n"
            "        np.save(run_dir / 'latents' / f'epoch_{e:04d}.npy',\n"
            "                np.random.default_rng(e).normal(size=(100, dim)))\n"
            "ui.state.RUNS_DIR = folder\n"
            "for run_id in ('20250102-000000-ten', '20250101-000000-two'):  # the newest first, then the other\n"
            "    at = AppTest.from_file('app_pages/train.py', default_timeout=300)\n"
            "    at.session_state['train_run'] = run_id\n"
            "    at.run()\n"
            "    assert not at.exception, at.exception\n"
            "    assert any('finished' in m.value for m in at.markdown), [m.value for m in at.markdown]\n"
            "    assert len(at.get('plotly_chart')) == 3  # loss curves, live latent map, replay\n"
            "print('TORCH', 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "TORCH False" in out.stdout, out.stdout


def test_a_card_is_read_from_json_and_a_malformed_one_is_none(tmp_path):
    cfg = vae.ModelConfig(latent_dim=2, hidden=(16,))
    (tmp_path / "up").mkdir()
    runs.write_card(tmp_path / "up", runs.CheckpointCard("theirs", 7, "mnist", cfg))
    assert runs.read_card(tmp_path / "up") == runs.CheckpointCard("theirs", 7, "mnist", cfg)
    run = tmp_path / "run"
    run.mkdir()
    runs.write_json_atomic(run / "run.json", {"name": "mine", "model_config": {"latent_dim": 2, "hidden": [16]},
                                              "train_config": {"dataset": "kmnist"}})
    runs.write_json_atomic(run / "progress.json", {"history": [{}, {}]})
    assert runs.read_card(run) == runs.CheckpointCard("mine", 2, "kmnist", cfg)
    for broken in ({"name": "x", "model_config": None}, {"name": "x", "model_config": {"latent_dim": "two"}},
                   {"name": "x", "train_config": ["not", "a", "dict"]}):
        runs.write_json_atomic(run / "run.json", broken)
        assert runs.read_card(run) is None, broken  # the picker then asks the checkpoint itself
    assert runs.read_card(tmp_path / "nothing") is None

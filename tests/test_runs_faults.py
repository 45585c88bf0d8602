"""Faults during training, nothing lost: a save that fails (disk full, no permission) is reported in plain words
in the run's progress and on the Train page, and the previous epoch's checkpoint stays intact and resumable.

The CLI runs in-process here so torch.save / os.replace can be monkeypatched (root ignores chmod, so a read-only
folder would not simulate "no permission").
"""
from __future__ import annotations

import errno
import hashlib
import os
import signal
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

import vae
from ui import supervisor
from vae import cli, runs

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def keep_sigterm():
    """`--run-dir` installs a SIGTERM handler; give pytest its own back."""
    previous = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, previous)


def train_in_process(run_dir, epochs: int = 3) -> int:
    runs.write_json_atomic(run_dir / "run.json", {  # what start_run writes, so the page can show the run
        "name": "faulty", "demo": True, "pid": None, "model_config": {"arch": "mlp", "latent_dim": 2,
                                                                      "hidden": [16, 8]},
        "train_config": {"epochs": epochs, "batch_size": 100, "train_subset": 300, "warmup_steps": 0}})
    return cli.main(["train", "--arch", "mlp", "--latent-dim", "2", "--hidden", "16,8", "--epochs", str(epochs),
                     "--batch-size", "100", "--train-subset", "300", "--warmup-steps", "0", "--threads", "1",
                     "--train-split", "test", "--snapshot-size", "100", "--name", "faulty",
                     "--out", str(run_dir / "checkpoint.pt"), "--run-dir", str(run_dir)])


def fail_second_save(monkeypatch, target, name, exc, path_of):
    """Patch target.name so its first call on a checkpoint works and the second raises `exc`. Returns a dict that
    receives the checkpoint's bytes as they were just before the failing call."""
    original = getattr(target, name)
    seen = {"calls": 0}

    def flaky(*args, **kwargs):
        path = path_of(args)
        if path is not None and str(path).endswith("checkpoint.pt"):
            seen["calls"] += 1
            if seen["calls"] == 2:
                seen["before"] = hashlib.sha256(open(path, "rb").read()).hexdigest()
                raise exc
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, flaky)
    return seen


@pytest.mark.parametrize("fault", ["disk full", "no permission"])
def test_failing_save_is_reported_and_the_previous_checkpoint_survives(tmp_path, monkeypatch, fault):
    run_dir = tmp_path / "runs" / "app" / "20260101-000000-faulty"
    run_dir.mkdir(parents=True)
    ck_path = run_dir / "checkpoint.pt"
    if fault == "disk full":  # torch.save writes into the temporary file and runs out of space
        seen = fail_second_save(monkeypatch, torch, "save", OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
                                lambda args: ck_path)  # only checkpoints are written with torch.save here
        expected = "No space left on device"
    else:  # the rename over the old checkpoint is refused
        seen = fail_second_save(monkeypatch, os, "replace", PermissionError(errno.EACCES, "Permission denied"),
                                lambda args: args[1])
        expected = "Permission denied"

    assert train_in_process(run_dir) == 1
    assert seen["calls"] == 2

    status = supervisor.read_status(run_dir)
    assert status.state == "failed" and status.error_kind == "save"
    assert expected in status.message and "unchanged" in status.message
    assert hashlib.sha256(ck_path.read_bytes()).hexdigest() == seen["before"]  # untouched by the failed save
    assert vae.load_checkpoint(ck_path).epoch == 1
    assert not [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")]  # no half-written leftovers
    assert status.can_resume

    monkeypatch.undo()  # the page itself must not see the fault
    import ui.state
    monkeypatch.setattr(ui.state, "RUNS_DIR", run_dir.parent)
    at = AppTest.from_file(str(ROOT / "app_pages" / "train.py"), default_timeout=60).run()
    assert not at.exception
    assert any(expected in e.value for e in at.error)
    assert any("▶ Resume" in b.label for b in at.button)


def test_run_folder_that_cannot_be_created_gives_a_clear_error(tmp_path, monkeypatch):
    import ui.state
    monkeypatch.setattr(ui.state, "RUNS_DIR", tmp_path / "runs" / "app")

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(supervisor, "start_run", refuse)
    at = AppTest.from_file(str(ROOT / "app_pages" / "train.py"), default_timeout=60).run()
    next(b for b in at.button if "bundled test split" in b.label).click().run()
    assert not at.exception
    assert any("Permission denied" in e.value and "Could not create the run folder" in e.value for e in at.error)

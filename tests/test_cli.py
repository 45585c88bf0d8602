"""`python -m vae`: help, a one-epoch training run that `evaluate` reads, and the bundled model list."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli as run

ROOT = Path(__file__).resolve().parent.parent


def test_help_lists_the_commands_and_flags():
    top = subprocess.run([sys.executable, "-m", "vae", "--help"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)  # the entry point itself, in a new interpreter
    assert top.returncode == 0 and all(c in top.stdout for c in ("train", "evaluate", "models"))
    train = run("train", "--help").stdout
    for flag in ("--dataset", "--data-dir", "--arch", "--hidden", "--latent-dim", "--beta", "--kl-warmup",
                 "--epochs", "--batch-size", "--lr", "--binarize", "--mc-samples", "--seed", "--out", "--resume",
                 "--json"):
        assert flag in train, flag


def test_train_one_epoch_then_evaluate(tmp_path, mnist_root):
    ck = tmp_path / "ck.pt"
    r = run("train", "--data-dir", str(mnist_root), "--epochs", "1", "--train-subset", "1000", "--hidden", "64",
            "--latent-dim", "2", "--out", str(ck), "--json", "--threads", "1")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    for key in ("epochs", "samples_per_s", "train_seconds", "test_neg_elbo", "test_recon", "test_kl", "history"):
        assert key in summary, key
    assert summary["epochs"] == 1 and summary["history"][0]["epoch"] == 1
    assert "epoch 1/1" in r.stderr and "recon" in r.stderr  # the progress bar

    e = run("evaluate", str(ck), "--iw-samples", "5", "--limit", "300", "--json", "--data-dir", str(mnist_root))
    assert e.returncode == 0, e.stderr
    out = json.loads(e.stdout)
    for key in ("neg_elbo", "recon", "kl", "nll_iw", "active_units", "latent_dim", "beta", "dataset", "n_test"):
        assert key in out, key
    assert out["n_test"] == 300 and out["latent_dim"] == 2 and out["dataset"] == "mnist"


def test_evaluate_dynamic_binarisation_is_reproducible(tiny_ckpt):
    a = run("evaluate", str(tiny_ckpt), "--binarize", "dynamic", "--limit", "200", "--json")
    b = run("evaluate", str(tiny_ckpt), "--binarize", "dynamic", "--limit", "200", "--json")
    assert a.returncode == 0, a.stderr
    # The same binary images both times (an unseeded draw would move -ELBO by ~0.1 nats over 200 digits); the sums
    # themselves are compared to a tolerance, as any two computations are here.
    assert json.loads(a.stdout)["neg_elbo"] == pytest.approx(json.loads(b.stdout)["neg_elbo"], rel=1e-6)


def test_missing_training_data_is_a_clear_error(tmp_path):
    r = run("train", "--data-dir", str(tmp_path), "--epochs", "1")
    assert r.returncode == 1
    assert str(tmp_path / "MNIST" / "raw") in r.stderr and "Traceback" not in r.stderr


def test_a_bad_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    r = run("evaluate", str(bad))
    assert r.returncode == 1 and "error:" in r.stderr and "Traceback" not in r.stderr


def test_models_lists_the_bundled_models():
    r = run("models", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert rows, "no bundled models found"
    for row in rows:
        for key in ("name", "path", "arch", "latent_dim", "beta", "binarize", "metrics"):
            assert key in row, key
    assert rows[0]["name"] == "2-D · β = 1 (default)" and rows[0]["latent_dim"] == 2
    assert {r["beta"] for r in rows if r["latent_dim"] == 2 and not r["beta_range"]} == {0.0, 0.25, 1.0, 4.0, 16.0}


def test_every_config_field_has_a_train_flag():
    """The app's run manager passes every config field as a flag, so a field without one breaks background runs."""
    from dataclasses import fields

    import vae
    text = run("train", "--help").stdout
    for cls in (vae.ModelConfig, vae.TrainConfig):
        for f in fields(cls):
            if f.name in ("image_size",):
                continue  # fixed by the datasets (28 x 28), not a user choice
            assert "--" + f.name.replace("_", "-") in text, f.name


# ---- a conditioned model with a run folder; resuming ------------------------------------------------------------

QUICK = ("--train-split", "test", "--train-subset", "200", "--batch-size", "100", "--threads", "1")


def test_a_beta_conditioned_run_folder_snapshots_at_a_stated_beta(tmp_path):
    """A conditioned model trained with --run-dir: its latent snapshots encode at beta = 1 (its reference beta),
    and progress.json says so (the old snapshot encoded with no beta and stopped the run before its first step)."""
    import numpy as np
    import torch

    import vae
    from vae import runs

    ck, run_dir = tmp_path / "ck.pt", tmp_path / "run"
    r = run("train", *QUICK, "--epochs", "1", "--hidden", "32", "--beta-range", "0.1,4", "--run-dir", str(run_dir),
            "--snapshot-size", "50", "--out", str(ck))
    assert r.returncode == 0, r.stderr
    progress = runs.read_json(run_dir / "progress.json")
    assert progress["state"] == "finished" and progress["snapshot_beta"] == 1.0
    epochs, frames, labels = runs.load_snapshots(run_dir)
    assert epochs == [0, 1] and frames[1].shape == (50, 2) and len(labels) == 50
    model = vae.load_checkpoint(ck).model
    with torch.no_grad():
        mu, _ = model.encode(vae.load_split("mnist", train=False).subset(50).floats(), 1.0)
    np.testing.assert_allclose(frames[1], mu.numpy(), atol=1e-5)  # the same encoder, another process's float sums


def test_resume_takes_the_model_from_the_checkpoint(tmp_path):
    import vae

    ck = tmp_path / "ck.pt"
    first = run("train", *QUICK, "--epochs", "1", "--hidden", "32", "--latent-dim", "3", "--lr", "0.002",
                "--out", str(ck))
    assert first.returncode == 0, first.stderr
    again = run("train", *QUICK, "--resume", str(ck), "--epochs", "2", "--out", str(ck))  # no model flags
    assert again.returncode == 0, again.stderr
    resumed = vae.load_checkpoint(ck)
    assert resumed.epoch == 2 and resumed.model_config.hidden == (32,) and resumed.model_config.latent_dim == 3
    assert resumed.train_config.lr == 0.002 and resumed.train_config.epochs == 2  # its own recipe, the new length


def test_resume_refuses_a_model_flag_the_checkpoint_contradicts(tmp_path):
    ck = tmp_path / "ck.pt"
    assert run("train", *QUICK, "--epochs", "1", "--hidden", "32", "--beta-range", "0.1,4", "--gate-split", "1",
               "--out", str(ck)).returncode == 0
    for flags, field in ((("--hidden", "64"), "hidden"), (("--gate-split", "2"), "gate_split"),
                         (("--beta-range", "0.1,8"), "beta_range")):
        r = run("train", *QUICK, "--resume", str(ck), "--epochs", "2", *flags, "--out", str(ck))
        assert r.returncode == 2, (flags, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and field in lines[0], lines
    same = run("train", *QUICK, "--resume", str(ck), "--epochs", "2", "--hidden", "32", "--gate-split", "1",
               "--out", str(ck))  # flags that agree with it (the app passes every field) are fine
    assert same.returncode == 0, same.stderr


def test_the_library_refuses_to_resume_into_another_config(tmp_path, mnist_test):
    """vae.train with resume: a config that differs without changing any shape (gate_split) must not pass."""
    import pytest

    import vae

    model_cfg = vae.ModelConfig(hidden=(16,), beta_range=(0.1, 4.0), gate_split=1.0)
    cfg = vae.TrainConfig(epochs=1, batch_size=100, train_subset=100, threads=1)
    ck = tmp_path / "ck.pt"
    vae.train(model_cfg, cfg, mnist_test, mnist_test.subset(100), out=ck)
    other = vae.ModelConfig(hidden=(16,), beta_range=(0.1, 4.0), gate_split=2.0)
    with pytest.raises(ValueError, match="gate_split"):
        vae.train(other, vae.TrainConfig(epochs=2, batch_size=100, train_subset=100, threads=1), mnist_test,
                  mnist_test.subset(100), out=ck, resume=ck)


def test_resume_from_a_missing_checkpoint_is_a_clear_error(tmp_path):
    r = run("train", *QUICK, "--resume", str(tmp_path / "nope.pt"), "--epochs", "2")
    assert r.returncode == 1 and r.stderr.startswith("error:") and "Traceback" not in r.stderr, r.stderr

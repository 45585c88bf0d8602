"""`python -m vae`: help, a one-epoch training run that `evaluate` reads, and the bundled model list."""
import json
import subprocess
import sys
from pathlib import Path

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
    assert json.loads(a.stdout)["neg_elbo"] == json.loads(b.stdout)["neg_elbo"]


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

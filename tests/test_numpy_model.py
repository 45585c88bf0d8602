"""vae.numpy_model: the checkpoint's NumPy form the Explore page draws from without importing torch."""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import vae
from vae import bundled, latent
from vae.cli import main as cli_main
from vae.numpy_model import FORMAT_VERSION, NumpyDecoder, load_numpy_model, make_numpy_model, save_numpy_model
from vae.store import relpath

ROOT = Path(__file__).resolve().parent.parent


def test_save_load_round_trip_decodes_like_torch(tiny_ckpt, mnist_test, tmp_path):
    ck = vae.load_checkpoint(tiny_ckpt)
    mu, sigma = latent.posterior(ck.model, mnist_test.subset(200).floats().numpy())
    path = save_numpy_model(tmp_path / "nm.npz", make_numpy_model(ck, mu, sigma))
    nm = load_numpy_model(path, sha256=ck.sha256)
    assert (nm.sha256, nm.name, nm.dataset, nm.epoch) == (ck.sha256, ck.name, ck.dataset, ck.epoch)
    assert nm.model_config == ck.model_config and nm.train_config == ck.train_config
    np.testing.assert_array_equal(nm.mu, mu)
    np.testing.assert_array_equal(nm.sigma, sigma)
    assert isinstance(nm.decoder, NumpyDecoder) and nm.decoder.weights.dtype == np.float32
    z = np.random.default_rng(0).standard_normal((16, 2)).astype(np.float32) * 2
    np.testing.assert_allclose(latent.decode(nm.decoder, z), latent.decode(ck.model, z), atol=1e-5)


def test_a_file_from_another_checkpoint_or_garbage_is_refused(tiny_ckpt, mnist_test, tmp_path):
    ck = vae.load_checkpoint(tiny_ckpt)
    mu, sigma = latent.posterior(ck.model, mnist_test.subset(50).floats().numpy())
    path = save_numpy_model(tmp_path / "a.npz", make_numpy_model(ck, mu, sigma))
    with pytest.raises(ValueError, match="another checkpoint"):
        load_numpy_model(path, sha256="0" * 64)
    for garbage in (b"", b"not an npz at all", path.read_bytes()[:200]):
        (tmp_path / "bad.npz").write_bytes(garbage)
        with pytest.raises(ValueError, match="unreadable"):
            load_numpy_model(tmp_path / "bad.npz")
    # an npz holding a pickled object is refused without unpickling it
    np.savez(tmp_path / "pickle.npz", meta=np.array([{"version": FORMAT_VERSION}], dtype=object))
    with pytest.raises(ValueError, match="unreadable"):
        load_numpy_model(tmp_path / "pickle.npz")


def test_the_shipped_default_is_the_bundled_default_checkpoint(mnist_test):
    """assets/numpy_models must match assets/models: same file hash, same decoder, same posteriors."""
    sha = hashlib.sha256(bundled.DEFAULT.path.read_bytes()).hexdigest()
    shipped = ROOT / "assets" / relpath("numpy_model", sha)
    assert shipped.is_file(), "rerun: python -m vae export-numpy assets/models/mnist-2d-beta1.pt --out-dir " \
                              "assets/numpy_models"
    nm = load_numpy_model(shipped, sha256=sha)
    ck = vae.load_checkpoint(bundled.DEFAULT.path)
    z = np.random.default_rng(1).standard_normal((64, 2)).astype(np.float32) * 2
    np.testing.assert_allclose(latent.decode(nm.decoder, z), latent.decode(ck.model, z), atol=1e-5)
    mu, sigma = latent.posterior(ck.model, mnist_test.subset(500).floats().numpy())
    np.testing.assert_allclose(nm.mu[:500], mu, atol=1e-4)
    np.testing.assert_allclose(nm.sigma[:500], sigma, rtol=1e-4, atol=1e-6)
    assert nm.mu.shape == (len(mnist_test), 2) and nm.name == ck.name


def test_cli_export_numpy_writes_the_file_the_app_looks_for(tiny_ckpt, tmp_path, capsys):
    assert cli_main(["export-numpy", str(tiny_ckpt), "--out-dir", str(tmp_path)]) == 0
    sha = hashlib.sha256(tiny_ckpt.read_bytes()).hexdigest()
    assert capsys.readouterr().out.strip() == str(tmp_path / relpath("numpy_model", sha).name)
    assert load_numpy_model(tmp_path / relpath("numpy_model", sha).name, sha256=sha).mu.shape == (10000, 2)
    assert cli_main(["export-numpy", str(tmp_path / "missing.pt"), "--out-dir", str(tmp_path)]) == 2


def test_grid_coordinates_are_standard_normal_quantiles():
    p = torch.linspace(0.05, 0.95, 15)
    expected = torch.distributions.Normal(0.0, 1.0).icdf(p).numpy()
    np.testing.assert_allclose(latent.grid_coordinates(15), expected, atol=1e-5)


def test_explore_first_run_imports_neither_torch_nor_pandas(tmp_path):
    """The cold-start path: the app's first page (Explore, default model) is drawn from the shipped NumPy model;
    torch is imported after it, in the background. A fresh interpreter: this test process imported torch long ago.
    The user's own run and an uploaded checkpoint are in the sidebar's picker too, listed from their JSON."""
    from ui.state import UPLOAD_PREFIX
    from vae import runs
    from vae.config import config_to_dict

    ck = vae.load_checkpoint(bundled.DEFAULT.path)
    run = tmp_path / "2026-11-30-120000-mine"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(bundled.DEFAULT.path.read_bytes())
    runs.write_json_atomic(run / "run.json", {"name": "mine", "model_config": config_to_dict(ck.model_config),
                                              "train_config": config_to_dict(ck.train_config)})
    runs.write_json_atomic(run / "progress.json", {"state": "finished", "history": [{}, {}, {}]})
    upload = tmp_path / f"{UPLOAD_PREFIX}0123456789ab"
    upload.mkdir()
    (upload / "checkpoint.pt").write_bytes(bundled.DEFAULT.path.read_bytes())
    runs.write_card(upload, runs.CheckpointCard("theirs", 7, "mnist", ck.model_config))
    code = ("import sys, threading\n"
            "from pathlib import Path\n"
            "import ui.state\n"
            f"ui.state.RUNS_DIR = Path({str(tmp_path)!r})\n"
            "warm_up = ui.state.warm_up_torch\n"
            "ui.state.warm_up_torch = lambda: None  # measured separately below\n"
            "from streamlit.testing.v1 import AppTest\n"
            "at = AppTest.from_file('router.py', default_timeout=300)\n"
            "at.run()\n"
            "assert not at.exception, at.exception\n"
            "assert at.title[0].value == 'Explore the latent space', [t.value for t in at.title]\n"
            "print('HEAVY', [m for m in ('torch', 'torchvision', 'pandas', 'sklearn') if m in sys.modules])\n"
            "print('PICKER', at.sidebar.selectbox(key='model_path').options)\n"
            "warm_up().join(300)\n"
            "print('WARMED', 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "HEAVY []" in out.stdout, out.stdout
    assert "'Your run: mine (3 epochs)'" in out.stdout and "'Uploaded: theirs (7 epochs)'" in out.stdout, out.stdout
    assert "WARMED True" in out.stdout, out.stdout

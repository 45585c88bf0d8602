"""The latent pad's JavaScript decoder (ui/components/latent_pad_decoder.js) against torch: within 1/255 per pixel.

Runs the JS in node when it is installed, else in headless Chromium (the conftest harness; skips without it).
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

import vae
from vae import bundled
from conftest import CHROMIUM, CHROMIUM_ARGS, browser_or_skip
from vae.latent import decode
from vae.numpy_model import export_decoder

DECODER_JS = Path(__file__).resolve().parent.parent / "ui" / "components" / "latent_pad_decoder.js"


SINGLE = """
    const decode = createDecoder(LAYERS, new Float32Array(WEIGHTS));
    const out = ZS.map((z) => Array.from(decode(Float64Array.from(z), LOG_BETA)));
    """
BATCH = """
    const decodeBatch = createBatchDecoder(LAYERS, new Float32Array(WEIGHTS));
    const flat = decodeBatch(Float32Array.from(ZS.flat()), ZS.length, LOG_BETA);
    const n = flat.length / ZS.length;
    const out = ZS.map((z, i) => Array.from(flat.subarray(i * n, (i + 1) * n)));
    """


def run_js_decoder(layers: list[dict], weights: np.ndarray, zs: np.ndarray, tmp_path: Path,
                   beta: float | None = None, batch: bool = False) -> np.ndarray:
    """Decode each row of zs with the JavaScript decoder (one by one, or createBatchDecoder's batch); returns
    (N, 784) float32. beta: for a beta-conditioned model."""
    harness = f"const LOG_BETA = {json.dumps(None if beta is None else float(np.log(beta)))};" + (
        BATCH if batch else SINGLE)
    source = DECODER_JS.read_text()
    if shutil.which("node"):
        (tmp_path / "w.bin").write_bytes(weights.astype(np.float32).tobytes())
        script = tmp_path / "run.js"
        script.write_text(
            source + "\nconst fs = require('fs');\n"
            f"const LAYERS = {json.dumps(layers)}; const ZS = {json.dumps(zs.tolist())};\n"
            f"const buf = fs.readFileSync({json.dumps(str(tmp_path / 'w.bin'))});\n"
            "const WEIGHTS = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);\n"
            + harness + "\nprocess.stdout.write(JSON.stringify(out));\n")
        result = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=120, check=True)
        return np.asarray(json.loads(result.stdout), np.float32)
    browser_or_skip()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        out = page.evaluate(
            "([src, harness, layers, w, zs]) => new Function('LAYERS', 'WEIGHTS', 'ZS', "
            "src + harness + '; return out;')(layers, new Float32Array(w).buffer, zs)",
            [source, harness, layers, weights.astype(np.float32).tolist(), zs.tolist()])
        browser.close()
    return np.asarray(out, np.float32)


def check_against_torch(model: vae.VAE, tmp_path: Path, n: int = 24, scale: float = 2.5, beta=None,
                        batch: bool = False) -> None:
    layers, weights = export_decoder(model)
    zs = np.random.default_rng(0).standard_normal((n, model.cfg.latent_dim)).astype(np.float32) * scale
    js = run_js_decoder(layers, weights, zs, tmp_path, beta, batch)
    expected = decode(model, zs, beta).reshape(n, -1)
    assert js.shape == expected.shape
    assert np.abs(js - expected).max() <= 1 / 255
    # and the 8-bit pixels the pad draws are (all but a rare rounding tie) the same
    as_uint8 = lambda a: np.round(a * 255).astype(np.int16)  # noqa: E731
    assert (as_uint8(js) != as_uint8(expected)).mean() < 1e-3


def _sharp(model: vae.VAE) -> vae.VAE:
    """Random init gives near-grey images; scale the weights so pixels span 0..1 and rounding is exercised."""
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.mul_(3)
    return model.eval()


@pytest.mark.parametrize("latent_dim", [2, 20])
def test_js_matches_torch_on_bundled_architecture(latent_dim, tmp_path):
    torch.manual_seed(latent_dim)
    cfg = vae.ModelConfig(arch="mlp", latent_dim=latent_dim, hidden=(512, 256))  # as assets/train_models.sh
    check_against_torch(_sharp(vae.VAE(cfg)), tmp_path)


@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize("key", [m.key for m in bundled.BUNDLED])
def test_js_matches_torch_on_bundled_checkpoint(key, batch, tmp_path):
    path = bundled.by_key(key).path
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    check_against_torch(vae.load_checkpoint(path).model, tmp_path, batch=batch)


@pytest.mark.parametrize("beta", [0.01, 1.0, 16.0])
def test_js_matches_torch_on_the_bundled_dial_model(beta, tmp_path):
    path = bundled.BETA_DIAL.path
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    check_against_torch(vae.load_checkpoint(path).model, tmp_path, beta=beta, batch=True)


@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize("beta", [0.01, 0.3, 1.0, 16.0])
def test_js_matches_torch_on_beta_conditioned_decoder(beta, batch, tmp_path):
    torch.manual_seed(1)
    model = _sharp(vae.VAE(vae.ModelConfig(latent_dim=2, hidden=(512, 256), beta_range=(0.01, 16))))
    check_against_torch(model, tmp_path, beta=beta, batch=batch)


@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize("beta", [0.01, 16.0])
def test_js_matches_torch_with_a_gate_on_z(beta, batch, tmp_path):
    """ModelConfig.gate_latent puts a gate on z itself, before the decoder's first layer (the batch decoder must not
    scale the caller's array in place)."""
    torch.manual_seed(2)
    model = _sharp(vae.VAE(vae.ModelConfig(latent_dim=2, hidden=(64, 32), beta_range=(0.01, 16), gate_heads=True,
                                           gate_latent=True)))
    with torch.no_grad():  # gates far from 1, so they matter
        model.decoder[0].b.uniform_(-3, 1)
    assert run_js_decoder(*export_decoder(model), np.ones((1, 2), np.float32), tmp_path, beta, batch).shape == (1, 784)
    check_against_torch(model, tmp_path, beta=beta, batch=batch)


def test_beta_changes_the_js_decoders_output(tmp_path):
    torch.manual_seed(1)
    model = _sharp(vae.VAE(vae.ModelConfig(latent_dim=2, hidden=(64, 32), beta_range=(0.01, 16))))
    layers, weights = export_decoder(model)
    zs = np.zeros((1, 2), np.float32)
    lo, hi = (run_js_decoder(layers, weights, zs, tmp_path, beta, batch=True) for beta in (0.01, 16))
    assert np.abs(lo - hi).max() > 0.01


def test_js_matches_torch_on_conv_decoder(tmp_path):
    torch.manual_seed(0)
    cfg = vae.ModelConfig(arch="conv", latent_dim=2, hidden=(32, 64, 16))  # the conv-2d preset
    check_against_torch(_sharp(vae.VAE(cfg)), tmp_path, n=6)

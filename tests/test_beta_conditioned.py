"""A beta-conditioned VAE (ModelConfig.beta_range, Multi-Rate VAE gates): shapes, the gates, training, checkpoints,
the NumPy decoder, and the command line's --beta-range / --beta."""
import json
import math

import numpy as np
import pytest
import torch

import vae
from conftest import run_cli as run
from vae.beta_dial import N_CHOSEN, dial_betas, load_dial_data, make_dial_data, save_dial_data
from vae.data import evaluation_images
from vae.latent import decode
from vae.numpy_model import export_decoder
from vae.losses import neg_elbo
from vae.model import BetaGate
from vae.numpy_model import NumpyDecoder
from vae.trainer import sample_betas

RANGE = (0.01, 16.0)
SMALL = vae.ModelConfig(latent_dim=2, hidden=(32, 16), beta_range=RANGE)


def test_gated_forward_shapes_and_one_gate_per_hidden_layer():
    model = vae.VAE(SMALL)
    assert sum(isinstance(m, BetaGate) for m in model.modules()) == 4  # 2 hidden layers each side
    x = torch.rand(5, 784)
    logits, mu, logvar, z = model(x, beta=torch.tensor([0.01, 0.1, 1, 4, 16.0]))
    assert logits.shape == (5, 784) and mu.shape == logvar.shape == z.shape == (5, 2)
    logits, *_ = model(x, n_samples=3, beta=2.0)
    assert logits.shape == (3, 5, 784)
    assert model.decode(torch.zeros(4, 7, 2), beta=torch.ones(7)).shape == (4, 7, 784)


def test_beta_changes_the_gates_and_so_the_outputs():
    torch.manual_seed(0)
    model = vae.VAE(SMALL).eval()
    x = torch.rand(3, 784)
    mu_lo, _ = model.encode(x, 0.01)
    mu_hi, _ = model.encode(x, 16.0)
    assert not torch.allclose(mu_lo, mu_hi)
    assert not torch.allclose(model.decode(mu_lo, 0.01), model.decode(mu_lo, 16.0))
    gate = next(m for m in model.modules() if isinstance(m, BetaGate))
    h = torch.ones(1, gate.a.numel())
    lo, hi = gate(h, torch.tensor([math.log(0.01)])), gate(h, torch.tensor([math.log(16.0)]))
    expected = torch.sigmoid(gate.a * torch.tensor(-1.0) + gate.b)  # u = -1 at the range's lower end
    torch.testing.assert_close(lo[0], expected)
    assert not torch.allclose(lo, hi)


def test_beta_is_required_checked_and_refused_by_ordinary_models():
    model = vae.VAE(SMALL)
    x = torch.rand(2, 784)
    with pytest.raises(ValueError, match="pass beta"):
        model.encode(x)
    with pytest.raises(ValueError, match="range"):
        model.encode(x, 20.0)
    with pytest.raises(ValueError, match="no beta"):
        vae.VAE(vae.ModelConfig(hidden=(8,))).encode(x, 1.0)
    with pytest.raises(ValueError):
        vae.ModelConfig(beta_range=(0.0, 1.0))  # log 0
    with pytest.raises(ValueError):
        vae.ModelConfig(arch="conv", hidden=(8, 8), beta_range=RANGE)


def test_sampled_betas_are_log_uniform_over_the_range():
    b = sample_betas(RANGE, 20000, torch.Generator().manual_seed(0))
    assert b.min() >= RANGE[0] and b.max() <= RANGE[1]
    u = (b.log() - math.log(RANGE[0])) / (math.log(RANGE[1]) - math.log(RANGE[0]))
    assert abs(float(u.mean()) - 0.5) < 0.01 and abs(float(u.var()) - 1 / 12) < 0.005


def test_a_train_step_changes_every_weight_and_an_eval_step_none():
    torch.manual_seed(0)
    model = vae.VAE(SMALL)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.rand(16, 784).round()
    betas = sample_betas(RANGE, 16, torch.Generator().manual_seed(1))
    logits, mu, logvar, _ = model(x, beta=betas)
    loss, _, _ = neg_elbo(logits, x, mu, logvar, betas)  # the loss functions take one beta per example as they are
    loss.mean().backward()
    opt.step()
    assert all(not torch.equal(before[k], v) for k, v in model.state_dict().items()), "a weight did not move"
    after = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval()
    with torch.no_grad():
        model(x, beta=1.0)
    assert all(torch.equal(after[k], v) for k, v in model.state_dict().items())


def test_training_saves_the_range_and_the_checkpoint_round_trips(tmp_path, mnist_test):
    out = tmp_path / "dial.pt"
    cfg = vae.TrainConfig(epochs=1, batch_size=100, train_subset=300, threads=1, kl_warmup=1)
    result = vae.train(SMALL, cfg, mnist_test, mnist_test.subset(200), out=out)
    ck = vae.load_checkpoint(out)
    assert ck.model_config.beta_range == RANGE
    x = torch.rand(4, 784)
    for beta in (0.01, 1.0, 16.0):
        torch.testing.assert_close(ck.model.encode(x, beta), result.model.encode(x, beta))
    assert result.history[0]["beta"] is None  # one beta per example: there is no single weight to record


def test_numpy_decoder_matches_torch_at_every_beta():
    torch.manual_seed(0)
    model = vae.VAE(SMALL).eval()
    layers, weights = export_decoder(model)
    assert sum(layer["type"] == "gate" for layer in layers) == 2
    nd = NumpyDecoder(tuple(layers), weights, 2)
    z = np.random.default_rng(0).standard_normal((6, 2)).astype(np.float32)
    for beta in (0.01, 0.5, 16.0):
        np.testing.assert_allclose(decode(nd, z, beta), decode(model, z, beta), atol=1e-5)
    with pytest.raises(ValueError):
        nd.decode_images(z)


def test_dial_data_round_trip_and_grid(tmp_path, mnist_test):
    torch.manual_seed(0)
    model = vae.VAE(SMALL).eval()
    split = mnist_test.subset(300)
    path = tmp_path / "m.pt"
    vae.save_checkpoint(path, model, vae.TrainConfig())
    ck = vae.load_checkpoint(path)
    data = make_dial_data(ck, split.floats().numpy(), evaluation_images(split, "dynamic").numpy(),
                          split.labels.numpy(), n_betas=5)
    np.testing.assert_allclose(data.betas, dial_betas(RANGE, 5))
    assert data.betas[0] == pytest.approx(0.01) and data.betas[-1] == pytest.approx(16)
    assert data.mu.shape == (5, 300, 2) and data.chosen_sigma.shape == (5, 8, 2)
    assert list(split.labels.numpy()[data.chosen]) == list(range(8))
    labels = split.labels.numpy()
    np.testing.assert_array_equal(data.chosen, [int(np.flatnonzero(labels == c)[0]) for c in range(N_CHOSEN)])
    mu, _ = vae.latent.posterior(ck.model, split.floats().numpy(), float(data.betas[2]))
    np.testing.assert_allclose(data.mu[2], mu, atol=1e-6)
    save_dial_data(tmp_path / "d.npz", data)
    again = load_dial_data(tmp_path / "d.npz", ck.sha256)
    np.testing.assert_array_equal(again.mu, data.mu)
    with pytest.raises(ValueError):
        load_dial_data(tmp_path / "d.npz", "0" * 64)  # made from another checkpoint


@pytest.fixture(scope="module")
def dial_ckpt(tmp_path_factory, mnist_root):
    path = tmp_path_factory.mktemp("dial") / "dial.pt"
    r = run("train", "--data-dir", str(mnist_root), "--epochs", "1", "--train-subset", "500", "--hidden", "32",
            "--latent-dim", "2", "--beta-range", "0.01,16", "--out", str(path), "--threads", "1")
    assert r.returncode == 0, r.stderr
    return path


def test_cli_evaluate_at_a_beta_equals_a_direct_computation(dial_ckpt, mnist_test):
    r = run("evaluate", str(dial_ckpt), "--beta", "4", "--limit", "300", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["beta"] == 4 and out["beta_range"] == [0.01, 16]
    ck = vae.load_checkpoint(dial_ckpt)
    direct = vae.metrics.elbo_parts(ck.model, evaluation_images(mnist_test.subset(300), "dynamic"), beta=4.0)
    for key in ("neg_elbo", "recon", "kl"):
        assert out[key] == pytest.approx(direct[key], rel=1e-6), key
    assert out["objective"] == pytest.approx(direct["recon"] + 4 * direct["kl"], rel=1e-6)


def test_cli_records_each_beta_apart(dial_ckpt, tmp_path):
    path = tmp_path / "copy.pt"
    path.write_bytes(dial_ckpt.read_bytes())
    assert run("evaluate", str(path), "--beta", "4", "--limit", "100", "--record").returncode == 2  # partial: refused
    for beta in ("4", "1"):
        assert run("evaluate", str(path), "--beta", beta, "--record").returncode == 0
    metrics = vae.load_checkpoint(path).metrics
    assert set(metrics["at_beta"]) == {"4", "1"} and metrics["at_beta"]["4"]["beta"] == 4
    assert metrics["neg_elbo"] == metrics["at_beta"]["1"]["neg_elbo"]  # beta = 1 also at the top, for `models`


def test_cli_refuses_a_beta_outside_the_range_or_on_an_ordinary_model(dial_ckpt, tiny_ckpt):
    for ckpt, beta in ((dial_ckpt, "20"), (tiny_ckpt, "1")):
        r = run("evaluate", str(ckpt), "--beta", beta, "--limit", "50")
        assert r.returncode == 2
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("error:"), r.stderr


def test_cli_models_lists_every_beta_range():
    r = run("models", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert rows and all("beta_range" in row for row in rows)
    for row in rows:
        if row["beta_range"] is None:
            assert isinstance(row["beta"], (int, float))
        else:
            lo, hi = row["beta_range"]
            assert row["beta"] is None and 0 < lo < hi


def test_the_bundled_dial_model_matches_its_recorded_metrics_and_dial_data(mnist_test):
    """README's table comes from these records (assets/train_models.sh: evaluate --beta B --record)."""
    from vae import bundled
    from vae.data import ASSETS
    from vae.store import relpath
    path = bundled.BETA_DIAL.path
    if not path.is_file():
        pytest.skip("the beta-conditioned model is not bundled")
    ck = vae.load_checkpoint(path)
    assert ck.model_config.beta_range == RANGE and ck.train_config.binarize == "dynamic"
    for beta in (0.25, 1.0, 4.0, 16.0):
        recorded = ck.metrics["at_beta"][f"{beta:g}"]
        fresh = vae.evaluate_checkpoint(ck, test_split=mnist_test, beta=beta)
        for key in ("neg_elbo", "recon", "kl", "objective"):
            assert recorded[key] == pytest.approx(fresh[key], abs=0.02), (beta, key)
    assert "nll_iw" in ck.metrics["at_beta"]["1"] and ck.metrics["neg_elbo"] == ck.metrics["at_beta"]["1"]["neg_elbo"]
    dial = load_dial_data(ASSETS / relpath("dial", ck.sha256), ck.sha256)  # shipped for this very file
    top = ck.metrics["at_beta"]["16"]
    assert dial.rate[-1] == pytest.approx(top["kl"], abs=0.02)
    assert dial.distortion[-1] == pytest.approx(top["recon"], abs=0.02)

"""Shapes from the config, and what a train step and an eval step do to the weights."""
import pytest
import torch

import vae
from vae.losses import neg_elbo


@pytest.mark.parametrize("cfg", [
    vae.ModelConfig(arch="mlp", latent_dim=2, hidden=(64, 32)),
    vae.ModelConfig(arch="mlp", latent_dim=100, hidden=(128,)),
    vae.ModelConfig(arch="conv", latent_dim=3, hidden=(8, 16, 32)),
    vae.ModelConfig(arch="conv", latent_dim=2, hidden=(4, 8)),
])
def test_shapes_follow_the_config(cfg):
    model = vae.VAE(cfg)
    x = torch.rand(5, 784)
    logits, mu, logvar, z = model(x)
    assert logits.shape == (5, 784)
    assert mu.shape == logvar.shape == z.shape == (5, cfg.latent_dim)
    logits_l, _, _, z_l = model(x, n_samples=3)
    assert logits_l.shape == (3, 5, 784) and z_l.shape == (3, 5, cfg.latent_dim)
    assert model.decode_images(torch.zeros(2, cfg.latent_dim)).shape == (2, 28, 28)


def test_classic_preset_is_the_tutorial_mlp():
    model_cfg, train_cfg = vae.PRESETS["classic-mlp"]
    model = vae.VAE(model_cfg)
    linears = [m for m in model.encoder if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 128), (128, 200)]
    assert train_cfg.batch_size == 64 and train_cfg.lr == 1e-3


def test_bad_configs_are_refused():
    with pytest.raises(ValueError):
        vae.ModelConfig(arch="transformer")
    with pytest.raises(ValueError):
        vae.TrainConfig(binarize="static")
    with pytest.raises(ValueError):
        vae.TrainConfig(beta=-1)


def _step(model, opt, x, train: bool):
    model.train(train)
    with torch.set_grad_enabled(train):
        torch.manual_seed(0)
        logits, mu, logvar, _ = model(x)
        loss = neg_elbo(logits, x, mu, logvar)[0].mean()
        if train:
            opt.zero_grad()
            loss.backward()
            opt.step()
    return loss.item()


def test_a_train_step_changes_weights_and_lowers_the_loss(mnist_test):
    torch.manual_seed(0)
    model = vae.VAE(vae.ModelConfig(hidden=(64, 32)))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = mnist_test.floats()[:64].round()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    first = _step(model, opt, x, train=True)
    for _ in range(20):
        last = _step(model, opt, x, train=True)
    assert last < first
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_an_eval_step_changes_nothing(mnist_test):
    model = vae.VAE(vae.ModelConfig(hidden=(64, 32)))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    _step(model, opt, mnist_test.floats()[:64], train=False)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())

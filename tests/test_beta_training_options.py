"""The beta-conditioned model's training options: gated heads (ModelConfig.gate_heads), a gate on z (gate_latent),
hidden units split between the top of the range and the rest (gate_split), and a tilted draw of beta
(TrainConfig.beta_tilt)."""
from __future__ import annotations

import argparse
import math

import pytest
import torch

from vae.checkpoint import load_checkpoint, save_checkpoint
from vae.cli import _add_config_flags, configs_from_args
from vae.config import ModelConfig, TrainConfig
from vae.model import VAE, BetaGate
from vae.trainer import sample_betas


def test_gated_heads_put_a_gate_after_the_encoders_last_layer_only():
    plain = VAE(ModelConfig(hidden=(16,), beta_range=(0.01, 16)))
    gated = VAE(ModelConfig(hidden=(16,), beta_range=(0.01, 16), gate_heads=True))
    assert not isinstance(plain.encoder[-1], BetaGate) and isinstance(gated.encoder[-1], BetaGate)
    assert gated.encoder[-1].a.numel() == 4  # mu and log sigma^2 of a 2-D latent
    assert [type(m) for m in gated.decoder] == [type(m) for m in plain.decoder]  # the browser's decoder is unchanged
    x = torch.rand(5, 784)
    mu, logvar = gated.encode(x, beta=torch.full((5,), 16.0))
    with torch.no_grad():  # a closed gate sends mu and log sigma^2 to the prior's 0: what beta -> large asks for
        gated.encoder[-1].b.fill_(-30.0)
    mu0, logvar0 = gated.encode(x, beta=16.0)
    assert mu.abs().sum() > 0 and mu0.abs().max() < 1e-6 and logvar0.abs().max() < 1e-6


def test_gated_heads_need_a_beta_range_and_survive_a_checkpoint(tmp_path):
    with pytest.raises(ValueError, match="gate_split need beta_range"):
        ModelConfig(gate_heads=True)
    model = VAE(ModelConfig(hidden=(16,), beta_range=(0.01, 16), gate_heads=True))
    path = save_checkpoint(tmp_path / "g.pt", model, TrainConfig(beta_tilt=1.0), history=[], metrics={})
    ck = load_checkpoint(path)
    assert ck.model_config.gate_heads and ck.train_config.beta_tilt == 1.0
    x = torch.rand(3, 784)
    torch.testing.assert_close(ck.model.encode(x, beta=2.0)[0], model.encode(x, beta=2.0)[0])


@pytest.mark.parametrize("tilt", [0.0, 1.0, 2.0, -1.5])
def test_tilted_betas_follow_their_density(tilt):
    lo, hi = 0.01, 16.0
    b = sample_betas((lo, hi), 200_000, torch.Generator().manual_seed(0), tilt)
    assert b.min() >= lo * (1 - 1e-6) and b.max() <= hi * (1 + 1e-6)
    u = (b.log() - math.log(lo)) / (math.log(hi) - math.log(lo))
    # density e^{tu} / Z on [0, 1]: mean 1 / (1 - e^{-t}) - 1 / t (1/2 at t = 0)
    expected = 0.5 if tilt == 0 else 1 / (1 - math.exp(-tilt)) - 1 / tilt
    assert abs(u.mean().item() - expected) < 0.003
    top = (u > 0.5).float().mean().item()  # the top half's share: e^{t/2} / (1 + e^{t/2})
    assert abs(top - math.exp(tilt / 2) / (1 + math.exp(tilt / 2))) < 0.005


def _train_flags() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("--preset")
    _add_config_flags(p)
    return p


def test_the_cli_takes_both_options():
    args = _train_flags().parse_args(["--beta-range", "0.01,16", "--gate-heads", "true", "--beta-tilt", "1"])
    model_cfg, train_cfg = configs_from_args(args)
    assert model_cfg.gate_heads is True and train_cfg.beta_tilt == 1.0
    assert configs_from_args(_train_flags().parse_args(["--gate-heads", "False"]))[0].gate_heads is False  # as the
    with pytest.raises(SystemExit):  # app's supervisor writes it
        _train_flags().parse_args(["--gate-heads", "maybe"])


def test_a_gate_on_z_comes_first_in_the_decoder_and_can_switch_a_dimension_off():
    cfg = ModelConfig(hidden=(16,), beta_range=(0.01, 16), gate_latent=True)
    model = VAE(cfg)
    assert isinstance(model.decoder[0], BetaGate) and model.decoder[0].a.numel() == 2
    with torch.no_grad():
        model.decoder[0].b.copy_(torch.tensor([30.0, -30.0]))  # z1 open, z2 shut
    z = torch.randn(4, 2)
    z2_moved = z.clone()
    z2_moved[:, 1] += 5
    torch.testing.assert_close(model.decode(z, beta=16.0), model.decode(z2_moved, beta=16.0))
    with pytest.raises(ValueError, match="need beta_range"):
        ModelConfig(gate_latent=True)


def test_a_split_starts_a_quarter_of_the_hidden_units_open_only_above_its_beta(tmp_path):
    cfg = ModelConfig(hidden=(16, 8), beta_range=(0.01, 16), gate_heads=True, gate_split=6.0)
    model = VAE(cfg)
    hidden = [g for seq in (model.encoder, model.decoder) for g in seq if isinstance(g, BetaGate) and g.a.numel() > 4]
    assert [g.a.numel() for g in hidden] == [16, 8, 8, 16]  # every hidden layer's gate, not the heads' (4 outputs)
    for g in hidden:
        ones = torch.ones(1, g.a.numel())
        top, below = g(ones, torch.tensor([math.log(16.0)]))[0], g(ones, torch.tensor([math.log(1.0)]))[0]
        k = g.a.numel() // 4
        assert (top[:k] > 0.9).all() and (below[:k] < 0.05).all()  # a quarter: the top's own
        assert (top[k:] < 0.1).all() and (below[k:] > 0.95).all()  # the rest: below the split
        half = g(ones, torch.tensor([math.log(6.0)]))[0]
        torch.testing.assert_close(half, torch.full_like(half, 0.5))  # the switch sits at the split's beta
    heads = model.encoder[-1]
    assert heads.a.numel() == 4 and heads.a.abs().max() <= 1  # the heads keep MR-VAE's random start
    path = save_checkpoint(tmp_path / "s.pt", model, TrainConfig(), history=[], metrics={})
    assert load_checkpoint(path).model_config.gate_split == 6.0
    assert ModelConfig(hidden=(16,), beta_range=(0.01, 16)).gate_split is None  # older checkpoints: no split
    for bad in (0.01, 16.0, 20.0):
        with pytest.raises(ValueError, match="gate_split must lie inside beta_range"):
            ModelConfig(beta_range=(0.01, 16), gate_split=bad)
    with pytest.raises(ValueError, match="gate_split need beta_range"):
        ModelConfig(gate_split=6.0)
    args = _train_flags().parse_args(["--beta-range", "0.01,16", "--gate-split", "6"])
    assert configs_from_args(args)[0].gate_split == 6.0

"""Save -> load is exact, saves are atomic, and a failing save keeps the previous checkpoint. (Hostile and broken
files: tests/test_checkpoint_safety.py.)"""
import errno

import pytest
import torch

import vae


def test_round_trip_is_exact(tmp_path):
    model = vae.VAE(vae.ModelConfig(arch="conv", latent_dim=3, hidden=(4, 8, 16)))
    cfg = vae.TrainConfig(beta=2.5, epochs=7, binarize="none")
    history = [{"epoch": 1, "train_seconds": 1.5, "test_neg_elbo": 100.0}]
    path = vae.save_checkpoint(tmp_path / "m.pt", model, cfg, history=history, metrics={"neg_elbo": 100.0},
                               dataset="kmnist", epoch=1, name="round trip")
    ck = vae.load_checkpoint(path)
    assert ck.model_config == model.cfg and ck.train_config == cfg
    assert ck.history == history and ck.metrics == {"neg_elbo": 100.0}
    assert (ck.dataset, ck.epoch, ck.name) == ("kmnist", 1, "round trip")
    for k, v in model.state_dict().items():
        assert torch.equal(ck.model.state_dict()[k], v), k
    assert not ck.model.training
    assert vae.load_checkpoint(path.read_bytes()).sha256 == ck.sha256


def test_half_precision_checkpoints_are_close_and_smaller(tmp_path):
    model = vae.VAE(vae.ModelConfig(hidden=(64, 32)))
    full = vae.save_checkpoint(tmp_path / "f.pt", model, vae.TrainConfig())
    half = vae.save_checkpoint(tmp_path / "h.pt", model, vae.TrainConfig(), half=True)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    ck = vae.load_checkpoint(half)
    assert ck.half
    for k, v in model.state_dict().items():
        assert torch.allclose(ck.model.state_dict()[k], v, atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device"),
                                   PermissionError(errno.EACCES, "Permission denied")])
def test_a_failing_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch, error):
    model = vae.VAE(vae.ModelConfig(hidden=(16,)))
    path = vae.save_checkpoint(tmp_path / "m.pt", model, vae.TrainConfig(), epoch=1)
    before = path.read_bytes()

    def failing_save(obj, f, *a, **k):
        f.write(b"partial")
        raise error

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(vae.SaveError) as info:
        vae.save_checkpoint(path, model, vae.TrainConfig(), epoch=2)
    assert error.strerror in str(info.value) and "unchanged" in str(info.value)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary file left behind

"""The training loop: history, checkpoints every epoch, determinism, stop and resume."""
import torch

import vae

MODEL = vae.ModelConfig(hidden=(32,), latent_dim=2)


def _cfg(**kw):
    return vae.TrainConfig(**{"epochs": 3, "batch_size": 100, "train_subset": 600, "threads": 1, "seed": 0, **kw})


def test_history_has_one_entry_per_epoch_and_the_loss_falls(tmp_path, mnist_test):
    out = tmp_path / "run.pt"
    result = vae.train(MODEL, _cfg(), mnist_test, mnist_test.subset(300), out=out)
    h = result.history
    assert [e["epoch"] for e in h] == [1, 2, 3]
    for key in ("train_seconds", "test_neg_elbo", "test_recon", "test_kl"):
        assert all(key in e for e in h), key
    assert h[-1]["test_neg_elbo"] < h[0]["test_neg_elbo"]
    assert h[0]["train_seconds"] <= h[1]["train_seconds"] <= h[2]["train_seconds"]
    assert result.samples_per_s > 0 and not result.stopped
    assert vae.load_checkpoint(out).epoch == 3


def test_training_is_deterministic_for_a_seed(mnist_test):
    a = vae.train(MODEL, _cfg(epochs=1), mnist_test, mnist_test.subset(100)).model.state_dict()
    b = vae.train(MODEL, _cfg(epochs=1), mnist_test, mnist_test.subset(100)).model.state_dict()
    c = vae.train(MODEL, _cfg(epochs=1, seed=1), mnist_test, mnist_test.subset(100)).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_stop_keeps_the_last_epoch_and_resume_finishes_identically(tmp_path, mnist_test):
    straight = vae.train(MODEL, _cfg(), mnist_test, mnist_test.subset(100)).model.state_dict()

    out = tmp_path / "run.pt"
    stop_after_two = lambda p: p.kind == "epoch" and p.epoch == 2  # noqa: E731
    first = vae.train(MODEL, _cfg(), mnist_test, mnist_test.subset(100), out=out, callback=stop_after_two)
    assert first.stopped and vae.load_checkpoint(out).epoch == 2

    resumed = vae.train(MODEL, _cfg(), mnist_test, mnist_test.subset(100), out=out, resume=out)
    assert [e["epoch"] for e in resumed.history] == [1, 2, 3]
    assert all(torch.equal(straight[k], resumed.model.state_dict()[k]) for k in straight)


def test_a_stop_mid_epoch_leaves_the_previous_checkpoint(tmp_path, mnist_test):
    out = tmp_path / "run.pt"
    stop_in_epoch_two = lambda p: p.kind == "step" and p.epoch == 2  # noqa: E731
    result = vae.train(MODEL, _cfg(), mnist_test, mnist_test.subset(100), out=out, callback=stop_in_epoch_two,
                       step_every=1)
    assert result.stopped and len(result.history) == 1
    assert vae.load_checkpoint(out).epoch == 1


def test_the_callback_sees_the_untrained_model_once_and_a_resume_does_not(tmp_path, mnist_test):
    out = tmp_path / "run.pt"
    seen = []

    def record(p):
        seen.append((p.kind, p.epoch, p.step))
        if p.kind == "start":
            assert p.fraction == 0 and not p.history
            record.untrained = {k: v.clone() for k, v in p.model.state_dict().items()}

    first = vae.train(MODEL, _cfg(epochs=2), mnist_test, mnist_test.subset(100), out=out, callback=record)
    assert seen[0] == ("start", 1, 0) and [k for k, *_ in seen].count("start") == 1
    assert not all(torch.equal(record.untrained[k], first.model.state_dict()[k]) for k in record.untrained)

    seen.clear()
    vae.train(MODEL, _cfg(epochs=3), mnist_test, mnist_test.subset(100), out=out, resume=out, callback=record)
    assert ("start", 1, 0) not in seen and ("epoch", 3, seen[-1][2]) == seen[-1]


def test_a_stop_before_the_first_step_trains_and_saves_nothing(tmp_path, mnist_test):
    out = tmp_path / "run.pt"
    result = vae.train(MODEL, _cfg(), mnist_test, mnist_test.subset(100), out=out,
                       callback=lambda p: p.kind == "start")
    assert result.stopped and result.history == [] and not out.exists()


def test_kl_warmup_ramps_beta_linearly():
    from vae.trainer import kl_weight
    cfg = vae.TrainConfig(beta=4.0, kl_warmup=2)
    assert [kl_weight(cfg, e) for e in (0, 1, 2, 5)] == [0.0, 2.0, 4.0, 4.0]
    assert kl_weight(vae.TrainConfig(beta=0.5), 0) == 0.5

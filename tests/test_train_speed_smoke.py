"""Smoke test of bench/train_speed.py: both loops run a few batches and report what the JSON is built from.

No timing assertions: the speed targets are measured by running the bench itself.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

import vae

BENCH = Path(__file__).resolve().parent.parent / "bench" / "train_speed.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("train_speed", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


def test_textbook_model_matches_the_projects_architecture(bench):
    """The two loops must train the same model: same layer shapes, hence the same number of weights."""
    textbook = sum(p.numel() for p in bench.TextbookVAE().parameters())
    project = sum(p.numel() for p in vae.model.VAE(bench.MODEL).parameters())
    assert textbook == project == 784 * 400 + 400 + 400 * 40 + 40 + 20 * 400 + 400 + 400 * 784 + 784


def test_textbook_loss_is_the_projects_neg_elbo(bench):
    """BCE(sum) + KLD on probabilities equals the project's per-image -ELBO from logits, summed over the batch."""
    g = torch.Generator().manual_seed(0)
    x, logits = torch.rand(8, 784, generator=g), torch.randn(8, 784, generator=g)
    mu, logvar = torch.randn(8, 20, generator=g), torch.randn(8, 20, generator=g)
    textbook = bench.textbook_loss(torch.sigmoid(logits), x, mu, logvar)
    project, _, _ = vae.losses.neg_elbo(logits, x, mu, logvar)
    assert torch.allclose(textbook, project.sum(), rtol=1e-4)


def test_both_loops_run_and_report_history(bench, mnist_root, mnist_test):
    train_set, test_set = bench.textbook_datasets(mnist_root)
    test_set = torch.utils.data.Subset(test_set, range(256))
    textbook = bench.run_textbook(train_set, test_set, max_epochs=2, target=None, max_batches=3)
    assert [h["epoch"] for h in textbook.history] == [1, 2]
    assert textbook.samples == 2 * 3 * 128 and textbook.samples_per_s > 0
    assert 100 < textbook.history[-1]["test_neg_elbo"] < 600  # nats per image: trained a little, not diverged

    cfg = bench.identical_recipe(epochs=2, threads=1)
    cfg.train_subset = 384
    project = bench.run_project(cfg, mnist_test, mnist_test.subset(256), target=None)
    assert [h["epoch"] for h in project.history] == [1, 2]
    assert project.samples == 2 * 384 and project.samples_per_s > 0
    # A target that every model beats stops the project's loop after its first epoch.
    stopped = bench.run_project(cfg, mnist_test, mnist_test.subset(256), target=1e9)
    assert len(stopped.history) == 1 and stopped.first_reach(1e9)["epoch"] == 1


def test_default_recipe_is_the_users_default_on_grey_images(bench):
    cfg = bench.default_recipe()
    assert cfg.binarize == "none"
    expected = vae.TrainConfig()
    assert (cfg.epochs, cfg.batch_size, cfg.lr, cfg.lr_schedule, cfg.threads) == (
        expected.epochs, expected.batch_size, expected.lr, expected.lr_schedule, expected.threads)

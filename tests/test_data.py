"""Data: the bundled test split, batching, binarisation, the message when the training files are missing, and the
check (no loading) the Train page makes for them."""
import hashlib
import urllib.error

import pytest
import torch
import torchvision

import vae
from vae.data import (ASSETS, BUNDLED_TEST_FILES, batches, binarize_fixed, training_data_folder,
                      training_data_present)


def test_bundled_test_set_has_the_right_md5_and_shape(mnist_test):
    for name, md5 in BUNDLED_TEST_FILES.items():
        assert hashlib.md5((ASSETS / "mnist" / name).read_bytes()).hexdigest() == md5
    assert mnist_test.images.shape == (10000, 28, 28) and mnist_test.images.dtype == torch.uint8
    assert mnist_test.labels.shape == (10000,) and set(mnist_test.labels.tolist()) == set(range(10))
    assert mnist_test.labels[:5].tolist() == [7, 2, 1, 0, 4]  # the famous first test digits


def test_missing_training_split_names_the_folder(tmp_path, monkeypatch):
    def offline(self):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", offline)
    with pytest.raises(vae.DataUnavailableError) as info:
        vae.load_split("mnist", train=True, root=tmp_path)
    assert str(tmp_path / "MNIST" / "raw") in str(info.value)


def test_training_data_check_names_the_folder(tmp_path):
    assert not training_data_present("mnist", tmp_path)
    assert training_data_folder("mnist", tmp_path) == (tmp_path / "MNIST" / "raw").resolve()
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (raw / name).write_bytes(b"x")
    assert training_data_present("mnist", tmp_path)


def test_full_mnist_loads_from_the_original_files(mnist_root):
    train = vae.load_split("mnist", train=True, root=mnist_root)
    assert train.images.shape == (60000, 28, 28) and train.images.dtype == torch.uint8


def test_dynamic_binarisation_draws_fresh_samples():
    x = torch.full((4, 784), 0.5)
    g = torch.Generator().manual_seed(0)
    a = next(batches(x, 4, "dynamic", shuffle=False, generator=g))
    b = next(batches(x, 4, "dynamic", shuffle=False, generator=g))
    assert set(a.unique().tolist()) <= {0.0, 1.0}
    assert not torch.equal(a, b)
    assert torch.equal(binarize_fixed(x, 3), binarize_fixed(x, 3))


def test_batches_cover_every_example_once():
    x = torch.arange(10.0).unsqueeze(1)
    seen = torch.cat(list(batches(x, 3, "none", shuffle=True, generator=torch.Generator().manual_seed(0))))
    assert sorted(seen.squeeze(1).tolist()) == list(range(10))

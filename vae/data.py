"""Datasets as in-memory uint8 tensors, and fast batching from memory.

Each split is loaded once into one (N, 28, 28) uint8 tensor, read straight from its IDX files when they are in the
data folder, else through torchvision.datasets (which downloads when the network is there). The MNIST test split
also ships with the project under assets/, so the app and the tests work offline. torch is imported inside the
functions that build tensors, so reading the bundled test split as NumPy (load_test_arrays; the app's first page
reads only its labels, load_test_labels) does not import it. training_data_present says, without loading anything,
whether a training split is on disk (the Train page offers its Start button only then).
"""
from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np

if TYPE_CHECKING:
    import torch

ASSETS = Path(__file__).resolve().parent.parent / "assets"
BUNDLED_TEST_FILES = {  # the two t10k files, exactly as torchvision downloads them
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
# The datasets, defined once (the CLI's --dataset choices, the app's pickers, the loaders): key -> the name people
# read. Their torchvision class, whose name is also their folder under the data root, drops the hyphen.
DATASETS = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "kmnist": "KMNIST"}
DATASET_CLASSES = {key: name.replace("-", "") for key, name in DATASETS.items()}


class DataUnavailableError(FileNotFoundError):
    """The requested split is not on disk and could not be downloaded."""


@dataclass
class Split:
    images: torch.Tensor  # (N, 28, 28) uint8
    labels: torch.Tensor  # (N,) int64
    name: str  # e.g. "mnist/test"

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, n: int) -> "Split":
        return Split(self.images[:n], self.labels[:n], f"{self.name}[:{n}]")

    def floats(self) -> torch.Tensor:
        """(N, 784) float32 in [0, 1]."""
        return self.images.reshape(len(self), -1).float().div_(255.0)


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data folder: the argument, else $VAE_DATA_DIR, else ./data."""
    return Path(root or os.environ.get("VAE_DATA_DIR") or "data")


def training_data_folder(dataset: str = "mnist", root: str | os.PathLike | None = None) -> Path:
    """Where torchvision looks for (and downloads) the dataset's files: <data root>/<Class>/raw."""
    return (data_root(root) / DATASET_CLASSES[dataset] / "raw").resolve()


def training_data_present(dataset: str = "mnist", root: str | os.PathLike | None = None) -> bool:
    """A cheap check (no loading, no network): are the training images and labels on disk?"""
    raw = training_data_folder(dataset, root)
    return all((raw / name).is_file() or (raw / (name + ".gz")).is_file()
               for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"))


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _parse_idx(data: bytes, rank: int) -> np.ndarray | None:
    """An IDX file's array (the MNIST format: the magic 0, 0, 8 (= uint8), rank; the sizes as big-endian uint32s;
    then the bytes), or None when it is not a well-formed uint8 IDX file of that rank."""
    if len(data) < 4 + 4 * rank or data[:4] != bytes([0, 0, 8, rank]):
        return None
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank))
    if len(data) != 4 + 4 * rank + int(np.prod(shape)):
        return None
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(shape)


def _bundled_mnist_file(name: str) -> np.ndarray:
    """One of the MNIST test files shipped under assets/mnist, MD5-checked, as its array."""
    path = ASSETS / "mnist" / name
    if not path.is_file() or _md5(path) != BUNDLED_TEST_FILES[name]:
        raise DataUnavailableError(f"bundled MNIST test file {path} is missing or corrupt")
    return _parse_idx(gzip.decompress(path.read_bytes()), 3 if "images" in name else 1)


def bundled_mnist_test_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The MNIST test split shipped under assets/mnist (MD5-checked): images (N, 28, 28) uint8, labels (N,) int64."""
    labels = _bundled_mnist_file("t10k-labels-idx1-ubyte.gz").astype(np.int64)
    return _bundled_mnist_file("t10k-images-idx3-ubyte.gz"), labels


def load_test_labels(dataset: str = "mnist") -> np.ndarray:
    """A test split's labels (N,) int64 alone: for MNIST, the bundled labels file without the images, whose reading
    took ~0.1 s of the first page's cold start; other datasets (or a damaged bundled file) as load_test_arrays."""
    if dataset == "mnist":
        try:
            return _bundled_mnist_file("t10k-labels-idx1-ubyte.gz").astype(np.int64)
        except DataUnavailableError:
            pass
    return load_test_arrays(dataset)[1]


def bundled_mnist_test() -> Split:
    """The bundled MNIST test split as tensors."""
    import torch
    images, labels = bundled_mnist_test_arrays()
    return Split(torch.from_numpy(images.copy()), torch.from_numpy(labels), "mnist/test")


def load_test_arrays(dataset: str = "mnist") -> tuple[np.ndarray, np.ndarray]:
    """A test split as NumPy (images (N, 28, 28) uint8, labels (N,) int64). The bundled MNIST copy is read without
    torch; other datasets go through load_split. Raises DataUnavailableError like load_split."""
    if dataset == "mnist":
        try:
            return bundled_mnist_test_arrays()
        except DataUnavailableError:
            pass
    split = load_split(dataset, train=False)
    return split.images.numpy(), split.labels.numpy()


def _read_raw_split(raw: Path, split: str) -> tuple[np.ndarray, np.ndarray] | None:
    """A split's images (N, 28, 28) uint8 and labels (N,) int64 straight from the IDX files in `raw` (as torchvision
    leaves them, or only the .gz originals), without importing torchvision; None when they are missing or not
    well-formed, and torchvision then tries (and downloads)."""
    prefix = "train" if split == "train" else "t10k"
    arrays = []
    for kind, rank in (("images", 3), ("labels", 1)):
        path = raw / f"{prefix}-{kind}-idx{rank}-ubyte"
        try:
            data = (path.read_bytes() if path.is_file()
                    else gzip.decompress(path.with_name(path.name + ".gz").read_bytes()))
        except (OSError, EOFError, gzip.BadGzipFile):
            return None
        array = _parse_idx(data, rank)
        if array is None:
            return None
        arrays.append(array)
    images, labels = arrays
    if len(images) != len(labels) or images.shape[1:] != (28, 28):
        return None
    return images.copy(), labels.astype(np.int64)


def load_split(dataset: str = "mnist", train: bool = True, root: str | os.PathLike | None = None) -> Split:
    """Load one split of MNIST, Fashion-MNIST or KMNIST as uint8 tensors.

    The MNIST test split always comes from the bundled copy (MD5-identical to torchvision's files): no folder
    to search, no download to attempt, so the app starts fast and offline.
    Raises DataUnavailableError naming the folder to fill when the files are missing and cannot be downloaded.
    """
    if dataset not in DATASET_CLASSES:
        raise ValueError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASET_CLASSES)}")
    if dataset == "mnist" and not train:
        try:
            return bundled_mnist_test()
        except DataUnavailableError:
            pass  # the bundled files were removed or damaged: fall back to the data folder
    split = "train" if train else "test"
    arrays = _read_raw_split(data_root(root) / DATASET_CLASSES[dataset] / "raw", split)
    if arrays is not None:
        import torch
        return Split(torch.from_numpy(arrays[0]), torch.from_numpy(arrays[1]), f"{dataset}/{split}")
    import torchvision  # only here: it is slow (~2.6 s of CPU), and with the files on disk nothing needs it

    cls = getattr(torchvision.datasets, DATASET_CLASSES[dataset])
    folder = data_root(root)
    try:
        ds = cls(str(folder), train=train, download=True)
    except Exception as exc:  # no network, partial files, bad checksums: all mean "put the files here"
        raw = folder / DATASET_CLASSES[dataset] / "raw"
        raise DataUnavailableError(
            f"The {dataset} {split} split is not in {raw} and could not be downloaded ({type(exc).__name__}). "
            f"Put the four original .gz files (train/t10k images and labels) in {raw.resolve()}, "
            f"or pass --data-dir / set VAE_DATA_DIR to a folder that has {DATASET_CLASSES[dataset]}/raw/.") from exc
    return Split(ds.data.clone(), ds.targets.clone().long(), f"{dataset}/{split}")


def binarize_fixed(x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """One reproducible Bernoulli sample of every pixel (for evaluating on the dynamically binarised test set)."""
    import torch
    g = torch.Generator().manual_seed(seed)
    return torch.bernoulli(x, generator=g)


def first_of_each_class(labels, n_classes: int = 10) -> np.ndarray:
    """Indices (n_classes,) of the first image of each class 0 .. n_classes-1: the digits every model is shown."""
    labels = np.asarray(labels)
    return np.array([int(np.flatnonzero(labels == c)[0]) for c in range(n_classes)])


TEST_BINARIZE_SEED = 12345  # the one fixed binarisation of a test split: `vae evaluate`, the history, the pages


def evaluation_images(split: Split, binarize: str) -> torch.Tensor:
    """(N, 784) test images as every figure sees them: binarised once, with TEST_BINARIZE_SEED, when
    binarize="dynamic" (so figures reproduce, and digit i is the same binary image on every page), else grey."""
    x = split.floats()
    return binarize_fixed(x, TEST_BINARIZE_SEED) if binarize == "dynamic" else x


def batches(x: torch.Tensor, batch_size: int, binarize: str = "none", shuffle: bool = True,
            generator: torch.Generator | None = None) -> Iterator[torch.Tensor]:
    """Yield (B, 784) float batches from an in-memory (N, 784) float tensor.

    binarize="dynamic" draws a fresh Bernoulli sample of each pixel every time a batch is drawn, so the model never
    sees the same binary image twice (the standard protocol for binarised MNIST).
    """
    import torch
    n = len(x)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    for start in range(0, n, batch_size):
        xb = x[order[start:start + batch_size]]
        if binarize == "dynamic":
            xb = torch.bernoulli(xb, generator=generator)
        yield xb

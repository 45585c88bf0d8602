"""A NumPy model: what the explorer draws of a checkpoint, readable and runnable without importing torch.

Importing torch takes ~1.8 s, more than half of the app's 3 s cold-start budget. The Explore page only ever runs
the decoder (the same small forward pass the browser's latent pad runs) and shows the test set's posteriors, so a
NumPy model holds exactly that: the decoder in export_decoder's flat format, mu and sigma of q(z|x) for every test
digit, and the checkpoint's description. It is derived from a checkpoint (it records the file's SHA-256, so it can
never describe another file) and stored as a plain .npz (no pickle: loading runs no code); vae.store names, finds
and makes it.
"""
from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .atomic import write_atomic
from .config import ModelConfig, TrainConfig, config_from_dict, config_to_dict

if TYPE_CHECKING:
    from .model import VAE

FORMAT_VERSION = 1


@dataclass(frozen=True)
class NumpyDecoder:
    """The decoder z -> mean image as a flat float32 array and a list of layers (see export_decoder below),
    run in NumPy. vae.latent's decoding functions take it wherever they take a VAE."""
    layers: tuple  # of dicts: {"type": "linear", "in", "out", "w", "b"}, {"type": "relu"}, ...
    weights: np.ndarray  # (P,) float32; "w" and "b" above are offsets into it
    latent_dim: int
    image_size: int = 28

    @classmethod
    def from_model(cls, model) -> "NumpyDecoder":
        """The decoder of a vae.VAE (imports torch: only when one is made, never when one is read)."""
        layers, weights = export_decoder(model)
        return cls(tuple(layers), weights, model.cfg.latent_dim, model.cfg.image_size)

    @property
    def conditioned(self) -> bool:
        """True for a beta-conditioned model's decoder: decode_images then needs beta."""
        return any(layer["type"] == "gate" for layer in self.layers)

    def decode_images(self, z, beta: float | None = None) -> np.ndarray:
        """z (N, D) -> mean images (N, H, W) in [0, 1]. beta: for a beta-conditioned model's decoder, one number."""
        h = np.asarray(z, np.float32).reshape(-1, self.latent_dim)  # (N, D)
        w_all = self.weights
        if self.conditioned == (beta is None):
            raise ValueError("a beta-conditioned decoder needs beta; an ordinary one takes none")
        for layer in self.layers:
            kind = layer["type"]
            if kind == "linear":
                w = w_all[layer["w"]:layer["w"] + layer["in"] * layer["out"]].reshape(layer["out"], layer["in"])
                h = h @ w.T + w_all[layer["b"]:layer["b"] + layer["out"]]  # (N, out)
            elif kind == "relu":
                h = np.maximum(h, 0)
            elif kind == "gate":  # vae.model.BetaGate: each unit scaled by sigmoid(a u + b)
                u = (np.log(beta) - layer["centre"]) / layer["half_width"]
                a, b = (w_all[layer[k]:layer[k] + layer["n"]] for k in ("a", "b"))
                h = h / (1 + np.exp(-(a * u + b))).astype(np.float32)
            elif kind == "sigmoid":
                h = 0.5 * (1 + np.tanh(0.5 * h))  # the sigmoid, without overflow for very negative logits
            elif kind == "conv_transpose":
                h = _conv_transpose(h, layer, w_all)
            else:
                raise ValueError(f"unknown layer type {kind!r}")
        return h.reshape(len(h), self.image_size, self.image_size).astype(np.float32)


def _conv_transpose(h: np.ndarray, layer: dict, w_all: np.ndarray) -> np.ndarray:
    """Transposed convolution of a batch: every input pixel scatters a k x k stamp, placed at stride s."""
    cin, cout, k, s, p = (layer[n] for n in ("in_channels", "out_channels", "kernel", "stride", "padding"))
    n_in, n_out = layer["in_size"], layer["out_size"]
    w = w_all[layer["w"]:layer["w"] + cin * cout * k * k].reshape(cin, cout, k, k)
    x = h.reshape(len(h), cin, n_in, n_in)  # (N, C_in, H, W)
    out = np.zeros((len(h), cout, n_out + 2 * p + k, n_out + 2 * p + k), np.float32)
    for ky in range(k):
        for kx in range(k):
            out[:, :, ky:ky + s * n_in:s, kx:kx + s * n_in:s] += np.einsum("nihw,io->nohw", x, w[:, :, ky, kx])
    out = out[:, :, p:p + n_out, p:p + n_out] + w_all[layer["b"]:layer["b"] + cout][None, :, None, None]
    return out.reshape(len(h), -1)


def export_decoder(model: "VAE") -> tuple[list[dict], np.ndarray]:
    """The decoder as a flat float32 array plus a list of layers, so another runtime (the browser's latent pad)
    can run the same forward pass: z (D,) -> mean image (784,) = sigmoid(logits).

    Layers, in order: {"type": "linear", "in", "out", "w", "b"} (w: (out, in) row-major, like torch),
    {"type": "relu"}, {"type": "conv_transpose", "in_channels", "out_channels", "kernel", "stride", "padding",
    "in_size", "out_size", "w", "b"} (w: (in, out, k, k) as torch stores it; the input is (C, H, W) row-major, which
    is also how torch's .view(-1, C, H, W) reads a flat vector), {"type": "gate", "n", "a", "b", "centre",
    "half_width"} (a beta-conditioned model's vae.model.BetaGate: h * sigmoid(a u + b), u = (log beta - centre) /
    half_width) and a final {"type": "sigmoid"}.
    "w", "b" and "a" are offsets (in float32 values) into the flat array.
    """
    import torch

    from .model import BetaGate, ConvDecoder

    chunks: list[np.ndarray] = []
    offset = 0

    def put(t: "torch.Tensor") -> int:
        nonlocal offset
        a = t.detach().cpu().float().numpy().ravel()
        chunks.append(a)
        offset += a.size
        return offset - a.size

    def flat(module: "torch.nn.Module") -> list["torch.nn.Module"]:
        if isinstance(module, torch.nn.Sequential):
            return [m for child in module for m in flat(child)]
        return [module]

    decoder = model.decoder
    modules = flat(decoder.dense) + flat(decoder.deconvs) if isinstance(decoder, ConvDecoder) else flat(decoder)
    layers: list[dict] = []
    size = model.cfg.image_size // 4  # spatial side entering the first transposed conv
    for m in modules:
        if isinstance(m, torch.nn.Linear):
            layers.append({"type": "linear", "in": m.in_features, "out": m.out_features,
                           "w": put(m.weight), "b": put(m.bias)})
        elif isinstance(m, torch.nn.ReLU):
            layers.append({"type": "relu"})
        elif isinstance(m, BetaGate):
            layers.append({"type": "gate", "n": m.a.numel(), "a": put(m.a), "b": put(m.b),
                           "centre": m.centre, "half_width": m.half_width})
        elif isinstance(m, torch.nn.ConvTranspose2d):
            k, s, p = m.kernel_size[0], m.stride[0], m.padding[0]
            out_size = (size - 1) * s - 2 * p + k
            layers.append({"type": "conv_transpose", "in_channels": m.in_channels, "out_channels": m.out_channels,
                           "kernel": k, "stride": s, "padding": p, "in_size": size, "out_size": out_size,
                           "w": put(m.weight), "b": put(m.bias)})
            size = out_size
        else:
            raise ValueError(f"cannot export decoder layer {type(m).__name__}")
    layers.append({"type": "sigmoid"})
    return layers, np.concatenate(chunks).astype(np.float32)


@dataclass(frozen=True)
class NumpyModel:
    """A checkpoint as the Explore page sees it. Attribute names match vae.Checkpoint where they overlap."""
    sha256: str  # of the checkpoint file this was derived from
    name: str
    dataset: str
    epoch: int
    model_config: ModelConfig
    train_config: TrainConfig
    decoder: NumpyDecoder
    mu: np.ndarray  # (N, D) posterior means of the test digits
    sigma: np.ndarray  # (N, D) posterior standard deviations


def make_numpy_model(ck, mu: np.ndarray, sigma: np.ndarray) -> NumpyModel:
    """From a loaded vae.Checkpoint and its test-set posteriors (vae.latent.posterior)."""
    decoder = NumpyDecoder.from_model(ck.model)
    return NumpyModel(ck.sha256, ck.name, ck.dataset, ck.epoch, ck.model_config, ck.train_config, decoder,
                      np.asarray(mu, np.float32), np.asarray(sigma, np.float32))


def save_numpy_model(path: str | os.PathLike, model: NumpyModel) -> Path:
    """Write atomically as an uncompressed .npz: the description as JSON text, the arrays as they are."""
    meta = {"version": FORMAT_VERSION, "sha256": model.sha256, "name": model.name, "dataset": model.dataset,
            "epoch": model.epoch, "model_config": config_to_dict(model.model_config),
            "train_config": config_to_dict(model.train_config), "layers": list(model.decoder.layers)}
    weights = model.decoder.weights
    half = weights.astype(np.float16)
    if np.array_equal(half.astype(np.float32), weights):  # float16 checkpoints (the bundled ones): lossless
        weights = half
    arrays = {"meta": np.array(json.dumps(meta)), "weights": weights, "mu": model.mu, "sigma": model.sigma}
    # Not compressed: these numbers barely compress (1.23 vs 1.20 MB for the default model) and reading the
    # compressed file took 10-30 ms of the first page's cold start, the plain one 2-9 ms.
    return write_atomic(Path(path), lambda f: np.savez(f, **arrays))


def load_numpy_model(path: str | os.PathLike, sha256: str | None = None) -> NumpyModel:
    """Read a NumPy model file (no pickle). Raises ValueError when it is unreadable, of another version or (with
    sha256 given) made from another checkpoint file; callers make it again from the checkpoint then."""
    try:
        with np.load(path, allow_pickle=False) as f:
            meta = json.loads(str(f["meta"]))
            weights, mu, sigma = f["weights"], f["mu"], f["sigma"]
        if meta.get("version") != FORMAT_VERSION:
            raise ValueError(f"format version {meta.get('version')!r}")
        if sha256 is not None and meta["sha256"] != sha256:
            raise ValueError("it was made from another checkpoint file")
        model_config = config_from_dict(ModelConfig, meta["model_config"])
        train_config = config_from_dict(TrainConfig, meta["train_config"])
        decoder = NumpyDecoder(tuple(meta["layers"]), weights.astype(np.float32), model_config.latent_dim,
                               model_config.image_size)
        return NumpyModel(meta["sha256"], meta["name"], meta["dataset"], int(meta["epoch"]), model_config,
                          train_config, decoder, mu.astype(np.float32), sigma.astype(np.float32))
    except (OSError, KeyError, TypeError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"unreadable NumPy model {path}: {exc}") from None

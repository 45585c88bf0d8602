"""vae: a small, readable Variational Autoencoder library for MNIST-like data (no Streamlit in here).

    import vae
    ck = vae.load_checkpoint("assets/models/mnist-2d-beta1.pt")
    images = ck.model.decode_images(torch.zeros(1, 2))

The names below are imported on first use (PEP 562), not by `import vae`: most of them need torch, whose import
takes ~1.8 s, and the app's first page draws from a NumPy form of the model (vae.numpy_model) without it.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "checkpoint": ["Checkpoint", "CheckpointError", "SaveError", "load_checkpoint", "save_checkpoint"],
    "config": ["PRESETS", "ModelConfig", "TrainConfig"],
    "data": ["DataUnavailableError", "Split", "load_split"],
    "digits": ["InputError", "load_digit"],
    "evaluation": ["evaluate_checkpoint"],
    "losses": ["kl_divergence", "kl_per_dim", "neg_elbo", "reconstruction_nll"],
    "model": ["VAE"],
    "numpy_model": ["NumpyModel", "load_numpy_model"],
    "trainer": ["Progress", "TrainResult", "train"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = list(_MODULE_OF)


def __getattr__(name: str):
    if name in _MODULE_OF:
        value = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'vae' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


"""vae: a small, readable Variational Autoencoder library for MNIST-like data (no Streamlit in here).

    import vae
    ck = vae.load_checkpoint("assets/models/mnist-2d-beta1.pt")
    images = ck.model.decode_images(torch.zeros(1, 2))
"""
from .checkpoint import Checkpoint, CheckpointError, SaveError, load_checkpoint, save_checkpoint
from .config import PRESETS, ModelConfig, TrainConfig
from .data import DataUnavailableError, Split, load_split
from .digits import InputError, load_digit
from .evaluation import evaluate_checkpoint
from .losses import kl_divergence, kl_per_dim, neg_elbo, reconstruction_nll
from .model import VAE
from .train import Progress, TrainResult, train

__all__ = ["Checkpoint", "CheckpointError", "SaveError", "load_checkpoint", "save_checkpoint", "PRESETS",
           "ModelConfig", "TrainConfig", "DataUnavailableError", "Split", "load_split", "InputError", "load_digit",
           "evaluate_checkpoint", "kl_divergence", "kl_per_dim", "neg_elbo", "reconstruction_nll", "VAE",
           "Progress", "TrainResult", "train"]

"""Configuration dataclasses. Every knob lives here, is passed explicitly, and is stored in checkpoints."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Literal

Arch = Literal["mlp", "conv"]
Likelihood = Literal["bernoulli", "gaussian"]
Binarize = Literal["none", "dynamic"]


@dataclass
class ModelConfig:
    arch: Arch = "mlp"  # "mlp": fully connected; "conv": strided convolutions (28 -> 14 -> 7)
    latent_dim: int = 2  # size of z; 2 can be plotted directly
    hidden: tuple[int, ...] = (512, 256)  # mlp: widths of the encoder's hidden layers (decoder mirrors them)
    # conv: channels of the two stride-2 conv layers, then one dense layer of hidden[-1] units
    likelihood: Likelihood = "bernoulli"  # p(x|z): Bernoulli on pixels, or Gaussian with fixed std obs_std
    obs_std: float = 0.1  # std of the Gaussian likelihood (unused for Bernoulli)
    image_size: int = 28  # images are image_size x image_size, one channel
    # (lo, hi): one model for every beta in [lo, hi] (Multi-Rate VAE, Bae et al. 2023). Each hidden unit's
    # pre-activation is scaled by a learned sigmoid gate of log beta, and training draws log beta per example.
    # None: an ordinary VAE for the one TrainConfig.beta. mlp only.
    beta_range: tuple[float, float] | None = None
    # With beta_range: also gate the encoder's last layer by beta, so mu and log sigma^2 themselves can shrink
    # towards the prior's (0, 0) as beta grows (MR-VAE gates the hidden layers only). Why: bench/README.md, "Model
    # config choices". Checkpoints from before the field load with False.
    gate_heads: bool = False
    # With beta_range: also gate z itself before the decoder (one gate per latent dimension), so as beta grows the
    # decoder can stop reading a dimension whose posterior has collapsed onto the prior. False in older checkpoints.
    gate_latent: bool = False
    # With beta_range: the beta at which the hidden units split. A quarter of each hidden layer's gates start open
    # only above it, the rest only below it (a steep sigmoid; its slope and offset stay learned), so the top of the
    # range starts with units of its own. None (older checkpoints): MR-VAE's random initial gates.
    gate_split: float | None = None

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        if self.beta_range is not None:
            self.beta_range = tuple(float(b) for b in self.beta_range)  # checkpoints store it as a list
            if len(self.beta_range) != 2 or not 0 < self.beta_range[0] < self.beta_range[1]:
                raise ValueError("beta_range must be two numbers 0 < lo < hi (log beta needs beta > 0)")
            if self.arch != "mlp":
                raise ValueError("beta_range (a beta-conditioned model) needs arch 'mlp'")
            if self.gate_split is not None:
                self.gate_split = float(self.gate_split)
                if not self.beta_range[0] < self.gate_split < self.beta_range[1]:
                    raise ValueError("gate_split must lie inside beta_range")
        elif self.gate_heads or self.gate_latent or self.gate_split is not None:
            raise ValueError("gate_heads, gate_latent and gate_split need beta_range (they gate by beta)")
        if self.arch not in ("mlp", "conv"):
            raise ValueError(f"arch must be 'mlp' or 'conv', not {self.arch!r}")
        if self.likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(f"likelihood must be 'bernoulli' or 'gaussian', not {self.likelihood!r}")
        if self.latent_dim < 1:
            raise ValueError("latent_dim must be at least 1")
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError("hidden must list at least one positive width")
        if self.arch == "conv" and len(self.hidden) < 2:
            raise ValueError("conv needs hidden = (channels1, channels2[, dense])")

    @property
    def reference_beta(self) -> float | None:
        """Where a conditioned model's single-number figures (test history, recorded metrics, run snapshots) are
        taken: beta = 1, the VAE, clamped into its range. None for an ordinary model (its TrainConfig.beta)."""
        if self.beta_range is None:
            return None
        lo, hi = self.beta_range
        return min(max(1.0, lo), hi)


@dataclass
class TrainConfig:
    dataset: str = "mnist"  # a key of vae.data.DATASETS: mnist | fashion-mnist | kmnist
    # The defaults of the recipe below (epochs, batch_size, lr, lr_floor, adam_betas) reach test -ELBO <= 104 on the
    # textbook model (MLP 784-400-20) in 7 epochs, where the textbook loop needs 18: bench/README.md, "Epochs to
    # target", has the measurements that chose each value.
    epochs: int = 8  # passes over the training split; also the length of the cosine schedule
    batch_size: int = 256  # images per Adam step
    lr: float = 1e-2  # Adam's peak learning rate, reached after the warm-up
    lr_schedule: Literal["constant", "cosine"] = "cosine"  # cosine from lr (after warm-up) to lr * lr_floor
    lr_floor: float = 0.0  # where the cosine ends, as a fraction of lr. Older checkpoints load with this default
    warmup_steps: int = 100  # steps of linear learning-rate warm-up from 0, so the high peak lr is stable
    adam_betas: tuple[float, float] = (0.9, 0.99)  # Adam's (beta1, beta2); PyTorch's default beta2 is .999
    beta: float = 1.0  # weight of the KL term; 1 is the VAE, 0 a plain autoencoder (unused with beta_range)
    # Conditioned models: log beta's training density over the range is proportional to exp(tilt * u), u in [0, 1]
    # from the bottom of the range to the top; 0 is MR-VAE's uniform draw, 1 draws the top e times as often.
    beta_tilt: float = 0.0
    kl_warmup: int = 0  # epochs over which the KL weight rises linearly from 0 to beta
    binarize: Binarize = "dynamic"  # "dynamic": a fresh Bernoulli sample of every pixel each time a batch is drawn
    mc_samples: int = 1  # L: samples of z per example in the Monte-Carlo reconstruction term
    seed: int = 0  # seeds init, shuffling, binarisation and epsilon
    device: str = "auto"  # "auto": CUDA when present, else CPU
    threads: int = 0  # torch CPU threads; 0 = all cores. The app's runs use 1 (bench/README.md: on a busy machine
    # two threads were 15 - 40x slower than one)
    eval_every: int = 1  # evaluate on the test split every N epochs (and always at the end)
    train_subset: int = 0  # use only the first N training images (0 = all), for quick demos and tests

    def __post_init__(self) -> None:
        self.adam_betas = tuple(float(b) for b in self.adam_betas)  # checkpoints store it as a list
        if len(self.adam_betas) != 2 or not all(0 <= b < 1 for b in self.adam_betas):
            raise ValueError("adam_betas must be two numbers in [0, 1)")
        if self.binarize not in ("none", "dynamic"):
            raise ValueError(f"binarize must be 'none' or 'dynamic', not {self.binarize!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.mc_samples < 1:
            raise ValueError("epochs, batch_size and mc_samples must be positive")
        if self.beta < 0:
            raise ValueError("beta must be >= 0")
        if not -10 <= self.beta_tilt <= 10:
            raise ValueError("beta_tilt must be in [-10, 10]")
        if self.lr <= 0:
            raise ValueError("lr must be positive")
        if not 0 <= self.lr_floor <= 1:
            raise ValueError("lr_floor must be in [0, 1]")


def config_from_dict(cls, data: dict):
    """Build a config dataclass from a (checkpoint) dict, ignoring unknown keys from newer versions."""
    names = {f.name for f in fields(cls)}
    kwargs = {k: v for k, v in data.items() if k in names}
    if "hidden" in kwargs:
        kwargs["hidden"] = tuple(kwargs["hidden"])
    return cls(**kwargs)


def config_to_dict(cfg) -> dict:
    d = asdict(cfg)
    for key in ("hidden", "beta_range"):
        if d.get(key) is not None:
            d[key] = list(d[key])
    return d


# Named presets used by the CLI and the Train page.
# They keep the lr, Adam betas and cosine floor they were made with before the defaults above moved to the
# 784-400-20 recipe (lr 1e-2, betas (0.9, 0.99), floor 0); those were not measured on these models.
PRESETS: dict[str, tuple[ModelConfig, TrainConfig]] = {
    # The MLP of the classic tutorial code: 784-128-z, z = 100, Adam, minibatch 64.
    "classic-mlp": (ModelConfig(arch="mlp", latent_dim=100, hidden=(128,)),
                    TrainConfig(batch_size=64, lr=1e-3, lr_schedule="constant", warmup_steps=0, epochs=20,
                                adam_betas=(0.9, 0.999))),
    "beta-vae-4": (ModelConfig(arch="mlp", latent_dim=10, hidden=(512, 256)),
                   TrainConfig(beta=4.0, epochs=20, lr=5e-3, lr_floor=0.05, adam_betas=(0.9, 0.999))),
    # Like the Keras VAE example: conv 32-64 channels, dense 16, 2-D latent.
    "conv-2d": (ModelConfig(arch="conv", latent_dim=2, hidden=(32, 64, 16)),
                TrainConfig(epochs=10, lr=5e-3, lr_floor=0.05, adam_betas=(0.9, 0.999))),
    # The Train page's quick demo: a 2-D map in a few CPU minutes (bench/README.md, fast_demo_time.py).
    "fast-2d": (ModelConfig(arch="mlp", latent_dim=2, hidden=(256, 128)),
                TrainConfig(epochs=10, batch_size=256, lr=3e-3, lr_floor=0.05, adam_betas=(0.9, 0.999))),
}

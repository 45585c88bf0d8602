"""The models that ship with the project under assets/models, in the order the app lists them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .data import ASSETS

MODELS_DIR = ASSETS / "models"


@dataclass(frozen=True)
class BundledModel:
    key: str  # stable id, also the file stem
    name: str  # what the model picker shows

    @property
    def path(self) -> Path:
        return MODELS_DIR / f"{self.key}.pt"


BUNDLED = [
    BundledModel("mnist-2d-beta1", "2-D · β = 1 (default)"),
    BundledModel("mnist-20d-beta1", "20-D · β = 1"),
    BundledModel("mnist-2d-beta0", "2-D · β = 0 (autoencoder)"),
    BundledModel("mnist-2d-beta0.25", "2-D · β = 0.25"),
    BundledModel("mnist-2d-beta4", "2-D · β = 4"),
    BundledModel("mnist-2d-beta16", "2-D · β = 16"),
]
DEFAULT = BUNDLED[0]
# One model for every beta in [0.01, 16] (ModelConfig.beta_range): the KL lab's beta dial. Not in BUNDLED, which is
# what the model picker lists: the other pages show models trained for one beta.
BETA_DIAL = BundledModel("mnist-2d-beta-dial", "2-D · every β from 0.01 to 16 (one model)")
BETA_SWEEP = {0.0: "mnist-2d-beta0", 0.25: "mnist-2d-beta0.25", 1.0: "mnist-2d-beta1", 4.0: "mnist-2d-beta4",
              16.0: "mnist-2d-beta16"}


def available() -> list[BundledModel]:
    """The bundled models whose files are present."""
    return [m for m in BUNDLED if m.path.is_file()]


def all_available() -> list[BundledModel]:
    """Every bundled model whose file is present, the beta dial's included (`python -m vae models`)."""
    return [m for m in [*BUNDLED, BETA_DIAL] if m.path.is_file()]


def by_key(key: str) -> BundledModel:
    for m in [*BUNDLED, BETA_DIAL]:
        if m.key == key:
            return m
    raise KeyError(key)

"""What the KL lab's beta dial shows of a beta-conditioned model (ModelConfig.beta_range), computed once per model.

One conditioned model encodes the test digits at every beta, so the class can drag beta and watch one map move.
The browser cannot run the encoder on 10,000 digits per frame, so the map is encoded here at `N_BETAS` log-spaced
beta and interpolated there between neighbours; the decoder is small enough to run there at the exact beta.
Also here, per beta: the test rate (KL) and distortion (reconstruction NLL) on the fixed binarisation of
`vae evaluate`, and the median posterior sigma. Stored as a plain .npz (no pickle) that records the checkpoint's
hash; vae.store names, finds (the bundled model's ships in assets/beta_dial) and makes it.
"""
from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from .atomic import write_atomic
from .data import first_of_each_class

N_BETAS = 64  # encodings per model; neighbouring maps differ by a few % of the map's radius (tests/test_beta_dial)
N_CHOSEN = 8  # test digits whose reconstructions and posteriors the dial follows: the first of classes 0..7
FORMAT_VERSION = 1


def dial_betas(beta_range: tuple[float, float], n: int = N_BETAS) -> np.ndarray:
    """n values log-spaced over the range, ends included, (n,)."""
    lo, hi = beta_range
    return np.geomspace(lo, hi, n)


@dataclass(frozen=True)
class DialData:
    sha256: str  # of the checkpoint it was computed from
    betas: np.ndarray  # (K,) log-spaced over the model's beta_range
    mu: np.ndarray  # (K, N, D) posterior means of the test digits at each beta (grey images, as the maps)
    rate: np.ndarray  # (K,) mean KL(q(z|x) || p(z)) in nats, binarised test set
    distortion: np.ndarray  # (K,) mean -log p(x|z) in nats, one seeded z per digit
    median_sigma: np.ndarray  # (K,) median over digits and dimensions of sigma
    chosen: np.ndarray  # (C,) indices of the digits followed by the dial
    chosen_sigma: np.ndarray  # (K, C, D) their posterior sigmas

    def between(self, beta: float) -> tuple[int, float]:
        """The grid betas around beta, as the browser interpolates: index k and the weight t of k + 1."""
        f = (np.log(beta) - np.log(self.betas[0])) / (np.log(self.betas[-1]) - np.log(self.betas[0]))
        f = float(np.clip(f, 0, 1)) * (len(self.betas) - 1)
        k = min(int(f), len(self.betas) - 2)
        return k, f - k

    def facts(self, beta: float) -> "DialFacts":
        """What the dial shows at beta, interpolated like the browser: the numbers the page prints beside it."""
        k, t = self.between(beta)
        lerp = lambda a: float(a[k] * (1 - t) + a[k + 1] * t)  # noqa: E731
        mu = self.mu[k] * (1 - t) + self.mu[k + 1] * t  # (N, D)
        rate, distortion = lerp(self.rate), lerp(self.distortion)
        return DialFacts(beta, rate, distortion, distortion + beta * rate, lerp(self.median_sigma),
                         float(np.mean(np.linalg.norm(mu, axis=1) > 3)))


@dataclass(frozen=True)
class DialFacts:
    beta: float
    rate: float  # nats
    distortion: float  # nats
    objective: float  # distortion + beta * rate
    median_sigma: float
    outside_3sigma: float  # share of the test digits' codes outside the prior's 3-sigma circle


def make_dial_data(ck, grey_images, binary_images, labels, n_betas: int = N_BETAS) -> DialData:
    """From a loaded vae.Checkpoint of a conditioned model and the test split: grey (N, 784) floats for the maps,
    the fixed binarisation (vae.data.evaluation_images) for rate and distortion. About a minute on one core."""
    import torch

    from .latent import posterior
    from .metrics import elbo_parts

    if ck.model_config.beta_range is None:
        raise ValueError("the beta dial needs a beta-conditioned model (ModelConfig.beta_range)")
    betas = dial_betas(ck.model_config.beta_range, n_betas)
    chosen = first_of_each_class(labels, N_CHOSEN)
    x_bin = torch.as_tensor(np.asarray(binary_images, np.float32))
    mus, rates, distortions, medians, chosen_sigma = [], [], [], [], []
    for beta in betas:
        mu, sigma = posterior(ck.model, grey_images, float(beta))
        parts = elbo_parts(ck.model, x_bin, beta=float(beta))
        mus.append(mu)
        rates.append(parts["kl"])
        distortions.append(parts["recon"])
        medians.append(float(np.median(sigma)))
        chosen_sigma.append(sigma[chosen])
    return DialData(ck.sha256, betas, np.stack(mus).astype(np.float32), np.array(rates), np.array(distortions),
                    np.array(medians), chosen, np.stack(chosen_sigma).astype(np.float32))


def dial_data_for(ck, split) -> DialData:
    """make_dial_data on a test split: grey images for the maps, and for rate and distortion the images as
    `vae evaluate` feeds them (the checkpoint's own binarisation, fixed seed)."""
    from .data import evaluation_images

    return make_dial_data(ck, split.floats().numpy(), evaluation_images(split, ck.train_config.binarize).numpy(),
                          split.labels.numpy())


def save_dial_data(path: str | os.PathLike, data: DialData) -> Path:
    arrays = {f.name: getattr(data, f.name) for f in fields(DialData) if f.name != "sha256"}
    meta = np.array(f"{FORMAT_VERSION}:{data.sha256}")
    return write_atomic(Path(path), lambda f: np.savez_compressed(f, meta=meta, **arrays))


def load_dial_data(path: str | os.PathLike, sha256: str) -> DialData:
    """Raises ValueError when the file is unreadable, of another version or made from another checkpoint."""
    try:
        with np.load(path, allow_pickle=False) as f:
            version, _, made_from = str(f["meta"]).partition(":")
            if version != str(FORMAT_VERSION) or made_from != sha256:
                raise ValueError("another version or another checkpoint")
            return DialData(sha256, **{fl.name: f[fl.name] for fl in fields(DialData) if fl.name != "sha256"})
    except (OSError, KeyError, TypeError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"unreadable beta-dial data {path}: {exc}") from None

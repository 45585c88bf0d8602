"""Evaluate a checkpoint on its dataset's test split: the numbers `python -m vae evaluate` and the app both show."""
from __future__ import annotations

import os

from .checkpoint import Checkpoint
from .data import Split, load_split, evaluation_images
from .metrics import evaluate


def has_full_metrics(ck: Checkpoint) -> bool:
    """Whether the checkpoint's recorded metrics are a whole evaluate_checkpoint result at its own binarisation
    (written by `vae evaluate --record`, or by an app run's training process as it ends)."""
    m = ck.metrics
    return {"neg_elbo", "recon", "kl", "active_units", "n_test"} <= set(m) and \
        m.get("binarize") == ck.train_config.binarize and m.get("n_test") == 10000


def evaluate_checkpoint(ck: Checkpoint, iw_samples: int = 0, binarize: str | None = None,
                        data_dir: str | os.PathLike | None = None, test_split: Split | None = None,
                        limit: int = 0, beta: float | None = None) -> dict:
    """Test -ELBO, reconstruction, KL, active units (and the IW NLL with iw_samples > 0) of one checkpoint.

    binarize defaults to the checkpoint's own training binarisation. limit > 0 evaluates the first `limit` images.
    beta: where to evaluate a beta-conditioned model (default 1, clamped into its range); a ValueError for an
    ordinary model or a beta outside the range.
    """
    rng = ck.model_config.beta_range
    if rng is None and beta is not None:
        raise ValueError(f"--beta applies only to a beta-conditioned model; this one was trained at beta = "
                         f"{ck.train_config.beta:g}")
    if rng is not None:
        beta = ck.model_config.reference_beta if beta is None else beta
        if not rng[0] <= beta <= rng[1]:
            raise ValueError(f"beta {beta:g} is outside this model's range [{rng[0]:g}, {rng[1]:g}]")
    binarize = binarize or ck.train_config.binarize
    split = test_split or load_split(ck.dataset, train=False, root=data_dir)
    if limit:
        split = split.subset(limit)
    out = evaluate(ck.model, evaluation_images(split, binarize), iw_samples=iw_samples, beta=beta)
    out.update({"beta": ck.train_config.beta if rng is None else beta, "beta_range": list(rng) if rng else None,
                "dataset": ck.dataset, "binarize": binarize})
    return out

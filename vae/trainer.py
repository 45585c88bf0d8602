"""The training loop: UI-agnostic, with a callback the CLI prints from and the app draws from."""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable

import torch

from .checkpoint import load_checkpoint, save_checkpoint
from .config import ModelConfig, TrainConfig
from .data import Split, batches, evaluation_images
from .losses import neg_elbo
from .metrics import elbo_parts
from .model import VAE


@dataclass
class Progress:
    """What a callback sees. Return True from the callback to stop (the last completed epoch's checkpoint stays)."""
    kind: str  # "start" (once, the untrained model, not on resume), "step" (every `step_every` steps)
    #            or "epoch" (after each completed epoch, checkpoint written)
    epoch: int  # current epoch, 1-based
    epochs: int
    step: int  # steps done in this epoch
    steps_per_epoch: int
    train_seconds: float  # cumulative training time, excluding data loading and evaluation
    history: list[dict] = field(default_factory=list)
    model: VAE | None = None
    last: dict = field(default_factory=dict)  # running means of the current epoch: loss, recon, kl

    @property
    def fraction(self) -> float:
        return ((self.epoch - 1) + self.step / max(self.steps_per_epoch, 1)) / self.epochs


@dataclass
class TrainResult:
    model: VAE
    history: list[dict]
    metrics: dict  # final test -ELBO, recon, KL
    train_seconds: float
    samples_per_s: float
    stopped: bool  # True when the callback asked to stop early
    path: Path | None


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def kl_ramp(cfg: TrainConfig, epoch_progress: float) -> float:
    """The KL warm-up: 0 -> 1 linearly over the first `kl_warmup` epochs (epoch_progress counts epochs from 0)."""
    return 1.0 if cfg.kl_warmup <= 0 else min(1.0, epoch_progress / cfg.kl_warmup)


def kl_weight(cfg: TrainConfig, epoch_progress: float) -> float:
    """beta, ramped linearly from 0 over the first `kl_warmup` epochs."""
    return cfg.beta * kl_ramp(cfg, epoch_progress)


def sample_betas(beta_range: tuple[float, float], n: int, gen: torch.Generator, tilt: float = 0.0) -> torch.Tensor:
    """n values of beta, (n,): log beta = lo + (hi - lo) u with u's density on [0, 1] proportional to exp(tilt u);
    tilt 0 is Multi-Rate VAE's log beta ~ U[log lo, log hi]."""
    lo, hi = (math.log(b) for b in beta_range)
    r = torch.rand(n, generator=gen)
    u = r if tilt == 0 else torch.log1p(r * math.expm1(tilt)) / tilt  # inverse of the tilted CDF
    return torch.exp(lo + (hi - lo) * u)


def steps_per_epoch(cfg: TrainConfig, n_train: int) -> int:
    """Batches per epoch on a training split of n_train images (its first cfg.train_subset when that is set)."""
    n = min(n_train, cfg.train_subset) if cfg.train_subset else n_train
    return max(1, math.ceil(n / cfg.batch_size))


def learning_rate(cfg: TrainConfig, step: int, total_steps: int) -> float:
    """Linear warm-up to cfg.lr, then constant or cosine decay to cfg.lr * cfg.lr_floor."""
    warm = min(1.0, (step + 1) / cfg.warmup_steps) if cfg.warmup_steps else 1.0
    if cfg.lr_schedule == "constant":
        return cfg.lr * warm
    t = min(1.0, step / max(total_steps, 1))
    floor = cfg.lr * cfg.lr_floor
    return warm * (floor + (cfg.lr - floor) * 0.5 * (1 + math.cos(math.pi * t)))


def train(model_cfg: ModelConfig, cfg: TrainConfig, train_split: Split, test_split: Split, *,
          out: str | os.PathLike | None = None, resume: str | os.PathLike | None = None,
          callback: Callable[[Progress], bool | None] | None = None, step_every: int = 0,
          name: str = "") -> TrainResult:
    """Train a VAE by minimising the beta-weighted negative ELBO with Adam.

    After every epoch: evaluate on the test split (every `cfg.eval_every` epochs), append to the history, write
    the checkpoint atomically to `out`, and call `callback`. With `resume`, continue from that checkpoint's epoch,
    weights, optimizer and RNG state; its model config must be `model_cfg` (ValueError otherwise, naming the
    fields: a model built from another config is another model, even where every weight's shape agrees).
    Deterministic for a given seed on the CPU.
    """
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = VAE(model_cfg).to(device)
    # fused: one kernel updates every weight, instead of about ten tensor ops per parameter per step; the same
    # Adam rule (weights agree to float32 rounding) and deterministic, and the step costs less (measured).
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=cfg.adam_betas,
                           fused=device.type in ("cpu", "cuda") or None)
    history: list[dict] = []
    start_epoch, train_seconds = 1, 0.0
    if resume:
        ck = load_checkpoint(resume)
        differ = [f.name for f in fields(ModelConfig) if getattr(ck.model_config, f.name) != getattr(model_cfg, f.name)]
        if differ:
            raise ValueError(f"{resume} was trained with another model config ({', '.join(differ)}); resume it "
                             "with its own (Checkpoint.model_config)")
        model.load_state_dict(ck.model.state_dict())
        history = list(ck.history)
        start_epoch = ck.epoch + 1
        train_seconds = history[-1]["train_seconds"] if history else 0.0
        rs = ck.resume_state
        if "optimizer" in rs:
            opt.load_state_dict(rs["optimizer"])
        if "torch_rng" in rs:
            torch.set_rng_state(rs["torch_rng"])
            gen.set_state(rs["gen_rng"])

    x_train = (train_split.subset(cfg.train_subset) if cfg.train_subset else train_split).floats()  # (N, 784)
    x_test = evaluation_images(test_split, cfg.binarize).to(device)  # the same images as `vae evaluate`
    at_beta = model_cfg.reference_beta
    n_steps = steps_per_epoch(cfg, len(train_split))
    total_steps = n_steps * cfg.epochs
    n_seen = 0
    stopped = False
    metrics: dict = history[-1].get("test", {}) if history else {}
    if callback and start_epoch == 1:  # the untrained model, e.g. for the first frame of the app's replay
        stopped = bool(callback(Progress("start", 1, cfg.epochs, 0, n_steps, 0.0, history, model)))

    for epoch in range(start_epoch, cfg.epochs + 1):
        if stopped:
            break
        model.train()
        sums = torch.zeros(3, dtype=torch.float64, device=device)  # on the device: no GPU -> CPU sync per step
        n_epoch = 0
        # The clock covers everything an epoch's steps do, drawing batches from memory included; it pauses only
        # while a callback runs (a UI drawing), and evaluation happens after it stops.
        t_epoch = 0.0
        t0 = time.perf_counter()
        for step, xb in enumerate(batches(x_train, cfg.batch_size, cfg.binarize, True, gen)):
            xb = xb.to(device, non_blocking=True)
            global_step = (epoch - 1) * n_steps + step
            for group in opt.param_groups:
                group["lr"] = learning_rate(cfg, global_step, total_steps)
            ramp = kl_ramp(cfg, (epoch - 1) + step / n_steps)
            cond = None  # a conditioned model: each example its own beta, all scaled by the warm-up
            if model_cfg.beta_range is not None:
                cond = sample_betas(model_cfg.beta_range, len(xb), gen, cfg.beta_tilt).to(device)  # (B,)
            beta = cfg.beta * ramp if cond is None else cond * ramp
            logits, mu, logvar, _ = model(xb, n_samples=cfg.mc_samples if cfg.mc_samples > 1 else 0, beta=cond)
            loss, recon, kl = neg_elbo(logits, xb, mu, logvar, beta, model_cfg.likelihood, model_cfg.obs_std)
            opt.zero_grad(set_to_none=True)
            loss.mean().backward()
            opt.step()
            with torch.no_grad():
                sums += torch.stack([(recon + kl).sum(), recon.sum(), kl.sum()]).double()
            n_epoch += len(xb)
            if callback and step_every and (step + 1) % step_every == 0:
                t_epoch += time.perf_counter() - t0
                means = (sums / n_epoch).tolist()
                p = Progress("step", epoch, cfg.epochs, step + 1, n_steps, train_seconds + t_epoch,
                             history, model, dict(zip(("neg_elbo", "recon", "kl"), means)))
                if callback(p):
                    stopped = True
                    break
                t0 = time.perf_counter()
        if stopped:
            break
        t_epoch += time.perf_counter() - t0
        train_seconds += t_epoch
        n_seen += n_epoch
        means = (sums / n_epoch).tolist()
        entry = {"epoch": epoch, "train_seconds": round(train_seconds, 3),
                 "train_neg_elbo": means[0], "train_recon": means[1], "train_kl": means[2],
                 "beta": kl_weight(cfg, epoch) if at_beta is None else None, "lr": opt.param_groups[0]["lr"]}
        if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:
            metrics = elbo_parts(model, x_test, beta=at_beta)
            entry.update({"test_neg_elbo": metrics["neg_elbo"], "test_recon": metrics["recon"],
                          "test_kl": metrics["kl"]})
        history.append(entry)
        if out:
            resume_state = {"optimizer": opt.state_dict(), "torch_rng": torch.get_rng_state(),
                            "gen_rng": gen.get_state()}
            save_checkpoint(out, model, cfg, history=history, metrics=metrics, dataset=cfg.dataset, epoch=epoch,
                            name=name, resume_state=resume_state)
        if callback and callback(Progress("epoch", epoch, cfg.epochs, n_steps, n_steps,
                                          train_seconds, history, model, entry)):
            stopped = epoch < cfg.epochs
            break
    model.eval()
    return TrainResult(model=model.cpu(), history=history, metrics=metrics, train_seconds=train_seconds,
                       samples_per_s=n_seen / train_seconds if train_seconds else 0.0, stopped=stopped,
                       path=Path(out) if out else None)

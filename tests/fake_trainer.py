"""A stand-in for the app's training process, `python -m vae train --run-dir DIR --out CK ...`, for the page tests.

The real process imports torch and trains (30-55 s a test on a busy 2-core machine); the Train page only sees what it
writes into the run folder, so the page tests start this script instead. It imports no torch. It takes the real
command line (every flag ui.supervisor.train_command writes; it reads those it needs) and writes the run folder as
vae/cli.py's cmd_train does, through the same vae.runs.ProgressReporter: progress.json ("loading", then step and
epoch reports, then "finished" or "stopped"), latents/labels.npy and latents/epoch_NNNN.npy (epoch 0 before the first
epoch, not on a resume), and the checkpoint at --out after every epoch, before that epoch is reported. Like the real
process it stops at the next report once the `stop` file appears, ends as "stopped" on SIGTERM (exit 130), can be
SIGKILLed (the page then shows the run interrupted), and with --resume continues after the checkpoint's epoch.

Checkpoints need torch to write, so the test process makes them: install() patches ui.supervisor.train_command, and
the patched command first writes one real checkpoint per epoch of the run (vae.checkpoint.save_checkpoint, a freshly
initialised model of the run's configuration, its name, epoch, history and metrics) into a folder that it passes as
--checkpoints; the fake copies epoch k's file to --out (atomically) when its epoch k ends, and tells which epoch a
--resume checkpoint holds by its bytes. The history is made up but deterministic (history()), the same in the
checkpoints and in progress.json, so a resumed run's history continues the saved one.

What it does not do (the tests marked `trains` run the real process for these): train, evaluate on the test split,
record the full test metrics in a finished checkpoint, load data (a missing training split is not detected).

    python tests/fake_trainer.py <python -m vae train's flags> --checkpoints DIR [--epoch-seconds S]
"""
from __future__ import annotations

import argparse
import hashlib
import math
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).resolve()
EPOCH_SECONDS = 0.3  # one fake epoch; the page polls every 0.5-1 s, so a 3-epoch run shows progress, then finishes
REPORTS_PER_EPOCH = 4  # step reports per epoch (the real process: about 20); each is also where a stop is noticed
MAX_EPOCHS = 150  # checkpoints the test process writes up front for one run (~0.2 MB and ~6 ms each)
SPLIT_SIZES = {"train": 60000, "test": 10000}  # images in the training and test splits of MNIST-like data


@dataclass
class Progress:
    """What vae.train hands its callback (vae.trainer.Progress, which imports torch), without the model."""
    kind: str
    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int
    train_seconds: float
    history: list[dict] = field(default_factory=list)
    model: None = None
    last: dict = field(default_factory=dict)

    @property
    def fraction(self) -> float:
        return ((self.epoch - 1) + self.step / max(self.steps_per_epoch, 1)) / self.epochs


def losses(epoch: float) -> dict:
    """Made-up but plausible running means after `epoch` epochs: reconstruction falls, KL rises, then both settle."""
    recon = 150.0 + 100.0 * math.exp(-epoch / 2)
    kl = 6.0 - 4.0 * math.exp(-epoch / 2)
    return {"neg_elbo": recon + kl, "recon": recon, "kl": kl}


def history(epochs_done: int, *, epochs: int, eval_every: int, epoch_seconds: float, beta: float = 1.0,
            lr: float = 1e-3) -> list[dict]:
    """The history of the first `epochs_done` epochs, with the keys vae.train writes (test_* where it evaluates)."""
    out = []
    for epoch in range(1, epochs_done + 1):
        m = losses(epoch)
        entry = {"epoch": epoch, "train_seconds": round(epoch * epoch_seconds, 3), "train_neg_elbo": m["neg_elbo"],
                 "train_recon": m["recon"], "train_kl": m["kl"], "beta": beta, "lr": lr}
        if epoch % max(eval_every, 1) == 0 or epoch == epochs:
            entry.update({"test_neg_elbo": m["neg_elbo"] + 2.0, "test_recon": m["recon"] + 1.5,
                          "test_kl": m["kl"] + 0.5})
        out.append(entry)
    return out


def _metrics(hist: list[dict]) -> dict:
    """The metrics vae.train stores with a checkpoint: those of the newest evaluated epoch."""
    tested = [h for h in hist if "test_neg_elbo" in h]
    if not tested:
        return {}
    h = tested[-1]
    return {"neg_elbo": h["test_neg_elbo"], "recon": h["test_recon"], "kl": h["test_kl"]}


# ---- the test process's side: the checkpoints, and starting this script instead of `python -m vae train` --------

def checkpoint_name(epoch: int) -> str:
    return f"epoch_{epoch:04d}.pt"


def prepare_checkpoints(folder: Path, model_cfg, train_cfg, name: str, epoch_seconds: float) -> None:
    """One real checkpoint per epoch of the run (needs torch: called in the test process, not by the fake)."""
    import torch

    from vae.checkpoint import save_checkpoint
    from vae.model import VAE

    if train_cfg.epochs > MAX_EPOCHS:
        raise ValueError(f"the fake trainer prepares at most {MAX_EPOCHS} epochs' checkpoints; this run asks for "
                         f"{train_cfg.epochs}: use fewer epochs (or a longer --epoch-seconds) in the test")
    folder.mkdir(parents=True)
    with torch.random.fork_rng():
        torch.manual_seed(train_cfg.seed)
        model = VAE(model_cfg)
    full = history(train_cfg.epochs, epochs=train_cfg.epochs, eval_every=train_cfg.eval_every,
                   epoch_seconds=epoch_seconds, beta=train_cfg.beta, lr=train_cfg.lr)
    for epoch in range(1, train_cfg.epochs + 1):
        save_checkpoint(folder / checkpoint_name(epoch), model, train_cfg, history=full[:epoch],
                        metrics=_metrics(full[:epoch]), dataset=train_cfg.dataset, epoch=epoch, name=name)


class FakeTrainer:
    """Makes ui.supervisor start this script, with a run's checkpoints prepared, wherever it would start
    `python -m vae train`. epoch_seconds may be changed before a run starts (a run that must outlast a test)."""

    def __init__(self, folder: Path, epoch_seconds: float = EPOCH_SECONDS):
        self.folder = Path(folder)
        self.epoch_seconds = epoch_seconds
        self.commands: list[list[str]] = []  # what the supervisor was asked to run, in order

    def install(self, monkeypatch) -> FakeTrainer:
        from ui import supervisor

        real = supervisor.train_command

        def train_command(run_dir, model_cfg, train_cfg, name, *, demo, data_dir=None, resume=False):
            cmd = real(run_dir, model_cfg, train_cfg, name, demo=demo, data_dir=data_dir, resume=resume)
            assert cmd[1:4] == ["-m", "vae", "train"], cmd  # the real command line, whose flags the fake reads
            bank = self.folder / Path(run_dir).name  # one per run; a resume finds the one its start made
            if not bank.is_dir():
                prepare_checkpoints(bank, model_cfg, train_cfg, name, self.epoch_seconds)
            fake = [cmd[0], str(SCRIPT), *cmd[4:], "--checkpoints", str(bank),
                    "--epoch-seconds", str(self.epoch_seconds)]
            self.commands.append(fake)
            return fake

        monkeypatch.setattr(supervisor, "train_command", train_command)
        return self


# ---- the fake training process ------------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(prog="fake_trainer")
    p.add_argument("--run-dir", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--checkpoints", required=True, help="epoch_NNNN.pt for every epoch, from prepare_checkpoints")
    p.add_argument("--epoch-seconds", type=float, default=EPOCH_SECONDS)
    p.add_argument("--resume")
    p.add_argument("--name", default="")
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--eval-every", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--train-subset", type=int, default=0)
    p.add_argument("--train-split", choices=["train", "test"], default="train")
    p.add_argument("--latent-dim", type=int, default=2)
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--snapshot-size", type=int, default=1000)
    args, _ = p.parse_known_args(argv)  # the model's other flags change nothing here
    return args


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # as vae.cli: SIGTERM ends the run like Ctrl-C, recorded as stopped


def main(argv=None) -> int:
    import numpy as np

    from vae import runs
    from vae.atomic import write_atomic

    runs.lower_autogroup_priority()  # as the real process does when the app started it
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _interrupt)
    reporter = runs.ProgressReporter(args.run_dir)
    bank = Path(args.checkpoints)
    hist_of = lambda n: history(n, epochs=args.epochs, eval_every=args.eval_every,  # noqa: E731
                                epoch_seconds=args.epoch_seconds, beta=args.beta, lr=args.lr)

    def fail(message: str, kind: str) -> int:
        print(f"error: {message}", file=sys.stderr)
        reporter.finish("failed", message, kind=kind)
        return 1

    start_epoch = 1
    if args.resume:  # which prepared checkpoint is it? (vae.train reads the epoch from inside it)
        digest = hashlib.sha256(Path(args.resume).read_bytes()).hexdigest()
        matches = [int(p.stem.split("_")[1]) for p in sorted(bank.glob("epoch_*.pt"))
                   if hashlib.sha256(p.read_bytes()).hexdigest() == digest]
        if not matches:
            return fail(f"{args.resume} is none of the fake trainer's checkpoints in {bank}", "config")
        start_epoch = matches[0] + 1

    n_images = SPLIT_SIZES["test" if args.train_split == "test" else "train"]
    if args.train_subset:
        n_images = min(n_images, args.train_subset)
    steps_per_epoch = max(1, -(-n_images // args.batch_size))
    n_snap = min(SPLIT_SIZES["test"], args.snapshot_size)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, n_snap)
    centres = rng.normal(0.0, 2.0, (10, args.latent_dim))
    latents = Path(args.run_dir) / "latents"
    latents.mkdir(exist_ok=True)
    write_atomic(latents / "labels.npy", lambda f: np.save(f, labels))

    def snapshot(epoch: int) -> None:  # the digits drift from one blob towards their class's centre
        pull = 1.0 - math.exp(-epoch / 2)
        mu = pull * centres[labels] + np.random.default_rng(epoch).normal(0.0, 1.0, (n_snap, args.latent_dim))
        write_atomic(latents / f"epoch_{epoch:04d}.npy", lambda f: np.save(f, mu.astype(np.float32)))

    stopped = False
    try:
        hist = hist_of(start_epoch - 1)
        if start_epoch == 1:  # the untrained model: the replay's frame "epoch 0" (not on a resume)
            snapshot(0)
            stopped = reporter(Progress("start", 1, args.epochs, 0, steps_per_epoch, 0.0, hist))
        for epoch in range(start_epoch, args.epochs + 1):
            if stopped:
                break
            for i in range(1, REPORTS_PER_EPOCH + 1):
                time.sleep(args.epoch_seconds / REPORTS_PER_EPOCH)
                step = steps_per_epoch * i // REPORTS_PER_EPOCH
                if i == REPORTS_PER_EPOCH or step == 0:
                    continue  # the epoch's end is reported as the epoch
                seconds = (epoch - 1 + i / REPORTS_PER_EPOCH) * args.epoch_seconds
                if reporter(Progress("step", epoch, args.epochs, step, steps_per_epoch, seconds, hist, None,
                                     losses(epoch - 1 + i / REPORTS_PER_EPOCH))):
                    stopped = True
                    break
            if stopped:
                break
            source = bank / checkpoint_name(epoch)
            if not source.is_file():
                return fail(f"no prepared checkpoint {source} for epoch {epoch}", "save")
            with open(source, "rb") as src:  # atomically, as vae.checkpoint.save_checkpoint writes it
                write_atomic(args.out, lambda f: shutil.copyfileobj(src, f))
            hist = hist_of(epoch)
            snapshot(epoch)
            e = hist[-1]
            print(f"epoch {epoch}/{args.epochs}  train -elbo {e['train_neg_elbo']:.2f} (recon {e['train_recon']:.2f}, "
                  f"kl {e['train_kl']:.2f})  (fake)", file=sys.stderr, flush=True)
            if reporter(Progress("epoch", epoch, args.epochs, steps_per_epoch, steps_per_epoch, e["train_seconds"],
                                 hist, None, e)):
                stopped = epoch < args.epochs
                break
    except KeyboardInterrupt:
        reporter.finish("stopped", "Interrupted; the last completed epoch is saved.")
        print(f"\ninterrupted: the last completed epoch is saved in {args.out}", file=sys.stderr)
        return 130
    reporter.finish("stopped" if stopped else "finished")
    print(f"trained {len(hist)} epochs (fake); saved {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

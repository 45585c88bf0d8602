"""Training speed: the textbook VAE loop against the project's `vae.train`, on the same model. Prints one JSON line.

The model is the MLP VAE 784-400-20 (ReLU) of pytorch/examples `vae/main.py`, with a Bernoulli (BCE) likelihood on
grey MNIST. Both loops run in this process, one after the other:

1. The textbook loop, as in that example: `datasets.MNIST` with `transforms.ToTensor()`, `DataLoader(batch_size=128,
   shuffle=True)`, Adam 1e-3, loss = BCE(sum) + KLD. Its clock covers the whole epoch loop, DataLoader included:
   turning every image into a tensor one by one IS its hot loop, the cost the project removes by batching from
   memory. Building the dataset objects and evaluating are off the clock, as for the project.
2. The project's loop, `vae.train`, with `ModelConfig(arch="mlp", latent_dim=20, hidden=(400,))`.

Reported:
- samples/s of each at the identical recipe (batch 128, Adam 1e-3 constant, one sample of z) and their ratio;
- the training seconds each needs to FIRST reach test -ELBO <= --target (104 nats; evaluated after every epoch), the
  textbook at its own recipe and the project at its DEFAULT recipe (`TrainConfig()` defaults, except
  binarize="none" because the task is grey MNIST), the epochs that took, and the speed-up.

    python bench/train_speed.py [--data-dir D] [--max-epochs 30] [--skip-textbook] [--json]

Seconds depend on what else the machine runs: the JSON records the load average before and after.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere without installing

import vae  # noqa: E402

TARGET = 104.0  # nats: the textbook loop first gets there at epoch 18
MODEL = vae.ModelConfig(arch="mlp", latent_dim=20, hidden=(400,))  # the textbook's 784-400-20 in the project's terms


@dataclass
class Run:
    """One training run: per-epoch `history` of {epoch, train_seconds (cumulative), test_neg_elbo}."""
    name: str
    history: list[dict] = field(default_factory=list)
    samples: int = 0  # training samples processed on the clock

    @property
    def train_seconds(self) -> float:
        return self.history[-1]["train_seconds"] if self.history else 0.0

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.train_seconds if self.train_seconds else 0.0

    def first_reach(self, target: float) -> dict | None:
        """The first epoch whose test -ELBO is <= target, or None."""
        return next((h for h in self.history if h["test_neg_elbo"] <= target), None)


# ---- 1. the textbook loop (pytorch/examples vae/main.py, BCE + KLD) ---------------------------------------------

class TextbookVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def textbook_loss(recon_x, x, mu, logvar):
    """Reconstruction + KL divergence summed over all elements and the batch (Kingma & Welling, Appendix B)."""
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def textbook_datasets(data_dir: str | os.PathLike):
    """The example's datasets: torchvision MNIST, ToTensor applied to every image each time it is drawn."""
    from torchvision import datasets, transforms

    train_set = datasets.MNIST(str(data_dir), train=True, download=True, transform=transforms.ToTensor())
    test_set = datasets.MNIST(str(data_dir), train=False, transform=transforms.ToTensor())
    return train_set, test_set


def run_textbook(train_set, test_set, *, max_epochs: int, target: float | None = TARGET, seed: int = 1,
                 batch_size: int = 128, max_batches: int = 0) -> Run:
    """Train as the example does, evaluating after every epoch; stop at the first epoch <= target (if given).

    The example's per-10-batch prints and sample images are left out (I/O, not training). max_batches > 0 cuts
    each epoch short (for smoke tests).
    """
    torch.manual_seed(seed)  # the example's default seed
    loader = torch.utils.data.DataLoader(train_set, batch_size=batch_size, shuffle=True)
    test_loader = torch.utils.data.DataLoader(test_set, batch_size=batch_size, shuffle=False)
    model = TextbookVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    run = Run("textbook")
    seconds = 0.0
    for epoch in range(1, max_epochs + 1):
        model.train()
        train_loss = 0.0
        t0 = time.perf_counter()
        for batch_idx, (data, _) in enumerate(loader):
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = textbook_loss(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
            run.samples += len(data)
            if max_batches and batch_idx + 1 >= max_batches:
                break
        seconds += time.perf_counter() - t0
        model.eval()
        test_loss = 0.0
        with torch.no_grad():
            for data, _ in test_loader:
                recon_batch, mu, logvar = model(data)
                test_loss += textbook_loss(recon_batch, data, mu, logvar).item()
        run.history.append({"epoch": epoch, "train_seconds": round(seconds, 3),
                            "test_neg_elbo": round(test_loss / len(test_loader.dataset), 3)})
        if target is not None and run.history[-1]["test_neg_elbo"] <= target:
            break
    return run


# ---- 2. the project's loop ----------------------------------------------------------------------------------------

def run_project(cfg: vae.TrainConfig, train_split: vae.Split, test_split: vae.Split, *,
                target: float | None = TARGET, name: str = "project") -> Run:
    """vae.train on the textbook's model; stops after the first epoch whose test -ELBO is <= target (if given)."""
    def stop_at_target(p: vae.Progress) -> bool:
        return p.kind == "epoch" and target is not None and p.last.get("test_neg_elbo", float("inf")) <= target

    result = vae.train(MODEL, cfg, train_split, test_split, callback=stop_at_target)
    run = Run(name, [{"epoch": h["epoch"], "train_seconds": h["train_seconds"],
                      "test_neg_elbo": round(h["test_neg_elbo"], 3)} for h in result.history if "test_neg_elbo" in h])
    run.samples = round(result.samples_per_s * result.train_seconds)
    return run


def identical_recipe(epochs: int, threads: int) -> vae.TrainConfig:
    """The textbook's recipe in the project's terms: batch 128, Adam 1e-3 constant, no warm-up, one sample of z."""
    return vae.TrainConfig(epochs=epochs, batch_size=128, lr=1e-3, lr_schedule="constant", warmup_steps=0,
                           mc_samples=1, binarize="none", threads=threads)


def default_recipe() -> vae.TrainConfig:
    """What a user gets: every TrainConfig default, except grey images (binarize="none") as in the textbook task."""
    return vae.TrainConfig(binarize="none")


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default=os.environ.get("VAE_DATA_DIR") or "data",
                   help="folder holding MNIST/raw (default: $VAE_DATA_DIR or ./data)")
    p.add_argument("--max-epochs", type=int, default=30, help="cap on the textbook's epochs (default 30)")
    p.add_argument("--target", type=float, default=TARGET, help="test -ELBO to reach, nats (default 104)")
    p.add_argument("--throughput-epochs", type=int, default=2,
                   help="epochs of the project at the identical recipe, for its samples/s (default 2)")
    p.add_argument("--skip-textbook", action="store_true", help="run only the project's loops")
    p.add_argument("--json", action="store_true", help="print only the JSON line (no progress on stderr)")
    args = p.parse_args(argv)
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr, flush=True))

    load_before = os.getloadavg()[0]
    train_split = vae.load_split("mnist", train=True, root=args.data_dir)
    test_split = vae.load_split("mnist", train=False, root=args.data_dir)
    out: dict = {"bench": "train_speed", "model": "mlp 784-400-20, Bernoulli, grey MNIST", "target": args.target,
                 "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count()}

    textbook = None
    if not args.skip_textbook:
        say(f"textbook loop: batch 128, Adam 1e-3, up to {args.max_epochs} epochs ...")
        textbook = run_textbook(*textbook_datasets(args.data_dir), max_epochs=args.max_epochs, target=args.target)
        say(f"  {textbook.history[-1]}  {textbook.samples_per_s:.0f} samples/s")

    say(f"project loop at the identical recipe, {args.throughput_epochs} epochs ...")
    defaults = default_recipe()
    same = run_project(identical_recipe(args.throughput_epochs, defaults.threads), train_split, test_split,
                       target=None, name="project-identical")
    say(f"  {same.history[-1]}  {same.samples_per_s:.0f} samples/s")

    say(f"project loop at its default recipe (batch {defaults.batch_size}, lr {defaults.lr:g} {defaults.lr_schedule}, "
        f"Adam betas {defaults.adam_betas}, {defaults.epochs} epochs) ...")
    project = run_project(defaults, train_split, test_split, target=args.target, name="project-default")
    say(f"  {project.history[-1]}  {project.samples_per_s:.0f} samples/s")

    tb_hit = textbook.first_reach(args.target) if textbook else None
    pr_hit = project.first_reach(args.target)
    out.update({
        "textbook_samples_per_s": round(textbook.samples_per_s) if textbook else None,
        "project_samples_per_s": round(same.samples_per_s),
        "throughput_ratio": _ratio(same.samples_per_s, textbook.samples_per_s if textbook else None),
        "textbook_seconds_to_target": tb_hit["train_seconds"] if tb_hit else None,
        "textbook_epochs_to_target": tb_hit["epoch"] if tb_hit else None,
        "project_seconds_to_target": pr_hit["train_seconds"] if pr_hit else None,
        "project_epochs_to_target": pr_hit["epoch"] if pr_hit else None,
        "speedup_to_target": _ratio(tb_hit and tb_hit["train_seconds"], pr_hit and pr_hit["train_seconds"]),
        "project_default_samples_per_s": round(project.samples_per_s),
        "project_default_recipe": {k: v for k, v in asdict(defaults).items()
                                   if k in ("epochs", "batch_size", "lr", "lr_schedule", "lr_floor", "warmup_steps",
                                            "adam_betas", "mc_samples", "threads", "binarize", "seed")},
        "textbook_history": textbook.history if textbook else None,
        "project_default_history": project.history,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    })
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

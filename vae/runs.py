"""A training run's folder: its format, what the training process writes into it, and reading it back with NumPy
alone (no Streamlit, and no torch at import: the Train page shows runs without paying torch's 1.8 s import).

A run lives in `<runs dir>/<run id>/` (new_run_id: the start time, then the name, so ids sort by age):
    run.json                what was asked: the configs, the name, which split, the pid, host and command of the process
    progress.json           what the process reports, rewritten atomically every few steps: state, epoch, history
    checkpoint.pt           the last completed epoch (vae.trainer writes it atomically)
    latents/labels.npy      the labels of a fixed test subset, and before training and after every epoch
    latents/epoch_0001.npy  the posterior means of that subset: the frames of the replay (epoch_0000: untrained);
                            a beta-conditioned model's at progress.json's "snapshot_beta" (ModelConfig.reference_beta)
    stop                    present = "please stop at the next step" (the last completed epoch stays saved)
    log.txt                 the process's own output
The runs folder itself holds `.start.lock` (start_lock): "one run at a time" for every process sharing the folder.
A folder holding only an uploaded checkpoint.pt has card.json instead of run.json (write_card): its name, epochs,
dataset and model config, so that a model picker lists every checkpoint from JSON (read_card), without torch.

The folder is all that the two sides share. The training process (`python -m vae train --run-dir`) writes it
through ProgressReporter. The app's supervisor (ui/supervisor.py) creates it, starts and watches that process, and
reads it with read_status, which needs to be told whether the run's process lives: only the supervisor knows.
"""
from __future__ import annotations

import json
import os
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from .atomic import write_atomic
from .config import ModelConfig, TrainConfig, config_from_dict, config_to_dict

if TYPE_CHECKING:
    import torch

SNAPSHOT_SIZE = 1000  # test digits whose latent positions are stored every epoch (`train --snapshot-size`'s default)
FINAL_STATES = ("finished", "stopped", "failed")
AUTOGROUP_ENV = "VAE_AUTOGROUP_NICE"  # the supervisor sets it for the process it starts; see lower_autogroup_priority


# ---- small file helpers ------------------------------------------------------------------------------------------

def write_json_atomic(path: Path, data: dict) -> None:
    """A reader (the app, polling) never sees half a file."""
    write_atomic(path, lambda f: json.dump(data, f), text=True)


def read_json(path: Path) -> dict | None:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _save_npy_atomic(path: Path, array: np.ndarray) -> None:
    write_atomic(path, lambda f: np.save(f, array))


# ---- the folder --------------------------------------------------------------------------------------------------

def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "run"


def new_run_id(name: str) -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + _slug(name)


def request_stop(run_dir: str | os.PathLike) -> None:
    """Ask the process to stop at its next progress report; the last completed epoch's checkpoint stays."""
    (Path(run_dir) / "stop").touch()


# ---- one run at a time, whichever process starts it ---------------------------------------------------------------

START_LOCK = ".start.lock"  # in the runs folder
_start_lock = threading.Lock()


@contextmanager
def start_lock(runs_dir: str | os.PathLike, timeout_s: float = 10.0) -> Iterator[None]:
    """Hold the runs folder's start lock: "is a run training?" and starting one are one step for every process
    sharing the folder (serve.py's replicas, on one host or on several with the folder on NFS).

    A lock in the folder, not in a process's memory: flock on `<runs_dir>/.start.lock`, which the kernel releases
    if its holder dies. Plus a thread lock: on NFS, Linux makes flock a POSIX lock, which belongs to the whole
    process and so does not keep one server's sessions (threads) apart. Raises TimeoutError after `timeout_s`.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: only this process's threads are kept apart
        fcntl = None
    if not _start_lock.acquire(timeout=timeout_s):
        raise TimeoutError("another session of this server is starting a run")
    try:
        Path(runs_dir).mkdir(parents=True, exist_ok=True)
        with open(Path(runs_dir) / START_LOCK, "a") as f:
            deadline = time.monotonic() + timeout_s
            while fcntl is not None:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{Path(runs_dir) / START_LOCK} stayed locked for {timeout_s:.0f} s")
                    time.sleep(0.05)
            yield  # closing the file releases the flock
    finally:
        _start_lock.release()


# ---- the training process's side --------------------------------------------------------------------------------

class ProgressReporter:
    """The callback `python -m vae train --run-dir DIR` hands to vae.train (vae.trainer).

    Every call rewrites progress.json (atomically); after each epoch it also stores the latent positions of the
    fixed test subset. Returns True (= stop) once the `stop` file appears. Writing progress is best effort: a full
    disk must not kill a run whose checkpoint could still be saved (a failing checkpoint save is reported by
    `finish("failed", ...)`).
    """

    def __init__(self, run_dir: str | os.PathLike):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.snapshot_x: torch.Tensor | None = None
        self.snapshot_beta: float | None = None
        self.t_start = time.time()
        self.t_first: float | None = None  # time and fraction of the first step report: the ETA's baseline
        self.f_first = 0.0
        self.data: dict = {"state": "loading", "pid": os.getpid(), "started_at": self.t_start, "epoch": 0,
                           "epochs": 0, "step": 0, "steps_per_epoch": 0, "fraction": 0.0, "eta_s": None,
                           "history": [], "last": {}, "message": ""}
        prior = read_json(self.run_dir / "progress.json")
        if prior:  # a resumed run keeps the history it already has until the first new report
            self.data.update(history=prior.get("history", []), epochs=prior.get("epochs", 0),
                             epoch=len(prior.get("history", [])))
        self._write()

    def set_snapshot(self, images: torch.Tensor, labels: torch.Tensor, beta: float | None = None) -> None:
        """The fixed test subset whose latent map is stored every epoch: (N, 28, 28) uint8 and (N,) labels.
        beta: where a beta-conditioned model encodes them (recorded as "snapshot_beta"); None for other models."""
        self.snapshot_x = images.reshape(len(images), -1).float().div(255.0)
        self.snapshot_beta = beta
        self.data["snapshot_beta"] = beta
        folder = self.run_dir / "latents"
        folder.mkdir(exist_ok=True)
        self._best_effort(lambda: _save_npy_atomic(folder / "labels.npy", labels.numpy().astype(np.int64)))

    def __call__(self, p) -> bool:
        if p.kind == "start":  # the untrained model's map: the replay's frame "epoch 0"
            if p.model is not None and self.snapshot_x is not None:
                self._best_effort(lambda: self._snapshot(p.model, 0))
            return self.stop_requested()
        now = time.time()
        if self.t_first is None:
            self.t_first, self.f_first = now, p.fraction
        done = p.fraction - self.f_first
        eta = (now - self.t_first) / done * (1 - p.fraction) if done > 1e-6 and now > self.t_first else None
        self.data.update(state="running", epoch=p.epoch, epochs=p.epochs, step=p.step,
                         steps_per_epoch=p.steps_per_epoch, fraction=p.fraction, eta_s=eta, updated_at=now,
                         train_seconds=p.train_seconds, history=list(p.history),
                         last=dict(p.last) if p.kind == "step" else {})
        if p.kind == "epoch" and p.model is not None and self.snapshot_x is not None:
            self._best_effort(lambda: self._snapshot(p.model, p.epoch))
        self._write()
        return self.stop_requested()

    def stop_requested(self) -> bool:
        return (self.run_dir / "stop").exists()

    def finish(self, state: str, message: str = "", kind: str = "") -> None:
        self.data.update(state=state, message=message, error_kind=kind, eta_s=None, updated_at=time.time())
        self._write()

    def _snapshot(self, model, epoch: int) -> None:
        import torch  # here, not at the top: the app reads run folders through this module without torch

        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        with torch.no_grad():
            mu, _ = model.encode(self.snapshot_x.to(device), self.snapshot_beta)
        model.train(was_training)
        _save_npy_atomic(self.run_dir / "latents" / f"epoch_{epoch:04d}.npy", mu.cpu().numpy().astype(np.float32))

    def _write(self) -> None:
        self._best_effort(lambda: write_json_atomic(self.run_dir / "progress.json", self.data))

    @staticmethod
    def _best_effort(action) -> None:
        try:
            action()
        except OSError:
            pass


def lower_autogroup_priority() -> None:
    """Make `nice` count against the server, on Linux with autogroup scheduling.

    The app starts training in a new session (so it survives a server restart), and Linux then puts it in its own
    autogroup, which gets as much CPU as the server's whole group whatever the process's nice value. Setting the
    group's own nice value gives the server the priority `nice` was meant to. Called by `python -m vae train` when
    the app set AUTOGROUP_ENV; only then, because in a terminal the autogroup is the terminal's session.
    Best effort: no such file (other systems, autogroup off) changes nothing.
    """
    # Here, not with the rest of the priority settings in ui/supervisor.py: it runs inside the training process,
    # which imports only vae (vae never imports the app), and only a process can set its own autogroup's nice value.
    value = os.environ.get(AUTOGROUP_ENV)
    if not value:
        return
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write(value)
    except OSError:
        pass


# ---- reading a run (the app) ------------------------------------------------------------------------------------

@dataclass
class RunStatus:
    run_dir: Path
    name: str
    state: str  # starting | running | stopping | finished | stopped | failed | interrupted
    epoch: int  # completed epochs (saved in the checkpoint)
    epochs: int
    fraction: float  # of the whole run, 0..1
    eta_s: float | None  # seconds left, estimated from the speed so far
    history: list[dict] = field(default_factory=list)  # one entry per completed epoch
    last: dict = field(default_factory=dict)  # running means of the epoch in progress
    message: str = ""  # why it failed or stopped, in plain words
    error_kind: str = ""  # "data" when the training split is missing
    demo: bool = False  # trained on the bundled test split
    pid: int | None = None
    model_config: ModelConfig | None = None
    train_config: TrainConfig | None = None
    command: list[str] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        return self.run_dir.name

    @property
    def checkpoint(self) -> Path:
        return self.run_dir / "checkpoint.pt"

    @property
    def active(self) -> bool:
        return self.state in ("starting", "running", "stopping")

    @property
    def can_resume(self) -> bool:
        return (self.state in ("stopped", "failed", "interrupted") and self.checkpoint.is_file()
                and self.epoch < self.epochs)


ProcessAlive = Callable[[int | None, Path], bool]  # (pid in run.json, run folder) -> does the run's process live?


def read_status(run_dir: str | os.PathLike, process_alive: ProcessAlive) -> RunStatus | None:
    """The state of a run from its files and whether its process lives. None when the folder is not a run.

    `process_alive` is the supervisor's (ui.supervisor.process_alive): it knows the processes it started (and reaps
    them), and how to tell a live training process from a reused pid.
    """
    run_dir = Path(run_dir)
    info = read_json(run_dir / "run.json")
    if info is None:
        return None
    try:
        model_cfg = config_from_dict(ModelConfig, info.get("model_config", {}))
        train_cfg = config_from_dict(TrainConfig, info.get("train_config", {}))
    except (TypeError, ValueError):
        model_cfg = train_cfg = None
    prog = read_json(run_dir / "progress.json") or {}
    alive = process_alive(info.get("pid"), run_dir)
    history = prog.get("history") or []
    epochs = prog.get("epochs") or (train_cfg.epochs if train_cfg else 0)
    state = prog.get("state", "starting")
    message = prog.get("message", "")
    # A final state written by the run's own process counts at once: it is only exiting (which took 2.6 s on a busy
    # machine, and the page showed the run training meanwhile). Written by an earlier process, the run was resumed.
    if state in FINAL_STATES and alive and prog.get("pid") != info.get("pid"):
        state = "running"  # a resumed process that has not reported yet
    elif state not in FINAL_STATES and not alive:
        if (run_dir / "checkpoint.pt").is_file() or history:
            state = "interrupted"
            message = (f"The training process ended without finishing (killed, or the server or computer "
                       f"restarted). Epoch {len(history)} of {epochs} is saved; Resume continues from there.")
        else:
            state = "failed"
            message = "The training process ended before it finished an epoch. " + _log_tail(run_dir)
    elif state in ("loading", "running") and (run_dir / "stop").exists():
        state = "stopping"
    elif state == "loading":
        state = "starting"
    fraction = prog.get("fraction", 0.0) if state not in ("finished",) else 1.0
    eta = prog.get("eta_s")
    if eta is not None and state in ("running", "stopping"):
        eta = max(0.0, eta - (time.time() - prog.get("updated_at", time.time())))
    else:
        eta = None
    return RunStatus(run_dir=run_dir, name=info.get("name", run_dir.name), state=state, epoch=len(history),
                     epochs=epochs, fraction=float(fraction), eta_s=eta, history=history,
                     last=prog.get("last") or {}, message=message, error_kind=prog.get("error_kind", ""),
                     demo=bool(info.get("demo")), pid=info.get("pid"), model_config=model_cfg,
                     train_config=train_cfg, command=info.get("command", []))


@dataclass(frozen=True)
class CheckpointCard:
    """What a model picker needs to know of the checkpoint.pt in a folder, without loading it."""
    name: str
    epoch: int  # completed epochs
    dataset: str
    model_config: ModelConfig


CARD_FILE = "card.json"


def write_card(folder: str | os.PathLike, card: CheckpointCard) -> None:
    """card.json beside a checkpoint that has no run.json (an uploaded one)."""
    write_json_atomic(Path(folder) / CARD_FILE, {"name": card.name, "epoch": card.epoch, "dataset": card.dataset,
                                                 "model_config": config_to_dict(card.model_config)})


def read_card(folder: str | os.PathLike) -> CheckpointCard | None:
    """The card of the checkpoint in `folder`: from card.json, else from a run's run.json and progress.json (its
    epochs = the completed ones, as in read_status). None when neither is there or readable."""
    folder = Path(folder)
    try:
        card = read_json(folder / CARD_FILE)
        if card is not None:
            return CheckpointCard(str(card["name"]), int(card["epoch"]), str(card["dataset"]),
                                  config_from_dict(ModelConfig, card["model_config"]))
        info = read_json(folder / "run.json")
        if info is None:
            return None
        train_cfg = config_from_dict(TrainConfig, info.get("train_config", {}))
        history = (read_json(folder / "progress.json") or {}).get("history") or []
        return CheckpointCard(str(info.get("name", folder.name)), len(history), train_cfg.dataset,
                              config_from_dict(ModelConfig, info.get("model_config", {})))
    except (AttributeError, KeyError, TypeError, ValueError):  # e.g. "model_config": null
        return None


def _log_tail(run_dir: Path, lines: int = 3) -> str:
    try:
        text = (run_dir / "log.txt").read_text(errors="replace").replace("\r", "\n")
    except OSError:
        return ""
    tail = [ln for ln in text.splitlines() if ln.strip()][-lines:]
    return "Last output: " + " / ".join(tail) if tail else ""


def list_runs(runs_dir: str | os.PathLike, process_alive: ProcessAlive) -> list[RunStatus]:
    """All runs in the folder, newest first (see read_status for `process_alive`)."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    found = [read_status(d, process_alive) for d in sorted(runs_dir.iterdir(), reverse=True) if d.is_dir()]
    return [s for s in found if s is not None]



# ---- the replay -------------------------------------------------------------------------------------------------

def load_snapshots(run_dir: str | os.PathLike) -> tuple[list[int], list[np.ndarray], np.ndarray | None]:
    """(epochs, posterior means per epoch (N, D), labels) of the fixed test subset; skips unreadable files."""
    folder = Path(run_dir) / "latents"
    try:
        labels = np.load(folder / "labels.npy", allow_pickle=False)
    except (OSError, ValueError):
        return [], [], None
    epochs, frames = [], []
    for path in sorted(folder.glob("epoch_*.npy")):
        mu = _read_frame(path, labels)
        if mu is not None:
            epochs.append(int(path.stem.split("_")[1]))
            frames.append(mu)
    return epochs, frames, labels


def _read_frame(path: Path, labels: np.ndarray) -> np.ndarray | None:
    """One epoch's posterior means (N, D), or None when unreadable or not one finite row per label (a frame being
    written by a killed process, a disk that filled)."""
    try:
        mu = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    return mu if mu.ndim == 2 and len(mu) == len(labels) and np.isfinite(mu).all() else None


def project_frames(frames: list[np.ndarray]) -> list[np.ndarray]:
    """2-D views of every epoch in ONE coordinate system, so the replay shows the map moving, not the axes.

    D = 2: the latent plane itself. D > 2: the two principal directions of the last epoch, applied to all epochs.
    """
    if not frames:
        return []
    if frames[-1].shape[1] == 2:
        return [f.astype(np.float32) for f in frames]
    from sklearn.decomposition import PCA
    pca = PCA(n_components=2, random_state=0).fit(frames[-1])
    return [pca.transform(f).astype(np.float32) for f in frames]


def load_latest_snapshot(run_dir: str | os.PathLike) -> tuple[int, np.ndarray, np.ndarray] | None:
    """(epoch, posterior means (N, D), labels) of the newest readable snapshot, or None (for the live map)."""
    folder = Path(run_dir) / "latents"
    try:
        labels = np.load(folder / "labels.npy", allow_pickle=False)
    except (OSError, ValueError):
        return None
    for path in sorted(folder.glob("epoch_*.npy"), reverse=True):
        mu = _read_frame(path, labels)
        if mu is not None:
            return int(path.stem.split("_")[1]), mu, labels
    return None

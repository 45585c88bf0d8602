"""Background training runs: one folder and one `python -m vae train` process per run (no Streamlit in here).

A run lives in `<runs dir>/<run id>/`:
    run.json                what was asked: the configs, the name, which split, the pid and command of the process
    progress.json           what the process reports, rewritten atomically every few steps: state, epoch, history
    checkpoint.pt           the last completed epoch (vae.train writes it atomically)
    latents/labels.npy      the labels of a fixed test subset, and before training and after every epoch
    latents/epoch_0001.npy  the posterior means of that subset: the frames of the replay (epoch_0000: untrained)
    stop                    present = "please stop at the next step" (the last completed epoch stays saved)
    log.txt                 the process's own output

The training runs in its own process, started with lower priority and one thread, so the app stays responsive
and other users are not slowed. It also outlives the app: after a server restart the page finds it again by pid,
and when it died with the server, `resume_run` continues from the last completed epoch.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

from .atomic import write_atomic
from .config import ModelConfig, TrainConfig, config_from_dict, config_to_dict
from .data import DATASET_CLASSES, data_root

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT_SIZE = 1000  # test digits whose latent positions are stored every epoch (the live map and the replay)
DEMO_SUFFIX = " [demo: trained on the test split]"
FINAL_STATES = ("finished", "stopped", "failed")
NICE = 10  # lower priority: a class's interactive sessions come first
AUTOGROUP_ENV = "VAE_AUTOGROUP_NICE"  # set for the training process the app starts; see lower_autogroup_priority
_children: dict[int, subprocess.Popen] = {}  # processes this app started, so they can be reaped (no zombies)


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


# ---- the data question -------------------------------------------------------------------------------------------

def training_data_folder(dataset: str = "mnist", root: str | os.PathLike | None = None) -> Path:
    """Where torchvision looks for (and downloads) the dataset's files: <data root>/<Class>/raw."""
    return (data_root(root) / DATASET_CLASSES[dataset] / "raw").resolve()


def training_data_present(dataset: str = "mnist", root: str | os.PathLike | None = None) -> bool:
    """A cheap check (no loading, no network): are the training images and labels on disk?"""
    raw = training_data_folder(dataset, root)
    return all((raw / name).is_file() or (raw / (name + ".gz")).is_file()
               for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"))


# ---- what the training process writes ----------------------------------------------------------------------------

class ProgressReporter:
    """The callback `python -m vae train --run-dir DIR` hands to vae.train.

    Every call rewrites progress.json (atomically); after each epoch it also stores the latent positions of the
    fixed test subset. Returns True (= stop) once the `stop` file appears. Writing progress is best effort: a full
    disk must not kill a run whose checkpoint could still be saved (a failing checkpoint save is reported by
    `finish("failed", ...)`).
    """

    def __init__(self, run_dir: str | os.PathLike):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.snapshot_x: torch.Tensor | None = None
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

    def set_snapshot(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        """The fixed test subset whose latent map is stored every epoch: (N, 28, 28) uint8 and (N,) labels."""
        self.snapshot_x = images.reshape(len(images), -1).float().div(255.0)
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

    @torch.no_grad()
    def _snapshot(self, model, epoch: int) -> None:
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        mu, _ = model.encode(self.snapshot_x.to(device))
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


# ---- what the app does ------------------------------------------------------------------------------------------

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


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "run"


def new_run_id(name: str) -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + _slug(name)


def train_command(run_dir: Path, model_cfg: ModelConfig, train_cfg: TrainConfig, name: str, *, demo: bool,
                  data_dir: str | os.PathLike | None = None, resume: bool = False) -> list[str]:
    """The `python -m vae train` command line for a run: every config field as its flag, so the log shows a
    command a student can copy and run in a terminal."""
    cmd = [sys.executable, "-m", "vae", "train"]
    for cfg in (model_cfg, train_cfg):
        for f in fields(cfg):
            if f.name == "image_size":
                continue
            value = getattr(cfg, f.name)
            if value is None:  # an optional field left unset (beta_range): its flag's default
                continue
            value = ",".join(str(v) for v in value) if isinstance(value, tuple) else str(value)
            cmd += ["--" + f.name.replace("_", "-"), value]
    ck = str((run_dir / "checkpoint.pt").resolve())
    cmd += ["--out", ck, "--run-dir", str(run_dir.resolve()), "--name", name]
    if demo:
        cmd += ["--train-split", "test"]
    if data_dir:
        cmd += ["--data-dir", str(data_dir)]
    if resume:
        cmd += ["--resume", ck]
    return cmd


def lower_autogroup_priority() -> None:
    """Make `nice` count against the server, on Linux with autogroup scheduling.

    The app starts training in a new session (so it survives a server restart), and Linux then puts it in its own
    autogroup, which gets as much CPU as the server's whole group whatever the process's nice value. Setting the
    group's own nice value gives the server the priority `nice` was meant to. Called by `python -m vae train` when
    the app set AUTOGROUP_ENV; only then, because in a terminal the autogroup is the terminal's session.
    Best effort: no such file (other systems, autogroup off) changes nothing.
    """
    value = os.environ.get(AUTOGROUP_ENV)
    if not value:
        return
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write(value)
    except OSError:
        pass


def _launch(run_dir: Path, cmd: list[str]) -> int:
    """Start the training process: lower priority, one thread, its own session (it survives a server restart)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1",
           AUTOGROUP_ENV: str(NICE),
           "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    nice = shutil.which("nice")  # a prefix, not preexec_fn: preexec_fn is unsafe in a threaded server
    full = ([nice, "-n", str(NICE)] if nice else []) + cmd
    with open(run_dir / "log.txt", "ab") as log:
        proc = subprocess.Popen(full, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True, close_fds=True)
    _children[proc.pid] = proc
    return proc.pid


def start_run(runs_dir: str | os.PathLike, model_cfg: ModelConfig, train_cfg: TrainConfig, name: str, *,
              demo: bool = False, data_dir: str | os.PathLike | None = None) -> Path:
    """Create a run folder and start training in the background. Returns the run folder.

    demo=True trains on the bundled test split (for when the training split is missing); the name says so.
    Raises OSError when the folder cannot be created (disk full, no permission).
    """
    train_cfg = TrainConfig(**{**config_to_dict(train_cfg), "threads": 1})  # one core: the class keeps the other
    if demo and not name.endswith(DEMO_SUFFIX):
        name += DEMO_SUFFIX
    run_dir = Path(runs_dir) / new_run_id(name)
    while run_dir.exists():  # two starts in the same second
        run_dir = run_dir.with_name(run_dir.name + "-b")
    run_dir.mkdir(parents=True)
    cmd = train_command(run_dir, model_cfg, train_cfg, name, demo=demo, data_dir=data_dir)
    info = {"name": name, "demo": demo, "model_config": config_to_dict(model_cfg),
            "train_config": config_to_dict(train_cfg), "data_dir": str(data_dir) if data_dir else None,
            "created_at": time.time(), "command": cmd}
    write_json_atomic(run_dir / "run.json", info)
    info["pid"] = _launch(run_dir, cmd)
    write_json_atomic(run_dir / "run.json", info)
    return run_dir


def resume_run(run_dir: str | os.PathLike) -> int:
    """Continue a stopped, failed or interrupted run from its last completed epoch. Returns the new pid."""
    run_dir = Path(run_dir)
    info = read_json(run_dir / "run.json")
    if info is None:
        raise FileNotFoundError(f"{run_dir} is not a training run (no run.json)")
    if not (run_dir / "checkpoint.pt").is_file():
        raise FileNotFoundError("This run has no saved epoch to resume from; start a new run instead.")
    (run_dir / "stop").unlink(missing_ok=True)
    cmd = train_command(run_dir, config_from_dict(ModelConfig, info["model_config"]),
                        config_from_dict(TrainConfig, info["train_config"]), info["name"], demo=info.get("demo"),
                        data_dir=info.get("data_dir"), resume=True)
    info.update(pid=_launch(run_dir, cmd), command=cmd)
    write_json_atomic(run_dir / "run.json", info)
    return info["pid"]


def request_stop(run_dir: str | os.PathLike) -> None:
    """Ask the process to stop at its next progress report; the last completed epoch's checkpoint stays."""
    (Path(run_dir) / "stop").touch()


def process_alive(pid: int | None, run_dir: Path | None = None) -> bool:
    """Is this pid a live (not zombie) process, and, where /proc tells, still our training of this run?"""
    if not pid:
        return False
    proc = _children.get(pid)
    if proc is not None:
        return proc.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, belongs to someone else
    stat, cmdline = Path(f"/proc/{pid}/stat"), Path(f"/proc/{pid}/cmdline")
    try:
        if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
        if run_dir is not None and str(run_dir.resolve()) not in cmdline.read_bytes().decode(errors="replace"):
            return False  # the pid was reused by another program
    except (OSError, IndexError):
        pass
    return True


def read_status(run_dir: str | os.PathLike) -> RunStatus | None:
    """The state of a run from its files and its process. None when the folder is not a run."""
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


def _log_tail(run_dir: Path, lines: int = 3) -> str:
    try:
        text = (run_dir / "log.txt").read_text(errors="replace").replace("\r", "\n")
    except OSError:
        return ""
    tail = [ln for ln in text.splitlines() if ln.strip()][-lines:]
    return "Last output: " + " / ".join(tail) if tail else ""


def list_runs(runs_dir: str | os.PathLike) -> list[RunStatus]:
    """All runs in the folder, newest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    found = [read_status(d) for d in sorted(runs_dir.iterdir(), reverse=True) if d.is_dir()]
    return [s for s in found if s is not None]


def active_runs(runs_dir: str | os.PathLike) -> list[RunStatus]:
    return [s for s in list_runs(runs_dir) if s.active]


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
        try:
            mu = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            continue
        if mu.ndim == 2 and len(mu) == len(labels) and np.isfinite(mu).all():
            epochs.append(int(path.stem.split("_")[1]))
            frames.append(mu)
    return epochs, frames, labels


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
        try:
            mu = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            continue
        if mu.ndim == 2 and len(mu) == len(labels) and np.isfinite(mu).all():
            return int(path.stem.split("_")[1]), mu, labels
    return None

"""The app's training processes: starting `python -m vae train` for a run, and telling whether a run's process lives.

vae.runs owns the run's folder and what the process writes into it; this module owns the process: its command line,
its environment (one thread, PYTHONPATH to this project, AUTOGROUP_ENV), its lower priority (`nice`), its own session
(so it outlives a server restart), reaping it (no zombies), and the pid checks that read_status needs. It is on the
app's side because only the app starts training in the background; in a terminal `python -m vae train` is the
process. No Streamlit and no torch in here: the Train page shows runs through it without importing torch.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import fields
from pathlib import Path

from vae import runs
from vae.config import ModelConfig, TrainConfig, config_from_dict, config_to_dict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_SUFFIX = " [demo: trained on the test split]"
NICE = 10  # lower priority: a class's interactive sessions come first
_children: dict[int, subprocess.Popen] = {}  # processes this app started, so they can be reaped (no zombies)


def _host_id() -> str:
    """This machine, as run.json records it: the host name and the kernel's boot id (containers on two machines may
    share a host name; a boot id is unique per machine and boot)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    return f"{socket.gethostname()}/{boot}" if boot else socket.gethostname()


HOST = _host_id()  # recorded in run.json: only this host can look the run's pid up
# A run started on another host (serve.py's replicas sharing runs/ over NFS) counts as alive while its progress.json
# or its run.json changed this recently: the process rewrites progress.json every few steps, the starting host
# writes run.json as it launches the process (before the process, still importing torch, reports anything), and
# another host's pids cannot be looked up.
REMOTE_SILENCE_S = 120.0


class RunLimitReached(Exception):
    """A run is already training (in any process that shares the runs folder)."""

    def __init__(self, busy: runs.RunStatus):
        super().__init__(f"{busy.name} is still training")
        self.busy = busy


# ---- starting a run ----------------------------------------------------------------------------------------------

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


def _launch(run_dir: Path, cmd: list[str]) -> int:
    """Start the training process: lower priority, one thread, its own session (it survives a server restart)."""
    # PYTHONPATH: `-m vae` must find this project's vae wherever the server was started (e2e tests: a scratch folder).
    # AUTOGROUP_ENV asks the process to lower its own autogroup too (vae.runs.lower_autogroup_priority says why).
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1",
           runs.AUTOGROUP_ENV: str(NICE),
           "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    nice = shutil.which("nice")  # a prefix, not preexec_fn: preexec_fn is unsafe in a threaded server
    full = ([nice, "-n", str(NICE)] if nice else []) + cmd
    with open(run_dir / "log.txt", "ab") as log:
        proc = subprocess.Popen(full, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True, close_fds=True)
    _children[proc.pid] = proc
    return proc.pid


def start_run(runs_dir: str | os.PathLike, model_cfg: ModelConfig, train_cfg: TrainConfig, name: str, *,
              demo: bool = False, data_dir: str | os.PathLike | None = None, max_active: int | None = None) -> Path:
    """Create a run folder and start training in the background. Returns the run folder.

    demo=True trains on the bundled test split (for when the training split is missing); the name says so.
    max_active: raise RunLimitReached when that many runs already train; checked and started under the runs folder's
    lock (vae.runs.start_lock), so two servers sharing the folder cannot both start one.
    Raises OSError when the folder cannot be created (disk full, no permission), TimeoutError when the lock is stuck.
    """
    with runs.start_lock(runs_dir):
        _check_limit(runs_dir, max_active)
        return _start_run(Path(runs_dir), model_cfg, train_cfg, name, demo=demo, data_dir=data_dir)


def _check_limit(runs_dir: str | os.PathLike, max_active: int | None) -> None:
    if max_active is not None:
        busy = active_runs(runs_dir)
        if len(busy) >= max_active:
            raise RunLimitReached(busy[0])


def _start_run(runs_dir: Path, model_cfg: ModelConfig, train_cfg: TrainConfig, name: str, *, demo: bool,
               data_dir: str | os.PathLike | None) -> Path:
    train_cfg = TrainConfig(**{**config_to_dict(train_cfg), "threads": 1})  # one core: the class keeps the other
    if demo and not name.endswith(DEMO_SUFFIX):
        name += DEMO_SUFFIX
    run_dir = Path(runs_dir) / runs.new_run_id(name)
    while run_dir.exists():  # two starts in the same second
        run_dir = run_dir.with_name(run_dir.name + "-b")
    run_dir.mkdir(parents=True)
    cmd = train_command(run_dir, model_cfg, train_cfg, name, demo=demo, data_dir=data_dir)
    info = {"name": name, "demo": demo, "model_config": config_to_dict(model_cfg),
            "train_config": config_to_dict(train_cfg), "data_dir": str(data_dir) if data_dir else None,
            "created_at": time.time(), "command": cmd, "host": HOST}
    runs.write_json_atomic(run_dir / "run.json", info)
    info["pid"] = _launch(run_dir, cmd)
    runs.write_json_atomic(run_dir / "run.json", info)
    return run_dir


def resume_run(run_dir: str | os.PathLike, max_active: int | None = None) -> int:
    """Continue a stopped, failed or interrupted run from its last completed epoch. Returns the new pid.
    max_active as in start_run."""
    run_dir = Path(run_dir)
    with runs.start_lock(run_dir.parent):
        _check_limit(run_dir.parent, max_active)
        return _resume_run(run_dir)


def _resume_run(run_dir: Path) -> int:
    info = runs.read_json(run_dir / "run.json")
    if info is None:
        raise FileNotFoundError(f"{run_dir} is not a training run (no run.json)")
    if not (run_dir / "checkpoint.pt").is_file():
        raise FileNotFoundError("This run has no saved epoch to resume from; start a new run instead.")
    (run_dir / "stop").unlink(missing_ok=True)
    cmd = train_command(run_dir, config_from_dict(ModelConfig, info["model_config"]),
                        config_from_dict(TrainConfig, info["train_config"]), info["name"], demo=info.get("demo"),
                        data_dir=info.get("data_dir"), resume=True)
    info.update(pid=_launch(run_dir, cmd), command=cmd, host=HOST)
    runs.write_json_atomic(run_dir / "run.json", info)
    return info["pid"]


# ---- watching it -------------------------------------------------------------------------------------------------

def process_alive(pid: int | None, run_dir: Path | None = None) -> bool:
    """Is this pid a live (not zombie) process, and, where /proc tells, still our training of this run?"""
    if not pid:
        return False
    if run_dir is not None:
        host = (runs.read_json(run_dir / "run.json") or {}).get("host")
        if host and host != HOST:
            return any(_changed_within(run_dir / f, REMOTE_SILENCE_S) for f in ("progress.json", "run.json"))
    proc = _children.get(pid)
    if proc is not None:
        return proc.poll() is None  # poll() also reaps it once it has exited
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


def _changed_within(path: Path, seconds: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime < seconds
    except OSError:
        return False


def read_status(run_dir: str | os.PathLike) -> runs.RunStatus | None:
    """A run's state as the app sees it: its files, and whether its process lives. None when it is not a run."""
    return runs.read_status(run_dir, process_alive)


def list_runs(runs_dir: str | os.PathLike) -> list[runs.RunStatus]:
    """All runs in the folder, newest first."""
    return runs.list_runs(runs_dir, process_alive)


def active_runs(runs_dir: str | os.PathLike) -> list[runs.RunStatus]:
    return [s for s in list_runs(runs_dir) if s.active]

"""Checkpoints: one file holding everything needed to rebuild, evaluate and resume a model.

Loading never executes code: torch.load(..., weights_only=True) only rebuilds tensors and plain containers,
and the structure is validated before a model is built from it.
"""
from __future__ import annotations

import hashlib
import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .atomic import write_atomic
from .config import ModelConfig, TrainConfig, config_from_dict, config_to_dict
from .model import VAE

FORMAT = "vae-explorer-checkpoint"
FORMAT_VERSION = 1
# torch.load accepts deflate-compressed zip entries: a 20 MB upload of zeros could unpack to ~16 GB. The largest
# model this project trains is a few MB (with optimizer state ~3x that), so refuse anything that unpacks past this.
MAX_UNPACKED_BYTES = 256 * 2**20


class CheckpointError(ValueError):
    """The file is not a usable checkpoint of this project. The message says why, in plain words."""


class SaveError(OSError):
    """A checkpoint could not be written; the previous file at that path is untouched."""


@dataclass
class Checkpoint:
    model: VAE  # in eval mode, on the CPU
    model_config: ModelConfig
    train_config: TrainConfig
    history: list[dict] = field(default_factory=list)  # one entry per completed epoch
    metrics: dict = field(default_factory=dict)  # final test metrics
    dataset: str = "mnist"
    epoch: int = 0  # completed epochs
    name: str = ""  # friendly name, e.g. "2-D · β = 1 (default)"
    sha256: str = ""  # content hash of the file: the key of everything derived from it (vae.store)
    resume_state: dict = field(default_factory=dict)  # optimizer and RNG state, for resuming
    half: bool = False  # weights were stored as float16


def save_checkpoint(path: str | os.PathLike, model: VAE, train_config: TrainConfig, *, history=(), metrics=None,
                    dataset: str = "mnist", epoch: int = 0, name: str = "", resume_state: dict | None = None,
                    half: bool = False) -> Path:
    """Write a checkpoint atomically: to a temporary file in the same folder, fsync, then rename over `path`.

    A crash or a full disk mid-write leaves the previous checkpoint intact. half=True stores weights as float16
    (the bundled models do, to stay small). Raises SaveError with a readable message when the write fails.
    """
    path = Path(path)
    state = {k: (v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu().clone())
             for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "model_config": config_to_dict(model.cfg), "train_config": config_to_dict(train_config),
        "state_dict": state, "history": list(history), "metrics": dict(metrics or {}),
        "dataset": dataset, "epoch": int(epoch), "name": name, "resume_state": resume_state or {},
    }
    try:
        write_atomic(path, lambda f: torch.save(payload, f), fsync=True)
    except OSError as exc:
        raise SaveError(f"Could not save the checkpoint to {path}: {exc.strerror or exc}. "
                        f"The previous checkpoint there (if any) is unchanged.") from exc
    return path


def _read(source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if hasattr(source, "read"):
        return source.read()
    try:
        return Path(source).read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"No checkpoint file at {source}.") from None
    except OSError as exc:
        raise CheckpointError(f"Could not read {source}: {exc.strerror or exc}.") from None


def _check_unpacked_size(data: bytes) -> None:
    """Refuse a zip (torch's file format) whose entries unpack to more than MAX_UNPACKED_BYTES: a zip bomb."""
    if not data.startswith(b"PK"):
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            unpacked = sum(info.file_size for info in z.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a readable zip: torch.load reports it below
    if unpacked > MAX_UNPACKED_BYTES:
        raise CheckpointError(f"The file unpacks to {unpacked / 2**20:,.0f} MB, more than the "
                              f"{MAX_UNPACKED_BYTES // 2**20} MB limit for a checkpoint; it was not opened.")


def load_checkpoint(source, *, sha256: str | None = None) -> Checkpoint:
    """Load and validate a checkpoint from a path, bytes or a binary file object.

    sha256: the hash of these very bytes when the caller has it already (vae.store hashes each file version once
    and passes it here), else computed.

    Raises CheckpointError for anything that is not a valid checkpoint of this project: empty, truncated, corrupt,
    a hostile pickle (refused by weights_only, never executed), a foreign state dict, another format version,
    wrong shapes or non-finite weights.
    """
    data = _read(source)
    if not data:
        raise CheckpointError("The file is empty: it is not a checkpoint.")
    _check_unpacked_size(data)
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError (hostile or foreign objects), zip/EOF errors (truncated, random)
        text = str(exc)
        if "Unsupported global" in text:  # a class or function reference: what code-running pickles use
            raise CheckpointError("The file contains Python objects other than weights; it was refused "
                                  "without running anything. Only checkpoints written by this project load.") from None
        raise CheckpointError("The file is not a readable checkpoint (corrupt, truncated or another format).") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        if isinstance(payload, dict) and payload and all(isinstance(v, torch.Tensor) for v in payload.values()):
            raise CheckpointError("This is a bare PyTorch state dict, not a checkpoint of this project: it lacks "
                                  "the model configuration needed to rebuild the network.")
        raise CheckpointError("This file is not a checkpoint of this project.")
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"Checkpoint format version {version!r} is not supported (this app reads version "
                              f"{FORMAT_VERSION}).")
    try:
        model_cfg = config_from_dict(ModelConfig, dict(payload["model_config"]))
        train_cfg = config_from_dict(TrainConfig, dict(payload.get("train_config") or {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"The checkpoint's configuration is invalid: {exc}.") from None
    state = payload.get("state_dict")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError("The checkpoint has no valid weights.")
    try:
        with torch.device("meta"):  # shapes only: a config declaring billions of weights must not allocate them
            expected = VAE(model_cfg).state_dict()
    except Exception as exc:
        raise CheckpointError(f"The checkpoint's configuration cannot be built: {exc}.") from None
    if set(state) != set(expected):
        raise CheckpointError("The weights do not match the model described in the checkpoint (different layers).")
    for k, v in state.items():
        if v.shape != expected[k].shape:
            raise CheckpointError(f"The weights do not match the model described in the checkpoint: {k} has shape "
                                  f"{tuple(v.shape)}, expected {tuple(expected[k].shape)}.")
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise CheckpointError(f"The checkpoint's weights contain NaN or infinite values ({k}); the training "
                                  "run that wrote it diverged.")
    model = VAE(model_cfg)  # its size is now that of the weights actually in the file
    model.load_state_dict({k: v.float() for k, v in state.items()})
    model.eval()
    history = payload.get("history") or []
    metrics = payload.get("metrics") or {}
    if not isinstance(history, list) or not isinstance(metrics, dict):
        raise CheckpointError("The checkpoint's history or metrics are malformed.")
    try:
        epoch = int(payload.get("epoch", 0))
    except (TypeError, ValueError):
        raise CheckpointError("The checkpoint's epoch count is not a number.") from None
    return Checkpoint(model=model, model_config=model_cfg, train_config=train_cfg, history=history,
                      metrics=metrics, dataset=str(payload.get("dataset", "mnist")),
                      epoch=epoch, name=str(payload.get("name", "")),
                      sha256=sha256 or hashlib.sha256(data).hexdigest(), resume_state=payload.get("resume_state") or {},
                      half=any(v.dtype == torch.float16 for v in state.values()))


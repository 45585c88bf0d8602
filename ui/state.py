"""Session state, cached resources and the shared sidebar. Every page calls `init_state()` first, so any page
works when it is the first one opened."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

import vae
from vae import bundled

RUNS_DIR = Path("runs") / "app"  # the user's own training runs: runs/app/<run id>/checkpoint.pt
DATASETS = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "kmnist": "KMNIST"}


@dataclass(frozen=True)
class ModelChoice:
    label: str  # what the picker shows
    path: str  # checkpoint file
    dataset: str = "mnist"
    bundled: bool = True


def init_state() -> None:
    """Defaults for the state every page reads. setdefault, so values set by another page or a lesson survive."""
    st.session_state.setdefault("model_path", str(bundled.DEFAULT.path))
    st.session_state.setdefault("dataset", "mnist")
    st.session_state.setdefault("large_type", False)


def model_choices(dataset: str | None = None) -> list[ModelChoice]:
    """Bundled models, then the user's finished or stopped runs (newest first)."""
    choices = [ModelChoice(m.name, str(m.path)) for m in bundled.available()]
    for ck_path in sorted(RUNS_DIR.glob("*/checkpoint.pt"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            ck = load_model(str(ck_path), ck_path.stat().st_mtime)
        except vae.CheckpointError:
            continue
        label = f"Your run: {ck.name or ck_path.parent.name} ({ck.epoch} epochs)"
        choices.append(ModelChoice(label, str(ck_path), ck.dataset, bundled=False))
    return [c for c in choices if dataset is None or c.dataset == dataset]


@st.cache_resource(max_entries=32, show_spinner=False)
def load_model(path: str, mtime: float) -> vae.Checkpoint:
    """One shared, read-only copy per checkpoint file version (mtime is part of the key so retrains show up)."""
    return vae.load_checkpoint(path)


def current_checkpoint() -> vae.Checkpoint:
    """The checkpoint picked in the sidebar (falls back to the default model if the file vanished)."""
    path = Path(st.session_state["model_path"])
    if not path.is_file():
        path = bundled.DEFAULT.path
        st.session_state["model_path"] = str(path)
    return load_model(str(path), path.stat().st_mtime)


@st.cache_resource(show_spinner="Loading the test set…")
def test_split(dataset: str = "mnist") -> vae.Split:
    """The test split (the bundled MNIST copy offline). Shared by all sessions; never mutate it."""
    return vae.load_split(dataset, train=False)


def sidebar() -> None:
    """The model picker and dataset, shared by every page (drawn by app.py)."""
    init_state()
    with st.sidebar:
        dataset = st.selectbox("Dataset", list(DATASETS), format_func=DATASETS.get, key="dataset")
        choices = model_choices(dataset)
        if not choices:
            st.info(f"No model trained on {DATASETS[dataset]} yet: train one on the Train page.")
            return
        paths = [c.path for c in choices]
        if st.session_state["model_path"] not in paths:
            st.session_state["model_path"] = paths[0]
        labels = {c.path: c.label for c in choices}
        st.selectbox("Model", paths, format_func=labels.get, key="model_path")
        st.toggle("Large type (projector)", key="large_type")

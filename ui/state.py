"""Session state, cached resources and the shared sidebar. Every page calls `init_state()` first, so any page
works when it is the first one opened."""
from __future__ import annotations

import atexit
import gc
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

import vae
from ui import keys
from vae import bundled, runs, store
from vae.atomic import write_atomic
from vae.data import DATASETS, load_test_arrays, load_test_labels

MODEL_LABEL_FITS = 26  # characters of a model's label the sidebar's picker shows whole (more are cut with "…")
# The user's own training runs: runs/app/<run id>/checkpoint.pt, or $VAE_RUNS_DIR/<run id>/: serve.py points every
# replica at one shared folder, so a class sees one training run whichever replica serves each student.
RUNS_DIR = Path(os.environ.get("VAE_RUNS_DIR") or Path("runs") / "app")
UPLOAD_PREFIX = "uploaded-"  # uploaded checkpoints: runs/app/uploaded-<sha256[:12]>/checkpoint.pt
# Every uploaded checkpoint joins everyone's model picker, and the picker loads each listed file (cached, 32 entries):
# keep only the newest few uploads so a class uploading freely cannot crowd out the cache or fill the disk.
# (Size per upload: server.maxUploadSize in .streamlit/config.toml; one file per upload.)
MAX_UPLOADED_CHECKPOINTS = 12
WARM_UP_DELAY_S = 5.0  # after the first page is drawn, before torch is imported in the background (warm_up_torch)


@dataclass(frozen=True)
class ModelChoice:
    label: str  # what the picker shows
    path: str  # checkpoint file
    dataset: str = "mnist"
    bundled: bool = True


def one_blas_thread() -> None:
    """NumPy's BLAS on one thread (called once per server process, by warm_up_torch). The server's matrix products
    are tiny (one z through the decoder on every pad release) and run in many sessions at once: a second BLAS thread
    only waits for a core (the other one serves the next session or trains), and OpenBLAS's idle threads spin.
    Not on the first page's path: threadpoolctl's look at the loaded libraries took ~0.1 s of its cold start."""
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    threadpool_limits(limits=1, user_api="blas")


def init_state() -> None:
    """Defaults for the state every page reads. Only where unset, so values set by another page or a lesson survive."""
    if keys.MODEL_PATH not in st.session_state:
        select_model(bundled.DEFAULT.path)
    st.session_state.setdefault(keys.DATASET, "mnist")
    st.session_state.setdefault(keys.LARGE_TYPE, False)


def select_model(path: str | Path, dataset: str | None = None) -> None:
    """Select the model every page shows: the one place that writes keys.MODEL_PATH (with its dataset, when the
    caller knows it: the sidebar then writes the same from the picked model). The sidebar's picker is the widget
    keyed keys.MODEL_PATH: a write must come before it is drawn in a run (a widget callback, or before router.py
    draws the sidebar).
    (follow_lesson_switch and resend_if_relabelled save the sidebar's value again as it is: no new selection.)"""
    if dataset is not None:
        st.session_state[keys.DATASET] = dataset
    st.session_state[keys.MODEL_PATH] = str(path)


def model_summary(name: str, model_cfg: vae.ModelConfig, train_cfg: vae.TrainConfig) -> str:
    """"<name> (MLP, 2-D latent, β = 1)" for a page's caption; the β left out where the name says it already (the
    bundled models' names do)."""
    beta = "" if "β" in name else f", β = {train_cfg.beta:g}"
    return f"{name} ({model_cfg.arch.upper()}, {model_cfg.latent_dim}-D latent{beta})"


def model_label(choice: ModelChoice) -> str:
    """What a model picker shows: the choice's label, with its dataset named unless it is MNIST."""
    if choice.dataset == "mnist":
        return choice.label
    return f"{choice.label} · {DATASETS.get(choice.dataset, choice.dataset)}"


def keep_widget_values(*names: str) -> None:
    """Keep the values of widgets this run does not draw (a closed expander's or tab's, the sidebar's across a page
    switch the script makes): Streamlit forgets those. Saved again as plain state, each stays until its widget is
    drawn again and takes it. Only for widgets not drawn in this run."""
    for name in names:
        if name in st.session_state:
            st.session_state[name] = st.session_state[name]


def model_choices(dataset: str | None = None) -> list[ModelChoice]:
    """Bundled models, then the user's finished or stopped runs and uploads (newest first). Each is described by the
    JSON beside it (vae.runs.read_card), so listing them imports no torch: the sidebar is on the first page, whose
    cold start draws without torch. Only a folder put there by hand is asked through its checkpoint."""
    choices = [ModelChoice(m.name, str(m.path)) for m in bundled.available()]
    for ck_path in sorted(RUNS_DIR.glob("*/checkpoint.pt"), key=_mtime, reverse=True):
        folder = ck_path.parent
        stamp = tuple(_mtime(folder / name) for name in ("checkpoint.pt", runs.CARD_FILE, "run.json", "progress.json"))
        card = _read_card(str(folder), stamp) or _card_from_checkpoint(ck_path)
        if card is None or _unusable_here(card):  # e.g. a --beta-range model put there by hand
            continue
        kind = "Uploaded" if ck_path.parent.name.startswith(UPLOAD_PREFIX) else "Your run"
        label = f"{kind}: {card.name or ck_path.parent.name} ({card.epoch} epochs)"
        choices.append(ModelChoice(label, str(ck_path), card.dataset, bundled=False))
    return [c for c in choices if dataset is None or c.dataset == dataset]


@st.cache_data(max_entries=256, show_spinner=False)
def _read_card(folder: str, stamp: tuple[float, ...]) -> runs.CheckpointCard | None:
    """vae.runs.read_card, read again only when one of the folder's files changes (stamp: their mtimes): the
    sidebar asks on every run of every session."""
    return runs.read_card(folder)


def _card_from_checkpoint(ck_path: Path) -> runs.CheckpointCard | None:
    """A checkpoint without a card (put there by hand, or uploaded before cards existed): loaded with torch; an
    upload gets its card now, so the next server lists it without torch."""
    try:
        ck = load_model(str(ck_path), ck_path.stat().st_mtime)
    except (vae.CheckpointError, OSError):  # unreadable, or deleted since the glob (an old upload pruned)
        return None
    card = card_of(ck)
    if ck_path.parent.name.startswith(UPLOAD_PREFIX):
        try:
            runs.write_card(ck_path.parent, card)
        except OSError:
            pass  # a read-only folder only costs the torch import next time
    return card


def card_of(ck: vae.Checkpoint) -> runs.CheckpointCard:
    return runs.CheckpointCard(ck.name, ck.epoch, ck.dataset, ck.model_config)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@st.cache_resource(max_entries=32, show_spinner=False)
def load_model(path: str, mtime: float) -> vae.Checkpoint:
    """One shared, read-only copy per checkpoint file version (mtime is part of the key so retrains show up). The file
    is hashed once per version (vae.store), however many pages ask for its hash or its derived forms."""
    return store.load_checkpoint(path)


def current_model_file() -> tuple[str, float]:
    """(path, mtime) of the checkpoint picked in the sidebar (the default model if the file vanished): the key of
    every cached form of it."""
    path = Path(st.session_state[keys.MODEL_PATH])
    if not path.is_file():
        path = bundled.DEFAULT.path
        select_model(path)
    return str(path), path.stat().st_mtime


def current_checkpoint() -> vae.Checkpoint:
    """The checkpoint picked in the sidebar, loaded with torch (see ui.cache.current_numpy_model for the NumPy form)."""
    return load_model(*current_model_file())


@st.cache_resource(show_spinner=False)
def warm_up_torch() -> threading.Thread:
    """Import torch (and the modules of vae that use it) in a background thread, once per server process.

    The Explore page draws without torch so that it opens fast; every other page needs it, and importing it takes
    ~1.8 s, during which the interpreter serves no one else. Started after the first page is drawn, the import
    happens while the class is still looking at that page, not when the first student opens Reconstruct mid-lesson.
    (Measured: without it, that first import put 0.5 s on the p95 release latency of a 30-student burst.)
    """
    def work() -> None:
        # A few seconds' grace first: the browser that opened the first page is still drawing it (compiling
        # Plotly takes it ~2 s) on the same 2 cores; importing right away made that first render ~0.8 s slower.
        time.sleep(WARM_UP_DELAY_S)
        one_blas_thread()
        import vae.checkpoint  # noqa: F401  (torch, the model)
        import vae.metrics  # noqa: F401
        # Then take the ~240k objects of the imported libraries out of the garbage collector's view: Python's
        # occasional full collection walked them all, holding every session up (measured 108 ms -> under 1 ms).
        # They live as long as the server anyway; gc.freeze() only means they are never scanned again.
        gc.collect()
        gc.freeze()
        atexit.register(gc.unfreeze)  # let interpreter shutdown free them as usual (nanobind warns otherwise)
    thread = threading.Thread(target=work, name="warm-up-torch", daemon=True)
    thread.start()
    return thread


@st.cache_resource(show_spinner="Loading the test set…")
def test_split(dataset: str = "mnist") -> vae.Split:
    """The test split (the bundled MNIST copy offline). Shared by all sessions; never mutate it."""
    return vae.load_split(dataset, train=False)


@st.cache_resource(show_spinner="Loading the test set…")
def test_arrays(dataset: str = "mnist") -> tuple[np.ndarray, np.ndarray]:
    """The test split as NumPy (images uint8, labels), read without torch for MNIST. Shared; never mutate it."""
    return load_test_arrays(dataset)


@st.cache_resource(show_spinner="Loading the test set…")
def test_labels(dataset: str = "mnist") -> np.ndarray:
    """The test split's labels alone (MNIST: without reading the images; other datasets: those of test_arrays, read
    once for both). Shared; never mutate it."""
    return load_test_labels(dataset) if dataset == "mnist" else test_arrays(dataset)[1]


def sidebar() -> None:
    """The model picker, shared by every page (drawn by router.py). One list for every dataset, a model of another one
    than MNIST named with it: the model decides the dataset, and a separate Dataset select cost the first page a
    widget (~50 ms of its cold start) to say what the model already says."""
    init_state()
    with st.sidebar:
        choices = model_choices()
        if choices:
            paths = [c.path for c in choices]
            if st.session_state[keys.MODEL_PATH] not in paths:
                select_model(paths[0], choices[0].dataset)
            labels = {c.path: model_label(c) for c in choices}
            # a run's label changes ("(3 epochs)" -> "(5 epochs)") while its path stays
            resend_if_relabelled(keys.MODEL_PATH, labels[st.session_state[keys.MODEL_PATH]])
            st.selectbox("Model", paths, format_func=labels.get, key=keys.MODEL_PATH)
            shown = labels[st.session_state[keys.MODEL_PATH]]
            if len(shown) > MODEL_LABEL_FITS:  # the picker's one-line box cut it: "Your run: fast 2-D demo (10 epoc…"
                st.caption(shown)
            # the selected model's dataset, Train's default (the picker itself writes only the path)
            datasets = {c.path: c.dataset for c in choices}
            st.session_state[keys.DATASET] = datasets.get(st.session_state[keys.MODEL_PATH], "mnist")
        else:
            st.info("No model yet: train one on the Train page, or load one below.")
        checkpoint_uploader()
        st.toggle("Large type (projector)", key=keys.LARGE_TYPE)


def resend_if_relabelled(key: str, label: str) -> None:
    """Call just before drawing a keyed selectbox whose selected option's label can change while the value stays
    (a run that finished, a checkpoint with more epochs).

    A browser keeps showing the label a selectbox was drawn with until the server sets its value; new options under
    an unchanged value do not count. It would go on showing the old label, and send it back with the next
    interaction, where it matches no option and reaches the script as that str. Setting the value again (before
    the widget is drawn) makes Streamlit send the new label.
    """
    shown = keys.label_shown(key)
    if st.session_state.get(shown, label) != label and key in st.session_state:
        st.session_state[key] = st.session_state[key]
    st.session_state[shown] = label


# ---- uploaded checkpoints ---------------------------------------------------------------------------------------

def checkpoint_uploader() -> None:
    """'Load your own checkpoint': validated by vae.load_checkpoint (which never runs code from the file), kept
    under runs/app/uploaded-<hash>/ so it joins the model picker, and selected. Bad files get a plain st.error.

    In a lazy expander, closed until asked: every page draws the sidebar, and an uploader on the first page cost its
    cold start ~50 ms (the browser loads and renders the widget's code before it shows the page)."""
    box = st.expander("Load your own checkpoint", key=keys.CHECKPOINT_UPLOAD_OPEN, on_change=_on_uploader_toggle)
    if not box.open:
        return
    with box:
        _checkpoint_uploader()


def _on_uploader_toggle() -> None:
    """Closing the expander drops the uploaded file (its widget is not drawn): its message goes with it."""
    if not st.session_state.get(keys.CHECKPOINT_UPLOAD_OPEN):
        st.session_state.pop(keys.CHECKPOINT_UPLOAD_RESULT, None)


def _checkpoint_uploader() -> None:
    st.file_uploader("A .pt file", type=["pt", "pth"], key=keys.CHECKPOINT_UPLOAD,  # the expander says what for
                     on_change=_on_checkpoint_upload,
                     help="A checkpoint written by this app's Train page or by `python -m vae train`.")
    kind, message = st.session_state.get(keys.CHECKPOINT_UPLOAD_RESULT, (None, ""))
    if kind == "error":
        st.error(message)
    elif kind == "success":
        st.success(message)


def _on_checkpoint_upload() -> None:
    """Runs once per new file (a widget callback), before the script, so it may switch the model picker."""
    upload = st.session_state.get(keys.CHECKPOINT_UPLOAD)
    st.session_state.pop(keys.CHECKPOINT_UPLOAD_RESULT, None)
    if upload is None:
        return
    data = upload.getvalue()
    try:
        ck = vae.load_checkpoint(data)
    except vae.CheckpointError as exc:
        st.session_state[keys.CHECKPOINT_UPLOAD_RESULT] = ("error", f"{upload.name} was not loaded. {exc}")
        return
    problem = _unusable_here(ck)
    if problem:
        st.session_state[keys.CHECKPOINT_UPLOAD_RESULT] = ("error", f"{upload.name} was not loaded. {problem}")
        return
    try:
        path = save_uploaded_checkpoint(data, ck.sha256, card_of(ck))
    except OSError as exc:
        st.session_state[keys.CHECKPOINT_UPLOAD_RESULT] = (
            "error", f"{upload.name} is a valid checkpoint but could not be kept on the server: "
                     f"{exc.strerror or exc}.")
        return
    select_model(path, ck.dataset)
    st.session_state[keys.CHECKPOINT_UPLOAD_RESULT] = (
        "success", f"Loaded {upload.name}: {ck.name or 'unnamed model'}, {ck.model_config.latent_dim}-D latent, "
                   f"{ck.epoch} epochs, {DATASETS[ck.dataset]}. It is now selected above.")


def _unusable_here(ck: vae.Checkpoint | runs.CheckpointCard) -> str:
    """A valid checkpoint this app still cannot show: the pages draw 28 x 28 digits of the three datasets."""
    if ck.dataset not in DATASETS:
        return (f"It was trained on {ck.dataset!r}; this app works with "
                f"{', '.join(DATASETS.values())}.")
    if ck.model_config.beta_range is not None:
        return ("It is one model for a range of β (trained with --beta-range); these pages show models trained "
                "for one β. The KL lab's β dial shows the bundled one.")
    if ck.model_config.image_size != 28:
        size = ck.model_config.image_size
        return f"It works on {size} × {size} images; this app shows 28 × 28 digits."
    return ""


def save_uploaded_checkpoint(data: bytes, sha256: str, card: runs.CheckpointCard | None = None) -> Path:
    """Keep an uploaded (already validated) checkpoint as runs/app/uploaded-<sha256[:12]>/checkpoint.pt, written
    atomically (a reader never sees half a file), its card beside it (written first: the picker reads it); the same
    file uploaded twice is stored once."""
    folder = RUNS_DIR / f"{UPLOAD_PREFIX}{sha256[:12]}"
    path = folder / "checkpoint.pt"
    if path.is_file():
        os.utime(path)  # counts as fresh for the pruning below
        return path
    if card is not None:
        folder.mkdir(parents=True, exist_ok=True)
        runs.write_card(folder, card)
    write_atomic(path, lambda f: f.write(data), fsync=True)
    _prune_uploads(keep=path)
    return path


def _prune_uploads(keep: Path) -> None:
    """Delete the oldest uploaded checkpoints beyond MAX_UPLOADED_CHECKPOINTS (a session using one falls back to the
    default model, see current_checkpoint)."""
    uploads = sorted((p for p in RUNS_DIR.glob(f"{UPLOAD_PREFIX}*/checkpoint.pt") if p != keep), key=_mtime,
                     reverse=True)
    for old in uploads[MAX_UPLOADED_CHECKPOINTS - 1:]:
        shutil.rmtree(old.parent, ignore_errors=True)

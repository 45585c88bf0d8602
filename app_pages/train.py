"""Train a VAE: pick a recipe, train it in the background, watch the losses and the latent map change every
epoch, then replay the map's evolution. The training itself is a separate `python -m vae train` process
(ui.supervisor starts it, vae.runs reads its folder), so this page only starts, polls and stops it."""
from __future__ import annotations

import json
import os
import shlex
from dataclasses import replace

import streamlit as st

import vae
from ui import keys, pages, state, supervisor
from ui.claims import training_story
from ui.lessons import lesson_box
from ui.plots import chart, latent_scatter_figure
from ui.training import LARGE_TYPE_GAP, format_seconds, loss_curves_figure, loss_curves_summary, replay_figure
from vae import runs
from vae.data import training_data_folder, training_data_present
from vae.latent import project_2d

POLL_SECONDS = 1.0  # how often the run panel redraws itself while a run trains
POLL_TRANSITION_SECONDS = 0.5  # ... and while it starts or stops: the change the user is waiting for shows sooner
REPLAY_STEP_SECONDS = 0.7  # the replay's pace while playing: one epoch per step
MAX_ACTIVE_RUNS = int(os.environ.get("VAE_MAX_TRAINING_RUNS", "1"))  # 2 cores: one run at a time by default
# Short enough for the select at 1440 px and on a phone (the demo's closing bracket was cut); what each recipe is
# goes in the caption below it. The text before " (" is the run's default name.
PRESET_LABELS = {
    "fast-2d": "fast 2-D demo",
    "classic-mlp": "classic tutorial MLP (784-128-100)",
    "beta-vae-4": "β-VAE, β = 4",
    "conv-2d": "2-D conv (like the Keras example)",
}
PRESET_NOTES = {  # only what was measured (bench/fast_demo_time.py, bench/README.md): no promise for other machines
    "fast-2d": "A small MLP, 10 epochs, a 2-D map. On the 60 000 training digits it took 29 s on a quiet 2-core "
               "server, 3 to 4 minutes on a 2-core server busy with other work, and 10 minutes with a class of 30 "
               "using the app at the same time.",
    "classic-mlp": "The MLP of the classic tutorial code: 784-128-100, Adam 1e-3, batches of 64, 20 epochs.",
    "beta-vae-4": "β = 4 weighs the KL term four times: a smoother, blurrier 10-D latent space. 20 epochs.",
    "conv-2d": "Convolutions (32, 64 channels), a dense layer of 16, a 2-D map. 10 epochs.",
}
LEARNING_RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]  # the slider also offers the recipe's own (and the current) value
# Words in the Run selector (options are plain text), a Material icon beside them in the panel: emoji show as empty
# boxes on a computer without an emoji font, and the icons come with Streamlit (no font from the internet).
STATE_LABELS = {"starting": "starting", "running": "training", "stopping": "stopping", "finished": "finished",
                "stopped": "stopped", "failed": "failed", "interrupted": "interrupted"}
STATE_ICONS = {"starting": ":orange[:material/hourglass_top:]", "running": ":green[:material/play_circle:]",
               "stopping": ":orange[:material/hourglass_bottom:]", "finished": ":green[:material/check_circle:]",
               "stopped": ":gray[:material/stop_circle:]", "failed": ":red[:material/error:]",
               "interrupted": ":orange[:material/warning:]"}


# ---- the configuration form ------------------------------------------------------------------------------------

def apply_preset() -> None:
    """Copy the chosen preset into the form's widgets (a callback, so it runs before they are drawn)."""
    key = st.session_state[keys.TR_PRESET]
    model_cfg, train_cfg = vae.PRESETS[key]
    st.session_state.update({
        keys.TR_ARCH: model_cfg.arch, keys.TR_HIDDEN: ",".join(map(str, model_cfg.hidden)),
        keys.TR_LATENT: model_cfg.latent_dim, keys.TR_BETA: float(train_cfg.beta),
        keys.TR_KL_WARMUP: train_cfg.kl_warmup, keys.TR_EPOCHS: train_cfg.epochs, keys.TR_BATCH: train_cfg.batch_size,
        keys.TR_LR: train_cfg.lr, keys.TR_SEED: train_cfg.seed,
        keys.TR_BINARIZE: train_cfg.binarize, keys.TR_NAME: PRESET_LABELS[key].split(" (")[0],
    })


def init_form_state() -> None:
    if keys.TR_PRESET not in st.session_state:
        st.session_state[keys.TR_PRESET] = "fast-2d"
        apply_preset()
    st.session_state.setdefault(keys.TR_DATASET, st.session_state.get(keys.DATASET, "mnist"))
    st.session_state.setdefault(keys.TR_SUBSET, 0)


def configs_from_form() -> tuple[vae.ModelConfig, vae.TrainConfig]:
    """The form's values as configs; ValueError with a readable message when they do not make a model."""
    ss = st.session_state
    preset_model, preset_train = vae.PRESETS[ss[keys.TR_PRESET]]
    try:
        hidden = tuple(int(h) for h in ss[keys.TR_HIDDEN].replace(" ", "").split(",") if h)
    except ValueError:
        raise ValueError(f"Layer widths must be whole numbers separated by commas, like 512,256 "
                         f"(not {ss[keys.TR_HIDDEN]!r}).") from None
    # The preset with what the form shows put in: every field the form has no widget for (the lr schedule, its
    # floor, Adam's betas, ...) stays the preset's. Building the configs field by field lost some (issue 9).
    model_cfg = replace(preset_model, arch=ss[keys.TR_ARCH], latent_dim=int(ss[keys.TR_LATENT]), hidden=hidden)
    train_cfg = replace(preset_train, dataset=ss[keys.TR_DATASET], epochs=int(ss[keys.TR_EPOCHS]),
                        batch_size=int(ss[keys.TR_BATCH]), lr=float(ss[keys.TR_LR]), beta=float(ss[keys.TR_BETA]),
                        kl_warmup=int(ss[keys.TR_KL_WARMUP]), binarize=ss[keys.TR_BINARIZE], seed=int(ss[keys.TR_SEED]),
                        train_subset=int(ss[keys.TR_SUBSET]))
    return model_cfg, train_cfg  # (supervisor.start_run pins one thread)


def start(demo: bool) -> None:
    """Start a run from the form (a callback: the new run is selected before the page is drawn)."""
    try:
        model_cfg, train_cfg = configs_from_form()
    except ValueError as exc:
        st.session_state[keys.TR_ERROR] = str(exc)
        return
    try:  # the limit is checked again under the runs folder's lock (a run may have started since the page was drawn;
        # every replica of serve.py shares the folder)
        run_dir = supervisor.start_run(state.RUNS_DIR, model_cfg, train_cfg,
                                       st.session_state[keys.TR_NAME].strip() or "run", demo=demo,
                                       max_active=MAX_ACTIVE_RUNS)
    except supervisor.RunLimitReached as exc:
        st.session_state[keys.TR_ERROR] = (f"“{exc.busy.name}” is still training and this app trains one model "
                                        "at a time. Wait for it, or stop it first.")
        return
    except TimeoutError:
        st.session_state[keys.TR_ERROR] = "Another session is starting a run just now; try again in a moment."
        return
    except OSError as exc:
        st.session_state[keys.TR_ERROR] = (f"Could not create the run folder in {state.RUNS_DIR.resolve()}: "
                                        f"{exc.strerror or exc}. Free some disk space or fix the folder's "
                                        "permissions, then try again.")
        return
    st.session_state[keys.TR_ERROR] = ""
    st.session_state[keys.TRAIN_RUN] = run_dir.name
    mark_mine(run_dir.name)


def busy_reason() -> str:
    """Why Start is off now (empty when it is on): as many runs train as this computer allows."""
    busy = supervisor.active_runs(state.RUNS_DIR)
    if len(busy) < MAX_ACTIVE_RUNS:
        return ""
    return (f"Start is off while “{busy[0].name}” trains: this app trains one model at a time. Wait for it to "
            "finish, or stop it first." if MAX_ACTIVE_RUNS == 1 else
            f"Start is off while {len(busy)} runs train, as many as this app trains at once. Wait for one "
            "to finish, or stop one.")


def mark_mine(run_id: str) -> None:
    """Remember the runs this tab (this Streamlit session) started or resumed: stopping anyone else's asks first."""
    st.session_state[keys.TR_MINE] = [*st.session_state.get(keys.TR_MINE, []), run_id]


def stop_button(s: runs.RunStatus, where) -> None:
    """Stop at once if this tab started the run. In a classroom every student sees the one shared run, so a
    stray click on someone else's run (the teacher's) asks before it ends the run for everyone."""
    if st.session_state.get(keys.TR_CONFIRM_STOP) == s.run_id:
        st.warning("This tab did not start this run (another browser did, or the page was reloaded since), and "
                   "stopping it stops it for everyone using the app. The last completed epoch stays saved and the "
                   "run can be resumed.")
        yes, no = st.columns(2)
        stop = yes.button("Stop it for everyone", key=keys.TR_STOP_YES)
        keep = no.button("Keep it training", key=keys.TR_STOP_NO, type="primary")
        if stop:
            runs.request_stop(s.run_dir)
        if stop or keep:
            st.session_state[keys.TR_CONFIRM_STOP] = None
            st.rerun()
        return
    if where.button("Stop", icon=":material/stop:", key=keys.TR_STOP, disabled=s.state == "stopping",
                    help="Stops at the next step; the last completed epoch stays saved."):
        if s.run_id in st.session_state.get(keys.TR_MINE, []):
            runs.request_stop(s.run_dir)
        else:
            st.session_state[keys.TR_CONFIRM_STOP] = s.run_id
        st.rerun()


def lr_options() -> list[float]:
    """The slider's rates: the usual ones, the recipe's own and the current value (a preset's 5e-3 stays 5e-3)."""
    preset_lr = vae.PRESETS[st.session_state[keys.TR_PRESET]][1].lr
    return sorted({*LEARNING_RATES, preset_lr, float(st.session_state[keys.TR_LR])})


def config_form() -> None:
    st.selectbox("Recipe", list(PRESET_LABELS), format_func=PRESET_LABELS.get, key=keys.TR_PRESET,
                 on_change=apply_preset, help="Fills in the settings below; change any of them afterwards.")
    st.caption(PRESET_NOTES[st.session_state[keys.TR_PRESET]])
    st.selectbox("Dataset", list(state.DATASETS), format_func=state.DATASETS.get, key=keys.TR_DATASET)
    dataset = st.session_state[keys.TR_DATASET]
    have_data = training_data_present(dataset)
    if not have_data:  # here, where it is seen: the button it explains is at the bottom of the form, below the fold
        folder = training_data_folder(dataset)
        st.warning(f"**Start training** is off: the {state.DATASETS[dataset]} training split is not on this computer. "
                   + ("The demo button below trains on the bundled test split. " if dataset == "mnist" else "")
                   + f"To add it, put the original files `train-images-idx3-ubyte.gz` and `train-labels-idx1-ubyte.gz` "
                   f"(and the two `t10k-…` files) in `{folder}`, or set `VAE_DATA_DIR` to a folder that has "
                   f"`{folder.parent.name}/raw/`, then reload.")
    with st.form(keys.TRAIN_FORM, border=True):
        st.text_input("Run name", key=keys.TR_NAME, max_chars=60)
        # One st.columns per row: on a phone the columns stack, and each pair stays together in reading order.
        # Short option labels, the explanations in the help: a half-column select cut "MLP (fully co".
        a, b = st.columns(2)
        a.selectbox("Architecture", ["mlp", "conv"], key=keys.TR_ARCH, format_func={"mlp": "MLP", "conv": "conv"}.get,
                    help="MLP: fully connected layers. conv: two strided convolutions (28 → 14 → 7 pixels), then "
                         "one dense layer.")
        b.text_input("Hidden layers", key=keys.TR_HIDDEN, help="MLP: widths, e.g. 512,256. Conv: channels of the two "
                                                            "conv layers, then the dense layer, e.g. 32,64,16.")
        a, b = st.columns(2)
        a.number_input("Latent dimension", 1, 128, key=keys.TR_LATENT, help="2 can be drawn directly.")
        b.number_input("β (KL weight)", 0.0, 100.0, step=0.25, key=keys.TR_BETA,
                       help="The weight of the KL term. 0: a plain autoencoder. 1: the VAE. Larger: smoother, "
                            "blurrier.")
        a, b = st.columns(2)
        a.number_input("KL warm-up", 0, 100, key=keys.TR_KL_WARMUP,
                       help="Epochs over which β ramps up from 0; helps against posterior collapse.")
        b.number_input("Epochs", 1, 500, key=keys.TR_EPOCHS)
        a, b = st.columns(2)
        a.select_slider("Batch size", [32, 64, 128, 256, 512, 1024], key=keys.TR_BATCH)
        b.select_slider("Learning rate", lr_options(), key=keys.TR_LR, format_func=lambda v: f"{v:g}",
                        help="Adam's peak learning rate; the recipe's schedule, warm-up and Adam settings stay.")
        a, b = st.columns(2)
        a.number_input("Seed", 0, 2**31 - 1, key=keys.TR_SEED)
        b.selectbox("Binarisation", ["dynamic", "none"], key=keys.TR_BINARIZE,
                    help="dynamic: every pixel a fresh 0/1 sample each time the image is drawn. none: the grey "
                         "levels as they are.")
        st.number_input("Training images (0 = all)", 0, 60000, step=1000, key=keys.TR_SUBSET,
                        help="Train on the first N images only: faster, for a quick look.")
        busy = busy_reason()
        if busy:  # said before the click, beside the buttons it turns off (a second browser saw Start enabled)
            st.warning(busy, icon=":material/hourglass_top:")
        full = st.form_submit_button("Start training", type="primary", disabled=not have_data or bool(busy),
                                     width="stretch",
                                     help=busy or (None if have_data else "The training split is missing: see the "
                                                                          "note above the form."))
        demo = st.form_submit_button("Start on the bundled test split (demo)", disabled=dataset != "mnist"
                                     or bool(busy), width="stretch",
                                     help=busy or "10 000 test digits instead of 60 000 training digits. Good for a "
                                                  "demo; its test numbers then measure memorisation, not "
                                                  "generalisation.")
    if full or demo:
        start(demo=bool(demo))
    if st.session_state.get(keys.TR_ERROR):
        st.error(st.session_state[keys.TR_ERROR])


# ---- one run: live progress -------------------------------------------------------------------------------------

@st.cache_data(max_entries=16, show_spinner=False)
def live_map(run_dir: str, newest_file_mtime: float):
    """The newest latent snapshot in 2-D (PCA when D > 2); keyed by the file's mtime, so it is read once."""
    snap = runs.load_latest_snapshot(run_dir)
    if snap is None:
        return None
    epoch, mu, labels = snap
    points, _ = project_2d(mu)
    return epoch, points, labels, mu.shape[1]


# The two live figures are built once per change of what they show and shared by everyone watching the run (a
# class polling one run every second would otherwise rebuild them 30 times a second). st.plotly_chart only reads them.
@st.cache_resource(max_entries=8, show_spinner=False)
def live_map_figure(run_dir: str, newest_file_mtime: float):
    live = live_map(run_dir, newest_file_mtime)
    if live is None:
        return None
    epoch, points, labels, dim = live
    axes = ("z₁", "z₂") if dim == 2 else ("PC 1", "PC 2")
    view = "" if dim == 2 else f" (the {dim}-D means, projected by PCA)"
    return latent_scatter_figure(points, labels, axis_titles=axes, height=420,
                                 title=(f"Latent map after epoch {epoch}" if epoch else "Latent map before training")
                                       + f": {len(labels)} test digits{view}")


@st.cache_resource(max_entries=8, show_spinner=False)
def curves_figure(run_dir: str, n_history: int, last_json: str, epoch: int, _history: list, _last: dict | None,
                  large: bool = False):
    return loss_curves_figure(_history, _last, epoch, gap=LARGE_TYPE_GAP if large else 0.08)


@st.cache_resource(max_entries=4, show_spinner=False)
def replay_data(run_dir: str, n_files: int, newest_file_mtime: float):
    """(epochs, 2-D frames, labels, latent dimension) of a run's snapshots, or None: read and projected once per set
    of snapshots and shared (nothing changes them)."""
    epochs, frames, labels = runs.load_snapshots(run_dir)
    if not frames:
        return None
    return epochs, runs.project_frames(frames), labels, frames[0].shape[1]


def snapshot_key(run_dir) -> tuple[int, float]:
    files = list((run_dir / "latents").glob("epoch_*.npy"))
    return len(files), max((f.stat().st_mtime for f in files), default=0.0)


def use_in_sidebar(path: str, dataset: str) -> None:
    state.select_model(path, dataset)
    # The button is drawn in the run panel, a fragment, and a click there reruns only the fragment: the sidebar's
    # picker was not redrawn, kept showing the old model, and sent it back with the next click or page switch.
    # st.rerun() in a callback widens this interaction's rerun to the whole app.
    st.rerun()


def run_controls(s: runs.RunStatus) -> None:
    cols = st.columns(3)
    if s.active:
        stop_button(s, cols[0])
    elif st.session_state.get(keys.TR_CONFIRM_STOP) == s.run_id:
        st.session_state[keys.TR_CONFIRM_STOP] = None  # it ended meanwhile: a later resume must not find the question
    if s.can_resume:
        if cols[1].button("▶ Resume", key=keys.TR_RESUME, type="primary",
                          help=f"Continue from epoch {s.epoch} to {s.epochs}."):
            try:
                supervisor.resume_run(s.run_dir, max_active=MAX_ACTIVE_RUNS)
            except supervisor.RunLimitReached:
                st.warning("Another run is training; stop it before resuming this one.")
            except TimeoutError:
                st.warning("Another session is starting a run just now; try again in a moment.")
            except OSError as exc:
                st.error(f"Could not resume: {exc.strerror or exc}")
            else:
                mark_mine(s.run_id)
                st.rerun()
    if s.checkpoint.is_file() and not s.active:
        cols[2].button("Use in the sidebar", key=keys.TR_USE, on_click=use_in_sidebar,
                       args=(str(s.checkpoint), s.train_config.dataset if s.train_config else "mnist"),
                       help="Select this model in the sidebar's model picker, for the other pages.")


def run_messages(s: runs.RunStatus) -> None:
    if s.state == "failed":
        st.error(s.message or "The training process failed.")
        if s.error_kind == "data" and s.train_config and s.train_config.dataset == "mnist":
            st.info("Without the training files you can still train on the bundled test split: press "
                    "“Start on the bundled test split (demo)”.")
        if s.epoch:
            st.caption(f"Epoch {s.epoch} is saved and loads normally.")
    elif s.state == "interrupted":
        st.warning(s.message)
    elif s.state == "stopped":
        st.info(f"Stopped after epoch {s.epoch} of {s.epochs}; that epoch's checkpoint is saved."
                if s.epoch else "Stopped before the first epoch finished: nothing was saved.")


def poll_seconds(state: str) -> float | None:
    """How often the run panel redraws itself for a run in this state; None once the run is over."""
    return {"starting": POLL_TRANSITION_SECONDS, "stopping": POLL_TRANSITION_SECONDS,
            "running": POLL_SECONDS}.get(state)


def run_panel(run_dir) -> None:
    """Everything about one run that changes while it trains. Redrawn every poll_seconds(state) while active."""
    s = supervisor.read_status(run_dir)
    if s is None:
        st.warning("This run's folder is gone.")
        return
    if keys.TR_POLLING in st.session_state and poll_seconds(s.state) != st.session_state[keys.TR_POLLING]:
        st.session_state[keys.TR_POLLING] = poll_seconds(s.state)
        # It started training, or ended: redraw the whole page (replay, model picker) and poll at the new pace.
        st.rerun()
    st.markdown(f"{STATE_ICONS.get(s.state, '')} **{s.name}** · {STATE_LABELS.get(s.state, s.state)}")
    if s.active:
        current = min(s.epoch + 1, s.epochs) if s.state != "starting" else 0
        eta = "" if s.eta_s is None else f" · about {format_seconds(s.eta_s)} left"
        text = ("Starting: loading PyTorch and the data…" if s.state == "starting" else
                "Stopping at the next step…" if s.state == "stopping" else
                f"Epoch {current} of {s.epochs} · {s.fraction:.0%}{eta}")
        st.progress(min(max(s.fraction, 0.0), 1.0), text=text)
    elif s.epochs:
        st.progress(s.epoch / s.epochs, text=f"{s.epoch} of {s.epochs} epochs done")
    run_messages(s)
    run_controls(s)
    if s.history or s.last:
        fig = curves_figure(str(run_dir), len(s.history), json.dumps(s.last, sort_keys=True, default=str),
                            s.epoch + 1, s.history, s.last, bool(st.session_state.get(keys.LARGE_TYPE)))
        chart(fig, key=keys.TR_CURVES, config={"displayModeBar": False}, alt=loss_curves_summary(s.history))
        story = training_story(s.history)  # lesson 5 points here: what the curves did, in this run's numbers
        if story:
            st.caption(story)
    live = live_map_figure(str(run_dir), snapshot_key(run_dir)[1])
    if live is not None:
        chart(live, key=keys.TR_LIVE_MAP, alt=(live.layout.title.text or "The latent map")
              + ", one dot per test digit coloured by its label, each digit's number written at its cluster's "
                "centre.")
    elif s.active:
        st.caption("The latent map appears as soon as the model is built.")


def replay(run_dir) -> None:
    st.subheader("Replay: the latent map, epoch by epoch")
    n, newest = snapshot_key(run_dir)
    if n == 0:
        st.caption("The untrained model's map, then each completed epoch, adds a frame here.")
        return
    data = replay_data(str(run_dir), n, newest)
    if data is None:
        st.caption("The snapshots of this run could not be read.")
        return
    epochs, _, _, dim = data
    st.caption("Press Play, or move the epoch slider (arrow keys work), to watch the digits sort themselves out."
               + (" Epoch 0 is the untrained model: every digit lands near the same point." if epochs[0] == 0 else "")
               + ("" if dim == 2 else f" The {dim}-D means are shown in the last epoch's two principal "
                                      "directions, the same axes for every frame."))
    playing = st.session_state.get(keys.TR_REPLAY_PLAYING) == str(run_dir)
    # A timer only while playing: the fragment steps one epoch per tick; nothing moves unless Play was pressed.
    st.fragment(replay_player, run_every=REPLAY_STEP_SECONDS if playing else None)(str(run_dir), n, newest)
    st.button("Refresh the replay", key=keys.TR_REFRESH, help="Add the epochs finished since the page was drawn.")


def toggle_replay(run_dir: str, epochs: list[int]) -> None:
    """Play / Pause. Play at the last epoch starts again from the first. A rerun of the whole page, so that the
    replay's fragment gets (or loses) its timer."""
    if st.session_state.get(keys.TR_REPLAY_PLAYING) == run_dir:
        st.session_state[keys.TR_REPLAY_PLAYING] = None
    else:
        st.session_state[keys.TR_REPLAY_PLAYING] = run_dir
        if st.session_state.get(keys.TR_REPLAY_EPOCH) == epochs[-1]:
            st.session_state[keys.TR_REPLAY_EPOCH] = epochs[0]
    st.rerun()


def replay_player(run_dir: str, n: int, newest: float) -> None:
    """The replay's controls (Streamlit widgets: the keyboard reaches them) and the map of the chosen epoch."""
    epochs, frames, labels, _ = replay_data(run_dir, n, newest)
    if st.session_state.get(keys.TR_REPLAY_EPOCH) not in epochs:
        st.session_state[keys.TR_REPLAY_EPOCH] = epochs[-1]
    playing = st.session_state.get(keys.TR_REPLAY_PLAYING) == run_dir
    if playing and st.session_state.get(keys.TR_REPLAY_STEPPED):
        at = epochs.index(st.session_state[keys.TR_REPLAY_EPOCH])
        if at + 1 < len(epochs):
            st.session_state[keys.TR_REPLAY_EPOCH] = epochs[at + 1]
        if at + 2 >= len(epochs):  # the last epoch is shown: stop, and end the timer with a full rerun
            st.session_state[keys.TR_REPLAY_PLAYING] = None
            st.session_state[keys.TR_REPLAY_STEPPED] = False
            st.rerun()
    st.session_state[keys.TR_REPLAY_STEPPED] = playing  # the next tick steps; the run that pressed Play does not
    classes = sorted({int(c) for c in labels})
    st.session_state.setdefault(keys.TR_REPLAY_CLASSES, classes)
    left, right = st.columns([1, 4], vertical_alignment="bottom")
    left.button("Pause" if playing else "Play", key=keys.TR_REPLAY_PLAY, on_click=toggle_replay,
                args=(run_dir, epochs), icon=":material/pause:" if playing else ":material/play_arrow:",
                width="stretch", help="Step through the epochs, one every "
                                      f"{REPLAY_STEP_SECONDS:g} s; press again to stop.")
    right.select_slider("Epoch", epochs, key=keys.TR_REPLAY_EPOCH)
    shown = st.pills("Digits shown", classes, selection_mode="multi", key=keys.TR_REPLAY_CLASSES,
                     help="Hide or show a digit's dots (Tab to a digit, then Enter or Space).")
    epoch = st.session_state[keys.TR_REPLAY_EPOCH]
    index = epochs.index(epoch)
    fig = replay_figure(epochs, frames, labels, index=index, classes=shown,
                        axis_titles=("z₁", "z₂") if frames[0].shape[1] == 2 else ("PC 1", "PC 2"))
    digits = ", ".join(map(str, shown)) if shown else "none"
    # Not the epoch: the slider above says it, and a new text alternative remounts the chart (a flash per step).
    chart(fig, key=keys.TR_REPLAY, alt=f"The latent map of {len(labels)} test digits at the epoch on the slider "
                                       f"above, epochs {epochs[0]} to {epochs[-1]}, coloured by label; digits "
                                       f"shown: {digits}; each digit's number written at its cluster's centre.")


def pick_run(all_runs: list[runs.RunStatus]):
    ids = [r.run_id for r in all_runs]
    if st.session_state.get(keys.TRAIN_RUN) not in ids:
        st.session_state[keys.TRAIN_RUN] = ids[0]  # newest: after a restart, the run that was training
    # An active run's epoch count would go stale here (only the panel below is redrawn while it trains).
    labels = {r.run_id: f"{r.name} · {STATE_LABELS.get(r.state, r.state)}"
                        + ("" if r.active else f" · {r.epoch}/{r.epochs} epochs") for r in all_runs}
    state.resend_if_relabelled(keys.TRAIN_RUN, labels[st.session_state[keys.TRAIN_RUN]])  # "starting" -> "finished"
    st.selectbox("Run", ids, format_func=labels.get, key=keys.TRAIN_RUN)
    return next(r for r in all_runs if r.run_id == st.session_state[keys.TRAIN_RUN])


def main() -> None:
    state.init_state()
    init_form_state()
    st.title("Train a VAE")
    lesson_box(pages.TRAIN)
    st.caption("Pick a recipe, press Start, and watch the VAE learn: the reconstruction error falls, the KL term "
               "moves (the line under the curves says how), and the digits of the test set sort themselves into "
               "regions of the latent space. "
               "Training runs in the background at low priority; you can leave this page and come back.")
    # Large type: the settings in a third of the page were ~80 px a field, labels split mid-word; one above the other.
    large = st.session_state.get(keys.LARGE_TYPE)
    left, right = (st.container(), st.container()) if large else st.columns([1, 2], gap="large")
    with left:
        config_form()
    with right:
        all_runs = supervisor.list_runs(state.RUNS_DIR)
        if not all_runs:
            st.info("No runs yet. Pick a recipe and press Start training.")
            return
        s = pick_run(all_runs)
        st.session_state[keys.TR_POLLING] = poll_seconds(s.state)
        st.fragment(run_panel, run_every=st.session_state[keys.TR_POLLING])(s.run_dir)
        with st.expander("The same run from a terminal"):
            st.code(shlex.join(["python", *s.command[1:]]) if s.command else "", language="bash")
    replay(s.run_dir)


main()

"""AppTest for the Train page: first open, presets, the missing-data path, a tiny background run shown live by the
fragment, Resume after the training process was killed, and Stop asking first when the run is another browser's
(a classroom shares one run).

The runs here are started by the page, through ui.supervisor, as in the app, but the process is tests/fake_trainer.py
(the `fake_trainer` fixture): it writes the run folder as `python -m vae train` does, without torch or training, so a
test takes seconds instead of a minute. The real process is tested end to end by the tests marked `trains`
(tests/test_runs.py, tests/test_e2e_train.py)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import vae
from app_browser import Browser
from conftest import make_finished_run
from fake_trainer import SCRIPT, FakeTrainer
from ui import supervisor
from vae import bundled, runs

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "app_pages" / "train.py")
TIMEOUT_S = 180


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    import ui.state
    folder = tmp_path / "runs" / "app"
    monkeypatch.setattr(ui.state, "RUNS_DIR", folder)
    yield folder
    for s in supervisor.list_runs(folder):  # only the processes this test started
        if s.active and s.pid:
            try:
                os.kill(s.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def fake_trainer(tmp_path, monkeypatch) -> FakeTrainer:
    """The page's runs start tests/fake_trainer.py instead of `python -m vae train` (an epoch every 0.3 s)."""
    return FakeTrainer(tmp_path / "fake-checkpoints").install(monkeypatch)


def open_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def tiny_form(at: AppTest, epochs: int, subset: int = 1000) -> None:
    at.text_input(key="tr_name").set_value("tiny")
    at.text_input(key="tr_hidden").set_value("32,16")
    at.number_input(key="tr_latent").set_value(2)
    at.number_input(key="tr_epochs").set_value(epochs)
    at.number_input(key="tr_subset").set_value(subset)
    at.select_slider(key="tr_batch").set_value(100)


def button(at: AppTest, text: str):
    return next(b for b in at.button if text in b.label)


def progress_texts(at: AppTest) -> list[str]:
    return [p.proto.text for p in at.get("progress")]


def poll(at: AppTest, done, what: str) -> None:
    """Rerun the page (as the fragment's timer would) until done(at)."""
    deadline = time.time() + TIMEOUT_S
    while time.time() < deadline:
        at.run()
        assert not at.exception, at.exception
        if done(at):
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}: {[m.value for m in at.markdown]} {progress_texts(at)}")


def wait_for_status(run_dir: Path, done, what: str) -> None:
    """Wait for the run's own state (without rerunning the page, which takes a second on a busy machine)."""
    deadline = time.time() + TIMEOUT_S
    while not done(supervisor.read_status(run_dir)):
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {supervisor.read_status(run_dir)}")
        time.sleep(0.05)


def test_first_open_shows_the_form_and_no_runs(runs_dir):
    at = open_page()
    assert at.selectbox(key="tr_preset").value == "fast-2d"
    assert any("No runs yet" in i.value for i in at.info)
    assert button(at, "Start training") and button(at, "bundled test split")


def test_presets_fill_the_form(runs_dir):
    at = open_page()
    for preset in ["classic-mlp", "beta-vae-4", "conv-2d", "fast-2d"]:  # fast-2d last: it is the default
        at.selectbox(key="tr_preset").set_value(preset).run()
        model_cfg, train_cfg = vae.PRESETS[preset]
        assert at.selectbox(key="tr_arch").value == model_cfg.arch
        assert at.number_input(key="tr_latent").value == model_cfg.latent_dim
        assert at.text_input(key="tr_hidden").value == ",".join(map(str, model_cfg.hidden))
        assert at.number_input(key="tr_epochs").value == train_cfg.epochs
        assert at.number_input(key="tr_beta").value == train_cfg.beta
        assert at.select_slider(key="tr_batch").value == train_cfg.batch_size
        assert not at.exception


def test_every_preset_submitted_unchanged_trains_with_the_preset(runs_dir, monkeypatch):
    # Issue 9: the form rebuilt the configs field by field and lost lr_floor and adam_betas, and snapped the learning
    # rate to its list (5e-3 became 3e-3). No training process here: the configs are the point.
    passed = []
    real_start = supervisor.start_run
    monkeypatch.setattr(supervisor, "start_run", lambda *a, **k: passed.append(a[1:3]) or real_start(*a, **k))
    monkeypatch.setattr(supervisor, "_launch", lambda run_dir, cmd: 0)
    at = open_page()
    for preset, (model_cfg, train_cfg) in vae.PRESETS.items():
        at.selectbox(key="tr_preset").set_value(preset).run()
        assert at.select_slider(key="tr_lr").value == train_cfg.lr  # the preset's own lr is on the slider
        button(at, "bundled test split").click().run()
        assert not at.exception and not at.session_state["tr_error"], at.session_state["tr_error"]
        assert passed[-1] == (model_cfg, train_cfg), preset
        s = supervisor.read_status(runs_dir / at.session_state["train_run"])
        assert (s.model_config, s.train_config) == (model_cfg, replace(train_cfg, threads=1)), preset  # 1 core
    assert len(supervisor.list_runs(runs_dir)) == len(vae.PRESETS)


def test_the_form_changes_only_what_it_shows(runs_dir, monkeypatch):
    passed = []
    monkeypatch.setattr(supervisor, "start_run", lambda *a, **k: passed.append(a[1:3]) or runs_dir)
    at = open_page()
    at.selectbox(key="tr_preset").set_value("conv-2d").run()
    at.number_input(key="tr_epochs").set_value(3)
    at.number_input(key="tr_beta").set_value(2.0)
    at.select_slider(key="tr_lr").set_value(1e-3)
    button(at, "bundled test split").click().run()
    assert not at.exception and not at.error
    model_cfg, train_cfg = vae.PRESETS["conv-2d"]
    assert passed == [(model_cfg, replace(train_cfg, epochs=3, beta=2.0, lr=1e-3))]


def test_missing_training_data_says_where_and_offers_the_demo(runs_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_DATA_DIR", str(tmp_path / "empty"))
    at = open_page()
    warning = " ".join(w.value for w in at.warning)
    assert str((tmp_path / "empty" / "MNIST" / "raw").resolve()) in warning
    assert "train-images-idx3-ubyte.gz" in warning
    assert button(at, "Start training").disabled
    assert not button(at, "bundled test split").disabled


def test_bad_layer_widths_give_an_error_not_a_traceback(runs_dir):
    at = open_page()
    at.text_input(key="tr_hidden").set_value("512,abc")
    button(at, "bundled test split").click().run()
    assert not at.exception
    assert any("whole numbers" in e.value for e in at.error)
    assert not supervisor.list_runs(runs_dir)


def test_a_tiny_run_shows_live_progress_then_lands_in_the_picker(runs_dir, fake_trainer):
    fake_trainer.epoch_seconds = 1.0  # 3 s of training: polls of a page run ~1 s each on a busy machine see it
    at = open_page()
    tiny_form(at, epochs=3)
    button(at, "bundled test split").click().run()
    assert not at.exception and not at.error
    [run] = supervisor.list_runs(runs_dir)
    assert at.session_state["train_run"] == run.run_id and run.demo
    assert run.command[1] == str(SCRIPT)  # the fake, not a real training process

    poll(at, lambda at: any(t.startswith("Epoch ") for t in progress_texts(at)), "live progress in the fragment")
    poll(at, lambda at: any("finished" in m.value for m in at.markdown), "the run to finish")
    assert any("3 of 3 epochs done" in t for t in progress_texts(at))
    [label] = at.selectbox(key="train_run").options
    assert label == "tiny [demo: trained on the test split] · finished · 3/3 epochs"
    assert len(at.get("plotly_chart")) == 3  # loss curves, live latent map, replay
    assert any("Epoch 0 is the untrained model" in c.value for c in at.caption)  # the replay starts before training
    assert button(at, "Use in the sidebar")

    import ui.state
    labels = [c.label for c in ui.state.model_choices() if not c.bundled]
    assert labels == ["Your run: tiny [demo: trained on the test split] (3 epochs)"]
    button(at, "Use in the sidebar").click().run()
    assert at.session_state["model_path"] == str(run.checkpoint)


def test_killed_run_offers_resume_and_resumes(runs_dir, fake_trainer):
    fake_trainer.epoch_seconds = 0.5
    at = open_page()
    tiny_form(at, epochs=4, subset=2000)
    at.select_slider(key="tr_batch").set_value(64)
    button(at, "bundled test split").click().run()
    [run] = supervisor.list_runs(runs_dir)
    wait_for_status(run.run_dir, lambda s: s.epoch >= 1, "the first epoch")  # not a page run (~1 s): epochs are short
    os.kill(supervisor.read_status(run.run_dir).pid, signal.SIGKILL)
    poll(at, lambda at: any("· interrupted" in m.value for m in at.markdown), "the page to notice")
    assert any("Resume continues" in w.value for w in at.warning)

    button(at, "▶ Resume").click().run()
    poll(at, lambda at: any("finished" in m.value for m in at.markdown), "the resumed run to finish")
    assert vae.load_checkpoint(run.checkpoint).epoch == 4
    assert ["--resume" in c for c in fake_trainer.commands] == [False, True]  # the start, then the resume


def asks_before_stopping(at: AppTest) -> bool:
    """The stop question is showing (other warnings, e.g. no MNIST training files on a CI machine, may be too)."""
    return any("stops it for everyone" in w.value for w in at.warning)


def test_stopping_another_browsers_run_asks_first_and_ones_own_does_not(runs_dir, fake_trainer):
    fake_trainer.epoch_seconds = 0.6  # 100 epochs: a minute, to outlast the test (it stops the run twice)
    teacher = open_page()
    tiny_form(teacher, epochs=100)
    button(teacher, "bundled test split").click().run()
    [run] = supervisor.list_runs(runs_dir)
    poll(teacher, lambda at: supervisor.read_status(run.run_dir).epoch >= 1, "the first epoch")

    student = open_page()  # another browser: it sees the one shared run
    assert student.selectbox(key="train_run").options[0].endswith("· training")  # no epoch count to go stale
    student.button(key="tr_stop").click().run()
    assert not student.exception
    assert asks_before_stopping(student)
    assert not (run.run_dir / "stop").exists()  # asked, not yet stopped
    button(student, "Keep it training").click().run()
    assert not asks_before_stopping(student) and not (run.run_dir / "stop").exists()
    assert supervisor.read_status(run.run_dir).active

    student.button(key="tr_stop").click().run()
    button(student, "Stop it for everyone").click().run()
    assert (run.run_dir / "stop").exists()
    poll(student, lambda at: supervisor.read_status(run.run_dir).state == "stopped", "the run to stop")

    teacher.run()
    button(teacher, "▶ Resume").click().run()
    poll(teacher, lambda at: supervisor.read_status(run.run_dir).state == "running", "the resumed run")
    assert not (run.run_dir / "stop").exists()
    teacher.button(key="tr_stop").click().run()  # the browser that (re)started it stops it at once
    assert not asks_before_stopping(teacher) and (run.run_dir / "stop").exists()
    poll(teacher, lambda at: supervisor.read_status(run.run_dir).state == "stopped", "the run to stop again")


# ---- with router.py, as a browser drives it: the sidebar, fragments, and what a selectbox shows ----------------------

def open_train_in_app(monkeypatch) -> Browser:
    browser = Browser(AppTest.from_file(str(ROOT / "router.py"), default_timeout=TIMEOUT_S), monkeypatch)
    browser.load()
    at = browser.switch_page("app_pages/train.py")
    assert not at.exception, at.exception
    return browser


def test_use_in_the_sidebar_selects_the_run_in_the_sidebar_and_on_other_pages(runs_dir, tiny_ckpt, monkeypatch):
    # The button is drawn in the run panel, a fragment: a click there reruns only the fragment unless the app asks
    # for more, and the sidebar kept showing (and sending back) the default model. Clicked twice, as reported.
    run = make_finished_run(runs_dir, tiny_ckpt)
    browser = open_train_in_app(monkeypatch)
    at = browser.at
    picker = lambda: at.sidebar.selectbox(key="model_path")  # noqa: E731
    assert browser.shown_label(picker()) == bundled.DEFAULT.name
    for _ in range(2):
        browser.interact(button(at, "Use in the sidebar").click())
        assert not at.exception, at.exception
        assert browser.shown_label(picker()) == "Your run: tiny mlp (1 epochs)"
    browser.switch_page("app_pages/explore.py")
    assert not at.exception, at.exception
    assert at.session_state["model_path"] == str(run / "checkpoint.pt")
    assert any(c.value.startswith("Model: tiny mlp") for c in at.caption)


def test_the_run_picker_shows_the_state_a_run_ended_in(runs_dir, tiny_ckpt, monkeypatch):
    # A run that is starting (progress.json says so and its process lives), then finishes while the page polls it.
    run = make_finished_run(runs_dir, tiny_ckpt)
    progress = runs.read_json(run / "progress.json")
    runs.write_json_atomic(run / "progress.json", {**progress, "state": "loading", "history": [], "epoch": 0})
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", str(run.resolve())])
    try:
        info = runs.read_json(run / "run.json")
        runs.write_json_atomic(run / "run.json", {**info, "pid": process.pid})
        browser = open_train_in_app(monkeypatch)
        at = browser.at
        assert browser.shown_label(at.selectbox(key="train_run")).endswith("starting")
        panel = browser.fragment_of[at.button(key="tr_stop").id]  # the run panel, polled by its own timer
        runs.write_json_atomic(run / "progress.json", progress)  # the run finished...
    finally:
        process.kill()  # ... and its process ended
        process.wait()
    browser.tick(panel)  # the panel notices and redraws the whole page
    assert not at.exception, at.exception
    assert browser.shown_label(at.selectbox(key="train_run")).endswith("finished · 1/1 epochs")
    browser.rerun()  # the next interaction sends the label back: the same run stays selected
    assert at.session_state["train_run"] == run.name


def test_a_second_browser_sees_start_off_with_the_reason_while_a_run_trains(runs_dir, fake_trainer):
    """Issue 21: while a run trains, a student's Start was enabled and answered with a red error only after the
    click. The reason now stands above the two Start buttons, which are off; once the run ends they are on again."""
    fake_trainer.epoch_seconds = 0.6
    teacher = open_page()
    tiny_form(teacher, epochs=100)
    button(teacher, "bundled test split").click().run()
    [run] = supervisor.list_runs(runs_dir)
    poll(teacher, lambda at: supervisor.read_status(run.run_dir).epoch >= 1, "the first epoch")

    student = open_page()
    starts = [button(student, "Start training"), button(student, "bundled test split")]
    assert all(b.disabled for b in starts)
    reason = "trains: this app trains one model at a time"
    assert any(w.value.startswith("Start is off while “tiny") and reason in w.value for w in student.warning)
    assert all(reason in (b.help or "") for b in starts)
    assert not student.error  # no red error: nothing was clicked

    student.button(key="tr_stop").click().run()
    button(student, "Stop it for everyone").click().run()
    poll(student, lambda at: supervisor.read_status(run.run_dir).state == "stopped", "the run to stop")
    student.run()
    assert not button(student, "bundled test split").disabled
    assert not any("Start is off" in w.value for w in student.warning)


def test_the_line_under_the_curves_is_the_runs_own_story(runs_dir, tiny_ckpt):
    """Lesson 5 points at the line under the loss curves: it says how this run's terms moved, from its history."""
    from conftest import make_finished_run
    from ui.claims import training_story
    run_dir = make_finished_run(runs_dir, tiny_ckpt)
    progress = json.loads((run_dir / "progress.json").read_text())
    history = [{"epoch": e + 1, "train_neg_elbo": 200.0 - 5 * e, "train_recon": 195.0 - 6 * e,
                "train_kl": 5.0 + e} for e in range(3)]
    (run_dir / "progress.json").write_text(json.dumps({**progress, "history": history, "epoch": 3, "epochs": 3}))
    at = open_page()
    story = training_story(history)
    assert story and story in [c.value for c in at.caption]

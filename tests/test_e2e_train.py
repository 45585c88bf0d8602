"""End to end in Chromium: start a short training run on the Train page, watch the loss curve grow epoch by epoch,
then the faults: the server is killed mid-run and restarted (the page finds the run again), the training process
dies (the page offers Resume), Resume finishes the run and its checkpoint is one of the model picker's choices.

The server runs in a scratch folder (the app's script from the project), so runs/ and data/ are the test's own:
no training split there, so this also exercises the "train on the bundled test split (demo)" path. The training
process is the real `python -m vae train` (marked `trains`), not the page tests' tests/fake_trainer.py.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess

import pytest

from conftest import ROOT, browser_or_skip, start_streamlit, wait_for_app
from ui import supervisor

TIMEOUT_MS = 300_000  # generous: a busy 2-core machine can take minutes for a first render


def stop_server(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(10)


@pytest.fixture
def scratch(tmp_path):
    browser_or_skip()
    (tmp_path / ".streamlit").mkdir()
    shutil.copy(ROOT / ".streamlit" / "config.toml", tmp_path / ".streamlit" / "config.toml")
    yield tmp_path
    for s in supervisor.list_runs(tmp_path / "runs" / "app"):  # only the processes this test started
        if s.active and s.pid:
            try:
                os.kill(s.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def train_points(page) -> int:
    """Points on the train curve of the first (loss) chart = completed epochs drawn."""
    return page.wait_for_function("""() => {  // waits out a moment without a drawn chart (a redraw)
        const plot = document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot');
        if (!plot || !plot.data) return null;
        const train = plot.data.find(t => t.name === 'train');
        return {n: train ? train.x.length : 0};
    }""", timeout=TIMEOUT_MS).json_value()["n"]


def wait_for_text(page, text: str) -> None:
    page.get_by_text(text, exact=False).first.wait_for(timeout=TIMEOUT_MS)


def screenshot(page, name: str) -> None:
    """With VAE_SCREENS=<folder>, keep a full-page screenshot of each stage (to look at; nothing is compared)."""
    folder = os.environ.get("VAE_SCREENS")
    if folder:
        page.screenshot(path=os.path.join(folder, name), full_page=True)


EPOCHS = 15  # ~0.6 s each on an idle machine (5000 images, 256-128): still running when we freeze it (at epoch
# ~3), and the resumed run finishes in seconds (40 took 25 s of the suite)


@pytest.mark.trains
def test_train_watch_kill_restart_resume(scratch, page):
    env = {"VAE_DATA_DIR": str(scratch / "data")}
    server, url = start_streamlit(str(ROOT / "app.py"), env=env, cwd=scratch)
    try:
        page.goto(url + "/train", timeout=TIMEOUT_MS)
        wait_for_app(page, TIMEOUT_MS)
        assert page.get_by_role("button", name="Start training").is_disabled()  # no training split here
        page.locator("input[aria-label='Hidden layers']").fill("256,128")
        page.locator("input[aria-label='Epochs']").fill(str(EPOCHS))
        page.locator("input[aria-label='Training images (0 = all)']").fill("5000")
        page.get_by_role("button", name="Start on the bundled test split (demo)").click()

        wait_for_text(page, "Epoch ")  # the fragment's progress bar
        page.wait_for_function("() => document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot')",
                               timeout=TIMEOUT_MS)
        # The count comes from the very check that saw it: the fragment redraws the chart every poll, and a second
        # read can fall in the moment Plotly rebuilds it (CI once read 0 there).
        first = page.wait_for_function("""() => {
            const plot = document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot');
            const train = plot && plot.data && plot.data.find(t => t.name === 'train');
            return train && train.x.length >= 2 ? train.x.length : 0;
        }""", timeout=TIMEOUT_MS).json_value()
        screenshot(page, "e2e-1-training.png")
        assert first >= 2  # the curve grew while we watched, without touching the page
        assert page.locator("[data-testid=stException]").count() == 0

        [run] = supervisor.list_runs(scratch / "runs" / "app")
        os.kill(run.pid, signal.SIGSTOP)  # hold it still while the server restarts, so the test is deterministic
        stop_server(server)  # the server dies mid-run; the training process lives in its own session
        assert supervisor.read_status(run.run_dir).state == "running"

        server, url = start_streamlit(str(ROOT / "app.py"), env=env, cwd=scratch)
        page.goto(url + "/train", timeout=TIMEOUT_MS)
        wait_for_app(page, TIMEOUT_MS)
        wait_for_text(page, "· training")  # found again by pid after the restart

        os.kill(run.pid, signal.SIGKILL)  # now the training process dies too
        wait_for_text(page, "· interrupted")
        screenshot(page, "e2e-2-interrupted.png")
        saved = supervisor.read_status(run.run_dir).epoch
        assert saved >= 1 and page.get_by_text(f"Epoch {saved} of {EPOCHS} is saved").count() == 1

        page.get_by_role("button", name="▶ Resume").click()
        wait_for_text(page, "· finished")
        wait_for_app(page, TIMEOUT_MS)
        assert train_points(page) == EPOCHS
        screenshot(page, "e2e-3-finished.png")
        import ui.state  # the picker reads the same folder the server wrote (the AppTest tests click it)
        ui.state.RUNS_DIR, saved_dir = scratch / "runs" / "app", ui.state.RUNS_DIR
        try:
            labels = [c.label for c in ui.state.model_choices() if not c.bundled]
        finally:
            ui.state.RUNS_DIR = saved_dir
        assert any(f"[demo: trained on the test split] ({EPOCHS} epochs)" in label for label in labels), labels
    finally:
        stop_server(server)

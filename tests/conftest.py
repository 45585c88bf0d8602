"""Shared fixtures: tiny trained checkpoints, a copy of the MNIST files when present, and the browser harness."""
from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch

import vae

ROOT = Path(__file__).resolve().parent.parent
SHARED_MNIST = ROOT.parent / "shared" / "data" / "MNIST"
sys.path.insert(0, str(ROOT))  # bench.harness: the server and browser helpers the benchmarks use too
from bench.harness import CHROMIUM, CHROMIUM_ARGS, free_port, start_streamlit, stop  # noqa: E402,F401

torch.set_num_threads(1)  # tests are small; one thread leaves the other core for the browser and server


@pytest.fixture(scope="session")
def mnist_test() -> vae.Split:
    """The bundled MNIST test split (always available offline)."""
    return vae.load_split("mnist", train=False, root=ROOT / "no-such-data-dir")


@pytest.fixture(scope="session")
def mnist_root(tmp_path_factory) -> Path:
    """A data root holding the four original MNIST files (copied from ../shared/data); skips when absent."""
    if not (SHARED_MNIST / "raw" / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("the MNIST training files are not in ../shared/data/MNIST/raw")
    root = tmp_path_factory.mktemp("data")
    shutil.copytree(SHARED_MNIST, root / "MNIST")
    for p in (root / "MNIST").rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return root


def make_checkpoint(path: Path, mnist_test: vae.Split, latent_dim: int = 2, arch: str = "mlp",
                    hidden=(64, 32), beta: float = 1.0, epochs: int = 1, n: int = 1000) -> Path:
    """Train a tiny model on a slice of the test split (seconds) and write its checkpoint."""
    model_cfg = vae.ModelConfig(arch=arch, latent_dim=latent_dim, hidden=hidden)
    train_cfg = vae.TrainConfig(epochs=epochs, batch_size=100, beta=beta, train_subset=n, threads=1)
    vae.train(model_cfg, train_cfg, mnist_test.subset(n), mnist_test.subset(500), out=path, name=f"tiny {arch}")
    return path


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory, mnist_test) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ck") / "tiny.pt", mnist_test)


def make_finished_run(runs_dir: Path, checkpoint: Path, run_id: str = "20250101-000000-tiny") -> Path:
    """A run folder as a finished `python -m vae train --run-dir` leaves it (run.json, progress.json, the checkpoint,
    two replay frames), without training or a process: for tests of the pages that list runs."""
    import numpy as np

    from vae import runs
    from vae.config import config_to_dict

    ck = vae.load_checkpoint(checkpoint)
    run_dir = Path(runs_dir) / run_id
    (run_dir / "latents").mkdir(parents=True)
    shutil.copy(checkpoint, run_dir / "checkpoint.pt")
    history = ck.history or [{"epoch": e + 1, "train_neg_elbo": 200.0 - e, "train_recon": 190.0 - e,
                              "train_kl": 10.0} for e in range(ck.epoch)]
    runs.write_json_atomic(run_dir / "run.json", {
        "name": ck.name, "demo": True, "pid": None, "created_at": 0.0, "command": ["python", "-m", "vae", "train"],
        "model_config": config_to_dict(ck.model_config), "train_config": config_to_dict(ck.train_config)})
    runs.write_json_atomic(run_dir / "progress.json", {
        "state": "finished", "epoch": ck.epoch, "epochs": ck.epoch, "fraction": 1.0, "history": history,
        "last": {}, "message": ""})
    rng = np.random.default_rng(0)
    np.save(run_dir / "latents" / "labels.npy", np.arange(100) % 10)
    for epoch in (0, ck.epoch):
        np.save(run_dir / "latents" / f"epoch_{epoch:04d}.npy",
                rng.standard_normal((100, ck.model_config.latent_dim)).astype(np.float32))
    return run_dir


@contextmanager
def app_with_a_finished_run(scratch: Path, checkpoint: Path):
    """The app served from a scratch folder (the repository's .streamlit config, no training data) holding one
    finished run (make_finished_run): yields (base url, the run's folder), which a test may edit before it loads."""
    browser_or_skip()
    (scratch / ".streamlit").mkdir()
    shutil.copy(ROOT / ".streamlit" / "config.toml", scratch / ".streamlit" / "config.toml")
    run_dir = make_finished_run(scratch / "runs" / "app", checkpoint)
    proc, url = start_streamlit(str(ROOT / "app.py"), env={"VAE_DATA_DIR": str(scratch / "data")}, cwd=scratch)
    try:
        yield url, run_dir
    finally:
        stop(proc)


# ---- browser harness -------------------------------------------------------------------------------------------

def browser_or_skip():
    """Skip (or fail when VAE_REQUIRE_BROWSER=1, as in CI) when Chromium or Playwright is missing."""
    reason = None
    if not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium chromium-driver)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the playwright Python package is not installed"
    if reason:
        if os.environ.get("VAE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser test required but cannot run: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def app_server():
    browser_or_skip()
    proc, url = start_streamlit()
    yield url
    stop(proc)


@pytest.fixture(scope="session")
def browser():
    browser_or_skip()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()


def settled(page) -> None:
    """Two animation frames: what the page had been asked to draw (a resize, a scroll) is on screen."""
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def rerun_by(page, action, timeout_ms: int = 60000) -> None:
    """Do action() on a page at rest and wait for the script run it causes to finish. Streamlit marks the app
    running only 20-40 ms after the click (measured), so "not running" right after an action says nothing: this
    watches for the change (so the page must not be running already, or a rerun folded into that run is missed)."""
    wait_for_app(page, timeout_ms)
    page.evaluate("""() => { window.__runSeen = false;
        const app = document.querySelector("[data-testid=stApp]");
        const seen = new MutationObserver(() => {
            if (app.getAttribute("data-test-script-state") === "running") {
                window.__runSeen = true; seen.disconnect(); } });
        seen.observe(app, {attributes: true, attributeFilter: ["data-test-script-state"]}); }""")
    action()
    page.wait_for_function("""() => window.__runSeen && document.querySelector(
        "[data-testid=stApp][data-test-script-state=notRunning]")""", timeout=timeout_ms)


def wait_for_app(page, timeout_ms: int = 60000) -> None:
    """Wait until Streamlit has finished running the script and drawn what it sent, and shows no exception. (Right
    after an action the app still reads "not running" for 20-40 ms: wait for what the action should show, or use
    rerun_by.)"""
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=timeout_ms)
    settled(page)
    assert page.locator("[data-testid=stException]").count() == 0, page.locator(
        "[data-testid=stException]").first.inner_text()


# ---- AppTest helpers ---------------------------------------------------------------------------------------------

def open_app_page(path: str, timeout: float = 300, query: dict | None = None, **state):
    """Run one page file under AppTest with some session state (and URL query parameters) set first; fails on an
    exception."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(path, default_timeout=timeout)  # generous: a busy 2-core box imports torch slowly
    for key, value in state.items():
        at.session_state[key] = value
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def page_texts(at) -> str:
    """All markdown and captions of a page, as one string to search."""
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


BROWSER_FIXTURES = {"browser", "page", "app_server"}


def pytest_collection_modifyitems(config, items):
    """Every test that needs Chromium carries the `browser` mark, so `-m "not browser"` starts no browser at all:
    those using the browser fixtures, and the JS decoder's checks when node is missing (they fall back to
    Chromium)."""
    no_node = shutil.which("node") is None
    for item in items:
        uses = set(getattr(item, "fixturenames", ()))
        if uses & BROWSER_FIXTURES or (no_node and item.module.__name__.endswith("test_latent_pad_decoder")):
            item.add_marker(pytest.mark.browser)


def run_cli(*args, env=None) -> subprocess.CompletedProcess:
    """`python -m vae ARGS`, run in this process (vae.cli.main) with its output captured: a new interpreter per call
    would import torch again, 2-3 s each. The real entry point runs once, in tests/test_cli.py."""
    out, err = io.StringIO(), io.StringIO()
    threads = torch.get_num_threads()  # `train --threads` sets it for the process
    with mock.patch.dict(os.environ, env or {}), redirect_stdout(out), redirect_stderr(err):
        try:
            from vae.cli import main
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse: --help (0), a bad flag (2)
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            torch.set_num_threads(threads)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def typed_array_values(spec) -> np.ndarray:
    """The inverse of typed_array: the numbers a figure holds (ui.plots.typed_array writes them)."""
    if isinstance(spec, dict) and "bdata" in spec:
        return np.frombuffer(base64.b64decode(spec["bdata"]), np.dtype("<" + spec["dtype"]))
    return np.asarray(spec)

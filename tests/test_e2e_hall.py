"""End to end in Chromium through HAProxy: two "hosts" (replicas bound to 127.0.0.2 and 127.0.0.3, each started by
its own serve.py, one of them with the proxy and a --remote line for the other) share one folder for runs/ and the
cache. A student on host A starts a training run; a student on host B sees it training. Host A's replica is killed
with SIGKILL mid-class: the student on B sees no error and keeps watching the run, which goes on; the student of the
dead replica gets a working Explore page again through the proxy (Streamlit's frontend reconnects, the proxy sends it
to B) and a drag there decodes a digit and reaches Python; the run is visible from there too, and B stops it (Stop
from another replica than the one that started it)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, browser_or_skip, free_port, wait_for_app
from test_serve import haproxy_or_skip, kill_quietly, serve_info, start_serve
from ui import supervisor

sys.path.insert(0, str(ROOT))
from bench.browser import DRAW_HOOK, synth_small_drag, wait_for_explore  # noqa: E402

pytestmark = pytest.mark.browser
WAIT_MS = int(os.environ.get("VAE_E2E_WAIT_MS", 300_000))  # generous: a busy 2-core machine can take minutes


def student(browser, proxy: str, replica: str):
    """A new browser (context) whose HAProxy cookie names `replica`, as if the proxy had put it there."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(DRAW_HOOK)
    context.add_cookies([{"name": "vae_replica", "value": replica, "url": proxy}])
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    return context, page


def cookie(context) -> str:
    return next((c["value"] for c in context.cookies() if c["name"] == "vae_replica"), "")


def text_on(page, text: str) -> None:
    page.get_by_text(text, exact=False).first.wait_for(timeout=WAIT_MS)


def no_exception(page) -> None:
    assert page.locator("[data-testid=stException]").count() == 0


@pytest.fixture
def hall(tmp_path):
    """Host B (replica on 127.0.0.3, no proxy) and host A (replica on 127.0.0.2, HAProxy on 127.0.0.1, B as
    --remote), one shared folder. Yields (proxy url, A's replica, B's server name, shared folder)."""
    browser_or_skip()
    haproxy_or_skip()
    shared = tmp_path / "shared"
    env = {"VAE_DATA_DIR": str(tmp_path / "no-data")}  # no training split: the demo path, on any checkout
    procs: list[subprocess.Popen] = []
    pids: list[int] = []
    try:
        port_b = free_port()  # (serve.py checks it is free on 127.0.0.3)
        b, _ = start_serve("--no-proxy", "--replicas", "1", "--replica-address", "127.0.0.3", "--replica-port",
                           str(port_b), "--shared", str(shared), info=tmp_path / "b.json", env=env)
        procs.append(b)
        info_b = serve_info(tmp_path / "b.json")
        pids += [r["pid"] for r in info_b["replicas"]]
        a, proxy = start_serve("--replicas", "1", "--replica-address", "127.0.0.2", "--remote",
                               f"127.0.0.3:{port_b}", "--shared", str(shared), "--address", "127.0.0.1", "--port",
                               str(free_port()), info=tmp_path / "a.json", env=env)
        procs.append(a)
        info_a = serve_info(tmp_path / "a.json")
        pids += [r["pid"] for r in info_a["replicas"]] + [info_a["haproxy_pid"]]
        yield proxy, info_a["replicas"][0], f"remote_127_0_0_3_{port_b}", shared, tmp_path / "a.json"
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        for s in supervisor.list_runs(shared / "runs"):  # the run this test started
            if s.active and s.pid:
                kill_quietly(s.pid)
        for pid in pids:
            kill_quietly(pid)


def test_a_replica_dies_mid_class(hall, browser):
    proxy, replica_a, name_b, shared, info_a = hall
    ctx_a, page_a = student(browser, proxy, replica_a["name"])
    ctx_b, page_b = student(browser, proxy, name_b)
    try:
        # On A: start a long training run (demo: the bundled test split).
        page_a.goto(proxy + "/train", timeout=WAIT_MS)
        wait_for_app(page_a, WAIT_MS)
        page_a.locator("input[aria-label='Run name']").fill("hall run")
        page_a.locator("input[aria-label='Hidden layers']").fill("64,32")
        page_a.locator("input[aria-label='Epochs']").fill("500")
        page_a.locator("input[aria-label='Training images (0 = all)']").fill("2000")
        page_a.get_by_role("button", name="Start on the bundled test split (demo)").click()
        text_on(page_a, "Epoch ")
        deadline = time.time() + WAIT_MS / 1000
        while not supervisor.list_runs(shared / "runs") and time.time() < deadline:
            time.sleep(0.2)
        [run] = supervisor.list_runs(shared / "runs")
        assert run.name.startswith("hall run") and cookie(ctx_a) == replica_a["name"]

        # On B (the other host): the same run, training.
        page_b.goto(proxy + "/train", timeout=WAIT_MS)
        wait_for_app(page_b, WAIT_MS)
        text_on(page_b, "hall run")
        text_on(page_b, "· training")
        assert cookie(ctx_b) == name_b

        page_a.goto(proxy + "/", timeout=WAIT_MS)
        wait_for_app(page_a, WAIT_MS)
        wait_for_explore(page_a, WAIT_MS)

        # Kill A's replica: the one that started the training process.
        epoch_at_kill = supervisor.read_status(run.run_dir).epoch
        killed = time.perf_counter()
        os.kill(replica_a["pid"], signal.SIGKILL)

        # A's student: the frontend reconnects through the proxy, which sends it to B; the page works again.
        page_a.wait_for_function("() => !!window.__latentPad", timeout=WAIT_MS)
        deadline = time.time() + WAIT_MS / 1000
        while cookie(ctx_a) != name_b and time.time() < deadline:
            time.sleep(0.1)
        assert cookie(ctx_a) == name_b  # HAProxy moved this browser to the live replica
        wait_for_explore(page_a, WAIT_MS)
        moved, step = None, 0
        while moved is None and time.time() < deadline:  # a release reaches Python on the new replica
            step += 1  # somewhere new each time: the same z again would not change Python's line
            moved = synth_small_drag(page_a, 0.3 + 0.03 * (step % 10), 0.35 + 0.02 * (step % 7), timeout_ms=5_000)
        recovered_s = time.perf_counter() - killed
        print(f"\nthe dead replica's student had a working page again after {recovered_s:.1f} s")
        assert moved is not None
        no_exception(page_a)
        draws = page_a.evaluate("() => window.__latentPad.draws")
        assert draws > 0  # the surface decoded a digit in this browser

        # B's student: no error, the run goes on and stays visible.
        no_exception(page_b)
        assert cookie(ctx_b) == name_b
        deadline = time.time() + WAIT_MS / 1000
        while supervisor.read_status(run.run_dir).epoch <= epoch_at_kill + 1 and time.time() < deadline:
            time.sleep(0.5)
        status = supervisor.read_status(run.run_dir)
        assert status.state == "running" and status.epoch > epoch_at_kill + 1  # training goes on
        text_on(page_b, "· training")

        # A's student sees it too, now through B; B (which did not start it) stops it for everyone.
        page_a.goto(proxy + "/train", timeout=WAIT_MS)
        wait_for_app(page_a, WAIT_MS)
        text_on(page_a, "· training")
        page_b.get_by_role("button", name="Stop", exact=True).click()
        page_b.get_by_role("button", name="Stop it for everyone").click()
        text_on(page_b, "· stopped")
        assert supervisor.read_status(run.run_dir).state == "stopped"
        text_on(page_a, "· stopped")
        no_exception(page_a)
        no_exception(page_b)
        replicas_now = json.loads(Path(info_a).read_text())["replicas"]
        assert replicas_now[0]["pid"] != replica_a["pid"]  # serve.py started the dead replica again
    finally:
        ctx_a.close()
        ctx_b.close()

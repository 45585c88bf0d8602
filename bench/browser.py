"""Browser benchmark of the Explore page: starts the app, drives headless Chromium, prints one JSON line.

    python bench/browser.py --json

cold_start_s             server spawn -> first full render with the default model (map drawn, pad decoding);
                         the median of --cold-starts starts (this machine's timings vary by a second or more)
drag_fps                 digit redraws per second during a drag synthesised in the page, one pointer move per frame
input_to_paint_p95_ms    pointer move -> the next frame after the digit was redrawn (i.e. painted)
release_to_python_p95_ms pointer release -> Python's readout of z updated on the page and painted
(drag and releases are measured once the server is idle: after the first page it imports torch in the
background, a one-time ~2 s of work, see ui.state.warm_up_torch)
Goals: drag_fps >= 55, input->paint p95 <= 20 ms, release->Python p95 <= 100 ms, cold start <= 3 s.

    python bench/browser.py --beta-dial --json

measures only the KL lab's beta dial at 1440 x 900 (bench/dial.py): beta dragged over its whole range, one slider
step per animation frame. beta_dial_fps = panel redraws per second (each redraw: the 10k-point map interpolated,
124 digits decoded at that beta, half of them in a Web Worker, the rate-distortion point); beta_dial_fps_without_worker
= the same with every digit decoded on the page's thread; beta_dial_frame_ms_p50/p95 = one redraw's time;
map_changed_share / manifold_changed_share = the share of consecutive redraws in which they changed. Goal: >= 30 fps.
The browser is launched before the server (its start-up is not part of cold start), with an empty profile: like a
student's first visit, it downloads and compiles Streamlit's frontend and Plotly's 4.7 MB chart bundle.
Two figures put cold_start_s in context:
cold_start_returning_browser_s  the same, but a second server start (same port) with the browser that already
                                visited: its HTTP cache holds the frontend (the teacher restarting the app)
plotly_page_floor_s             server spawn -> first render of a page with nothing but one 10k-point Scattergl
                                chart, empty browser profile: what any Streamlit app with this map costs here
The server, the browser and this script share the CPU with anything else running, so a busy machine gives
pessimistic numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import CHROMIUM, CHROMIUM_ARGS, free_port, start_streamlit, stop  # noqa: E402
from bench.dial import drag_beta, open_dial  # noqa: E402
from ui.state import WARM_UP_DELAY_S  # noqa: E402

FLOOR_PAGE = """
import numpy as np, plotly.graph_objects as go, streamlit as st
xy = np.random.default_rng(0).standard_normal((10000, 2))
st.plotly_chart(go.Figure(go.Scattergl(x=xy[:, 0], y=xy[:, 1], mode="markers")))
"""

# Counts every putImageData on the pad's digit canvas, independently of the component's own counters.
DRAW_HOOK = """
window.__digitDraws = [];
const _put = CanvasRenderingContext2D.prototype.putImageData;
CanvasRenderingContext2D.prototype.putImageData = function (...args) {
  if (this.canvas.classList && this.canvas.classList.contains("lp-digit")) window.__digitDraws.push(performance.now());
  return _put.apply(this, args);
};
"""

FIND_PAD = """
() => {
  for (const el of document.querySelectorAll("*")) {
    const pad = el.shadowRoot && el.shadowRoot.querySelector("canvas.lp-pad");
    if (pad) return pad;
  }
  return null;
}
"""

# A drag synthesised in the page: pointerdown, then one pointermove per animation frame along a Lissajous path,
# then pointerup. For every move it records the time from the event to the next frame after a redraw.
SYNTH_DRAG = """
async ([seconds]) => {
  const pad = (%s)();
  const r = pad.getBoundingClientRect();
  const at = (t) => [r.left + r.width * (0.5 + 0.4 * Math.sin(2.1 * t)), r.top + r.height * (0.5 + 0.4 * Math.sin(1.3 * t))];
  const fire = (type, [x, y]) => pad.dispatchEvent(new PointerEvent(type, {clientX: x, clientY: y, bubbles: true,
      pointerId: 1, pointerType: "mouse", isPrimary: true, buttons: type === "pointerup" ? 0 : 1}));
  const frame = () => new Promise(requestAnimationFrame);
  await frame();
  const draws = window.__digitDraws;
  const start = performance.now();
  fire("pointerdown", at(0));
  const latencies = [];
  let frames = 0, framesWithDraw = 0, pending = null;
  while (true) {
    const now = await frame();
    if (pending !== null) {  // the previous move was drawn before this frame began: it has been painted
      if (draws.length > pending.drawsBefore) { latencies.push(now - pending.t); framesWithDraw += 1; }
      frames += 1;
    }
    if (performance.now() - start > seconds * 1000) break;
    const t = performance.now();
    pending = {t, drawsBefore: draws.length};
    fire("pointermove", at((t - start) / 1000));
  }
  const end = performance.now();
  const during = draws.filter((d) => d >= start && d <= end).length;
  fire("pointerup", at((end - start) / 1000));
  return {seconds: (end - start) / 1000, draws: during, frames, framesWithDraw, latencies};
}
""" % FIND_PAD

# One click-release at a point of the pad; resolves with release -> Python readout changed -> next frame (ms).
SYNTH_RELEASE = """
async ([fx, fy]) => {
  const pad = (%s)();
  const r = pad.getBoundingClientRect();
  const p = {clientX: r.left + fx * r.width, clientY: r.top + fy * r.height, bubbles: true, pointerId: 1,
             pointerType: "mouse", isPrimary: true};
  const readout = () => [...document.querySelectorAll("[data-testid=stMarkdownContainer]")]
      .map((e) => e.innerText).find((t) => t.includes("Python received")) || "";
  const before = readout();
  return await new Promise((resolve) => {
    let t0 = null;
    const obs = new MutationObserver(() => {
      if (t0 !== null && readout() !== before) {
        obs.disconnect();
        requestAnimationFrame(() => resolve(performance.now() - t0));
      }
    });
    obs.observe(document.body, {subtree: true, childList: true, characterData: true});
    pad.dispatchEvent(new PointerEvent("pointerdown", {...p, buttons: 1}));
    t0 = performance.now();
    pad.dispatchEvent(new PointerEvent("pointerup", {...p, buttons: 0}));
    setTimeout(() => { obs.disconnect(); resolve(null); }, 5000);
  });
}
""" % FIND_PAD


def wait_for_explore(page, timeout_ms: int = 120000) -> None:
    """Script finished, the pad has its weights and decoded once, and the WebGL map exists."""
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=timeout_ms)
    page.wait_for_function("window.__latentPad && window.__latentPad.ready && window.__digitDraws.length > 0",
                           timeout=timeout_ms)
    page.wait_for_selector(".js-plotly-plot .gl-container canvas, .js-plotly-plot canvas", timeout=timeout_ms)


def time_to_first_render(context, script: str, cwd: Path, port: int, ready, timeout_ms: int, keep: bool = False):
    """Server spawn -> ready(page) in a new tab of `context`. Returns (seconds, page, server); the server is stopped
    unless keep."""
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    spawn = time.perf_counter()
    proc, url = start_streamlit(script, cwd=cwd, port=port)
    try:
        page.goto(url)
        ready(page, timeout_ms)
        seconds = time.perf_counter() - spawn
    except BaseException:
        stop(proc)
        raise
    if not keep:
        stop(proc)
    return seconds, page, proc


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def wait_until_idle(pid: int, quiet_s: float = 1.0, max_s: float = 60.0) -> float:
    """Wait until the server has used < 5% of a core for quiet_s: after the first page it imports torch in the
    background (ui.state.warm_up_torch), once per process; interaction is measured in the steady state after it."""
    start = time.perf_counter()
    before = cpu_seconds(pid)
    while time.perf_counter() - start < max_s:
        time.sleep(quiet_s)
        now = cpu_seconds(pid)
        if now - before < 0.05 * quiet_s:
            break
        before = now
    return time.perf_counter() - start


def wait_for_map(page, timeout_ms: int) -> None:
    page.wait_for_selector(".js-plotly-plot .gl-container canvas", timeout=timeout_ms)


def median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2]


def synth_drag(page, seconds: float) -> dict:
    return page.evaluate(SYNTH_DRAG, [seconds])


def synth_release(page, fx: float, fy: float) -> float | None:
    return page.evaluate(SYNTH_RELEASE, [fx, fy])


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]


def training_running() -> bool:
    return subprocess.run(["pgrep", "-f", "train_models.sh"], capture_output=True).returncode == 0


def beta_dial(seconds: float, timeout_ms: int) -> dict:
    """The beta dial's frame rate while beta is dragged, on a warm server (see the module docstring)."""
    from playwright.sync_api import sync_playwright
    proc, url = start_streamlit()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
            open_dial(page, url, timeout_ms)
            page.wait_for_timeout(1000 * (WARM_UP_DELAY_S + 0.5))
            wait_until_idle(proc.pid)
            alone = drag_beta(page, seconds, worker=False)
            drag = drag_beta(page, seconds)
            browser.close()
    finally:
        stop(proc)
    costs = sorted(drag["costs"])
    return {"beta_dial_fps": round(drag["frames"] / drag["seconds"], 1),
            "beta_dial_fps_without_worker": round(alone["frames"] / alone["seconds"], 1),
            "beta_dial_frames": drag["frames"],
            "beta_dial_slider_steps": drag["steps"], "beta_dial_seconds": round(drag["seconds"], 2),
            "beta_dial_frame_ms_p50": round(costs[len(costs) // 2], 1) if costs else None,
            "beta_dial_frame_ms_p95": round(p95(costs), 1) if costs else None,
            "map_changed_share": round(drag["mapChanged"], 3),
            "manifold_changed_share": round(drag["manifoldChanged"], 3),
            "training_job_running": training_running(), "load_avg_1min": round(os.getloadavg()[0], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.add_argument("--drag-seconds", type=float, default=3.0)
    parser.add_argument("--releases", type=int, default=12)
    parser.add_argument("--cold-starts", type=int, default=3, help="server starts per cold-start figure (median)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for each page state")
    parser.add_argument("--beta-dial", action="store_true", help="measure only the KL lab's beta dial")
    args = parser.parse_args()
    if args.beta_dial:
        print(json.dumps(beta_dial(args.drag_seconds, int(args.timeout * 1000))))
        return

    from playwright.sync_api import sync_playwright
    timeout_ms = int(args.timeout * 1000)
    port = free_port()  # the same for every server start, so a returning browser finds its cache
    new_context = lambda b: b.new_context(viewport={"width": 1400, "height": 1000})  # noqa: E731
    with sync_playwright() as p, tempfile.TemporaryDirectory() as floor_dir:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        (Path(floor_dir) / "floor.py").write_text(FLOOR_PAGE)
        cold, returning, floor = [], [], []
        for _ in range(args.cold_starts):  # a student's first visit: an empty browser profile every time
            context = new_context(browser)
            context.add_init_script(DRAW_HOOK)
            seconds, _, _ = time_to_first_render(context, "app.py", ROOT, port, wait_for_explore, timeout_ms)
            cold.append(seconds)
            context.close()
        context = new_context(browser)  # the teacher restarting the server: the browser has been here before
        context.add_init_script(DRAW_HOOK)
        for i in range(args.cold_starts + 1):
            seconds, page, _ = time_to_first_render(context, "app.py", ROOT, port, wait_for_explore, timeout_ms)
            if i:  # the first visit only fills the cache
                returning.append(seconds)
            page.close()
        context.close()
        for _ in range(args.cold_starts):
            context = new_context(browser)
            floor.append(time_to_first_render(context, "floor.py", Path(floor_dir), port, wait_for_map,
                                              timeout_ms)[0])
            context.close()

        context = new_context(browser)  # interaction on a freshly started server
        context.add_init_script(DRAW_HOOK)
        _, page, proc = time_to_first_render(context, "app.py", ROOT, port, wait_for_explore, timeout_ms, keep=True)
        try:
            page.wait_for_timeout(1000 * (WARM_UP_DELAY_S + 0.5))  # the background import starts after this
            idle_wait = WARM_UP_DELAY_S + 0.5 + wait_until_idle(proc.pid)
            drag = synth_drag(page, args.drag_seconds)
            page.wait_for_timeout(1000)
            releases = []
            for i in range(args.releases):
                value = synth_release(page, 0.2 + 0.6 * ((i * 0.37) % 1), 0.2 + 0.6 * ((i * 0.61) % 1))
                if value is not None:
                    releases.append(value)
                page.wait_for_timeout(150)
        finally:
            stop(proc)
        browser.close()
    result = {
        "cold_start_s": round(median(cold), 2),
        "cold_start_returning_browser_s": round(median(returning), 2),
        "plotly_page_floor_s": round(median(floor), 2),
        "cold_starts_each_s": {"first_visit": [round(x, 2) for x in cold],
                               "returning_browser": [round(x, 2) for x in returning],
                               "plotly_floor": [round(x, 2) for x in floor]},
        "drag_fps": round(drag["draws"] / drag["seconds"], 1),
        "waited_for_idle_server_s": round(idle_wait, 1),
        "input_to_paint_p95_ms": round(p95(drag["latencies"]), 1) if drag["latencies"] else None,
        "release_to_python_p95_ms": round(p95(releases), 1) if releases else None,
        "drag_frames": drag["frames"], "drag_frames_with_redraw": drag["framesWithDraw"],
        "releases_measured": f"{len(releases)}/{args.releases}",
        "release_to_python_p50_ms": round(sorted(releases)[len(releases) // 2], 1) if releases else None,
        "derived_files_in_cache_folder": sum(1 for f in (ROOT / "cache").rglob("*") if f.is_file()),
        "training_job_running": training_running(), "load_avg_1min": round(os.getloadavg()[0], 2),
    }
    if not args.json:
        print(__doc__)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

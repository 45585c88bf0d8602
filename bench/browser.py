"""Browser benchmark of the Explore page: starts the app, drives headless Chromium, prints one JSON line.

    python bench/browser.py --json

cold_start_s             server spawn -> first full render with the default model (map drawn, pad decoding)
drag_fps                 digit redraws per second during a drag synthesised in the page, one pointer move per frame
input_to_paint_p95_ms    pointer move -> the next frame after the digit was redrawn (i.e. painted)
release_to_python_p95_ms pointer release -> Python's readout of z updated on the page and painted
Goals: drag_fps >= 55, input->paint p95 <= 20 ms, release->Python p95 <= 100 ms, cold start <= 3 s.
The browser is launched before the server (its start-up is not part of cold start). The server, the browser and
this script share the CPU with anything else running, so a busy machine gives pessimistic numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import CHROMIUM, CHROMIUM_ARGS, start_streamlit  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.add_argument("--drag-seconds", type=float, default=3.0)
    parser.add_argument("--releases", type=int, default=12)
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for each page state")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright
    encodings_cached = any((ROOT / "cache" / "encodings").glob("*.npz"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_init_script(DRAW_HOOK)
        page = context.new_page()
        page.set_default_timeout(args.timeout * 1000)  # a busy 2-core machine can take long
        spawn = time.perf_counter()
        proc, url = start_streamlit(cwd=ROOT)
        try:
            page.goto(url)
            wait_for_explore(page, int(args.timeout * 1000))
            cold_start = time.perf_counter() - spawn
            page.wait_for_timeout(500)
            drag = synth_drag(page, args.drag_seconds)
            page.wait_for_timeout(1000)
            releases = []
            for i in range(args.releases):
                value = synth_release(page, 0.2 + 0.6 * ((i * 0.37) % 1), 0.2 + 0.6 * ((i * 0.61) % 1))
                if value is not None:
                    releases.append(value)
                page.wait_for_timeout(150)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
            browser.close()
    result = {
        "cold_start_s": round(cold_start, 2),
        "drag_fps": round(drag["draws"] / drag["seconds"], 1),
        "input_to_paint_p95_ms": round(p95(drag["latencies"]), 1) if drag["latencies"] else None,
        "release_to_python_p95_ms": round(p95(releases), 1) if releases else None,
        "drag_frames": drag["frames"], "drag_frames_with_redraw": drag["framesWithDraw"],
        "releases_measured": f"{len(releases)}/{args.releases}",
        "release_to_python_p50_ms": round(sorted(releases)[len(releases) // 2], 1) if releases else None,
        "encodings_cached_on_disk": encodings_cached,
        "training_job_running": training_running(), "load_avg_1min": round(os.getloadavg()[0], 2),
    }
    if not args.json:
        print(__doc__)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

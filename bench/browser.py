"""Browser benchmark of the Explore page (one surface: the latent map is the decoder): starts the app, drives
headless Chromium, prints one JSON line.

    python bench/browser.py --json            # ~3 min on 2 cores

cold_start_s                  server spawn -> the Explore page drawn: the script has finished, the surface has its
                              decoder (window.__latentPad.ready) and has decoded its first digit; every start with an
                              EMPTY browser profile (a new context: nothing cached, like a student's first visit);
                              the median of --cold-starts starts
bare_page_s                   the same, measured the same way in the same run (starts interleaved with the Explore
                              ones), for a one-line app `import streamlit as st; st.title("x")` with the app's
                              .streamlit/config.toml: what any Streamlit page costs on this machine
cold_start_ratio              cold_start_s / bare_page_s: what the Explore page adds to Streamlit itself
drag_fps                      digit redraws per second during a drag synthesised in the page, one pointer move per
                              animation frame along a Lissajous path (SYNTH_DRAG)
input_to_paint_p95_ms         pointer move -> the next frame after the digit was redrawn (i.e. painted)
select_to_highlight_p95_ms    a click on a test digit's dot (at __latentPad.pointPx(k), a dot with no other within
                              8 px; pointerdown, the next frame, pointerup), from the pointerup -> the surface shows
                              k selected (__latentPad.selected === k) and a frame has begun after the frame that
                              drew it (__latentPad.highlightMs)
select_to_python_p95_ms       the same click -> Python's "Test digit #k" shown on the page, then the next frame
release_to_python_p95_ms      the release of a small drag (down, two moves of 6 px, up: a plain click would select
                              a dot) -> Python's "Python received z = ..." changed on the page, then the next frame
phone_drawn_to_first_decode_s a phone (390 x 844, touch, empty profile) opening the page on the warm server: from
                              the page drawn (script finished, title shown) to the surface's first decoded digit,
                              the median of --phone-visits visits; phone_first_decode_s: the same first decode
                              from the start of navigation
Goals: cold_start_ratio <= 1.4, drag_fps >= 55, input->paint p95 <= 20 ms, select->highlight p95 <= 50 ms,
select->Python p95 <= 200 ms, release->Python p95 <= 100 ms, phone: first decode <= 2 s after the page is drawn.
Interaction is measured on one freshly started server once it is idle (after the first page it imports torch in
the background, a one-time ~2 s of work, see ui.state.warm_up_torch). The server, the browser and this script share
the CPU with anything else running (load_avg_*, training_jobs in the JSON), so a busy machine gives pessimistic
numbers; each run's numbers are in the JSON too (cold_starts_each_s, *_each_ms).

    python bench/browser.py --beta-dial --json

measures only the KL lab's beta dial at 1440 x 900 (bench/dial.py): beta dragged over its whole range, one slider
step per animation frame. beta_dial_fps = panel redraws per second (each redraw: the 10k-point map interpolated,
124 digits decoded at that beta, half of them in a Web Worker, the rate-distortion point); beta_dial_fps_without_worker
= the same with every digit decoded on the page's thread; beta_dial_frame_ms_p50/p95 = one redraw's time;
map_changed_share / manifold_changed_share = the share of consecutive redraws in which they changed. Goal: >= 30 fps.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
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

BARE_PAGE = 'import streamlit as st; st.title("x")\n'

# Counts every putImageData on the surface's digit canvas, independently of the component's own counters.
DRAW_HOOK = """
window.__digitDraws = [];
const _put = CanvasRenderingContext2D.prototype.putImageData;
CanvasRenderingContext2D.prototype.putImageData = function (...args) {
  if (this.canvas.classList && this.canvas.classList.contains("lp-digit")) window.__digitDraws.push(performance.now());
  return _put.apply(this, args);
};
"""

# The surface's canvas inside the component's shadow root (the last one: Reconstruct may show more than one).
FIND_PAD = """
() => {
  let found = null;
  for (const el of document.querySelectorAll("*")) {
    const pad = el.shadowRoot && el.shadowRoot.querySelector("canvas.lp-pad");
    if (pad) found = pad;
  }
  return found;
}
"""

# The Explore page is drawn: the script has finished, the surface has its decoder and has decoded a digit.
EXPLORE_DRAWN = """
() => !!(document.querySelector("[data-testid=stApp][data-test-script-state=notRunning]")
         && window.__latentPad && window.__latentPad.ready && window.__latentPad.draws > 0)
"""

# The bare page is drawn: the script has finished and its title is on the page.
BARE_DRAWN = """
() => { const h = document.querySelector("h1");
        return !!(h && h.innerText.trim() === "x"
                  && document.querySelector("[data-testid=stApp][data-test-script-state=notRunning]")); }
"""

# A drag synthesised in the page: pointerdown, then one pointermove per animation frame along a Lissajous path,
# then pointerup. For every move it records the time from the event to the next frame after a redraw.
SYNTH_DRAG = """
async ([seconds]) => {
  const pad = (%s)();
  const r = pad.getBoundingClientRect();
  const at = (t) => [r.left + r.width * (0.5 + 0.4 * Math.sin(2.1 * t)),
                     r.top + r.height * (0.5 + 0.4 * Math.sin(1.3 * t))];
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

# Test digits a click can select without doubt: on the view, inside the middle of the surface (clear of the zoom
# buttons), no other visible dot within `gap` px. Returns up to `count` of them, spread over the digits' indices:
# [{k, x, y}] in viewport pixels (__latentPad.pointPx).
ISOLATED_DIGITS = """
([count, gap, margin]) => {
  const S = window.__latentPad, r = S.surfaceRect();
  const pts = [];
  for (let k = 0; k < 100000; k++) {
    const p = S.pointPx(k);
    if (p && !Number.isFinite(p.x)) break;  // past the last digit
    pts.push(p);
  }
  const cell = Math.max(gap, 1), grid = new Map(), key = (i, j) => i * 100003 + j;
  pts.forEach((p, k) => {
    if (!p) return;
    const c = key(Math.floor(p.x / cell), Math.floor(p.y / cell));
    if (!grid.has(c)) grid.set(c, []);
    grid.get(c).push(k);
  });
  const inside = (p) => p.x > r.x + margin * r.w && p.x < r.x + (1 - margin) * r.w
                     && p.y > r.y + margin * r.h && p.y < r.y + (1 - margin) * r.h;
  const alone = (k) => {
    const p = pts[k], i = Math.floor(p.x / cell), j = Math.floor(p.y / cell);
    for (let a = i - 1; a <= i + 1; a++) for (let b = j - 1; b <= j + 1; b++)
      for (const m of grid.get(key(a, b)) || [])
        if (m !== k && Math.hypot(pts[m].x - p.x, pts[m].y - p.y) < gap) return false;
    return true;
  };
  const found = [];
  const stride = Math.max(1, Math.floor(pts.length / (4 * count)));
  for (let s = 0; s < stride && found.length < count; s++)
    for (let k = s; k < pts.length && found.length < count; k += stride)
      if (pts[k] && inside(pts[k]) && alone(k)) found.push({k, x: pts[k].x, y: pts[k].y});
  return found;
}
"""

# Texts of Python's markdown on the page (not the component's own, which lives in a shadow root).
MARKDOWN = """() => [...document.querySelectorAll("[data-testid=stMarkdownContainer]")].map((e) => e.innerText)"""

# A click on test digit k's dot at (x, y): pointerdown, pointerup. Resolves with {highlight, python} in ms from the
# pointerup: until the surface shows k selected and a frame has begun after the one that drew it; until Python's
# "Test digit #k (label" is on the page and the next frame has begun. null for what did not come within timeoutMs.
SYNTH_SELECT = """
async ([k, x, y, timeoutMs]) => {
  const pad = (%s)(), S = window.__latentPad;
  const p = {clientX: x, clientY: y, bubbles: true, pointerId: 1, pointerType: "mouse", isPrimary: true, button: 0};
  const shown = () => [...document.querySelectorAll("[data-testid=stMarkdownContainer]")]
      .some((e) => e.innerText.includes(`Test digit #${k} (label`));
  await new Promise(requestAnimationFrame);
  pad.dispatchEvent(new PointerEvent("pointerdown", {...p, buttons: 1}));
  await new Promise(requestAnimationFrame);  // a hand's click spans frames: the press has been drawn
  return await new Promise((resolve) => {
    let t0 = null, drawnAt = null, highlight = null, python = null, pythonSeen = false, done = false;
    const finish = (force) => {
      if (done || (!force && (highlight === null || python === null))) return;
      done = true;
      obs.disconnect();
      resolve({highlight, python});
    };
    const obs = new MutationObserver(() => {
      if (!pythonSeen && shown()) {
        pythonSeen = true;
        requestAnimationFrame(() => { python = performance.now() - t0; finish(false); });
      }
    });
    obs.observe(document.body, {subtree: true, childList: true, characterData: true});
    const loop = (ts) => {
      if (done) return;
      if (highlight === null) {
        if (drawnAt === null && S.selected === k) drawnAt = S.highlightMs;
        if (drawnAt !== null && ts >= drawnAt) { highlight = performance.now() - t0; finish(false); }
      }
      requestAnimationFrame(loop);
    };
    t0 = performance.now();
    pad.dispatchEvent(new PointerEvent("pointerup", {...p, buttons: 0}));
    requestAnimationFrame(loop);
    setTimeout(() => finish(true), timeoutMs);
  });
}
""" % FIND_PAD

# A small drag from (fx, fy) (fractions of the surface): pointerdown, a move of 6 px per frame twice, pointerup.
# Resolves with pointerup -> Python's "Python received" text changed -> the next frame (ms), or null.
SYNTH_SMALL_DRAG = """
async ([fx, fy, timeoutMs]) => {
  const pad = (%s)();
  const r = pad.getBoundingClientRect();
  const frame = () => new Promise(requestAnimationFrame);
  const fire = (type, dx) => pad.dispatchEvent(new PointerEvent(type, {
      clientX: r.left + fx * r.width + dx, clientY: r.top + fy * r.height + dx / 2, bubbles: true, pointerId: 1,
      pointerType: "mouse", isPrimary: true, button: 0, buttons: type === "pointerup" ? 0 : 1}));
  const readout = () => [...document.querySelectorAll("[data-testid=stMarkdownContainer]")]
      .map((e) => e.innerText).find((t) => t.includes("Python received")) || "";
  const before = readout();
  await frame();
  fire("pointerdown", 0);
  await frame();
  fire("pointermove", 6);
  await frame();
  fire("pointermove", 12);
  await frame();
  return await new Promise((resolve) => {
    let t0 = null, done = false;
    const obs = new MutationObserver(() => {
      if (!done && readout() !== before) {
        done = true;
        obs.disconnect();
        requestAnimationFrame(() => resolve(performance.now() - t0));
      }
    });
    obs.observe(document.body, {subtree: true, childList: true, characterData: true});
    t0 = performance.now();
    fire("pointerup", 12);
    setTimeout(() => { if (!done) { done = true; obs.disconnect(); resolve(null); } }, timeoutMs);
  });
}
""" % FIND_PAD


def wait_for_explore(page, timeout_ms: int = 120000) -> None:
    """The Explore page is drawn (EXPLORE_DRAWN): script finished, the surface ready and a digit decoded."""
    page.wait_for_function(EXPLORE_DRAWN, timeout=timeout_ms)


def wait_for_bare(page, timeout_ms: int = 120000) -> None:
    page.wait_for_function(BARE_DRAWN, timeout=timeout_ms)


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


def median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2]


def synth_drag(page, seconds: float) -> dict:
    return page.evaluate(SYNTH_DRAG, [seconds])


def isolated_digits(page, count: int, gap_px: float = 8.0, margin: float = 0.15) -> list[dict]:
    """Test digits whose dot a click selects without doubt: [{k, x, y}] (see ISOLATED_DIGITS)."""
    return page.evaluate(ISOLATED_DIGITS, [count, gap_px, margin])


def synth_select(page, k: int, x: float, y: float, timeout_ms: int = 10000) -> dict:
    return page.evaluate(SYNTH_SELECT, [k, x, y, timeout_ms])


def synth_small_drag(page, fx: float, fy: float, timeout_ms: int = 10000) -> float | None:
    return page.evaluate(SYNTH_SMALL_DRAG, [fx, fy, timeout_ms])


def python_readout(page) -> str:
    """Python's "Python received z = (...)" line on the Explore page ("" when absent)."""
    return next((t for t in page.evaluate(MARKDOWN) if "Python received" in t), "")


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]


def training_jobs() -> int:
    """How many training processes run beside the bench (`python -m vae train`, or the old train_models.sh)."""
    found = subprocess.run(["pgrep", "-f", r"python[0-9.]* -m vae train|train_models\.sh"], capture_output=True,
                           text=True)
    return len(found.stdout.split())


def training_running() -> bool:
    return training_jobs() > 0


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


def cold_starts(browser, runs: int, port: int, timeout_ms: int, returning: bool) -> dict:
    """Server spawn -> page drawn, for the Explore page and the bare page, each start in a new browser context (an
    empty profile); the two pages' starts alternate so that a change in the machine's load hits both alike."""
    new_context = lambda: browser.new_context(viewport={"width": 1400, "height": 1000})  # noqa: E731
    explore, bare, again = [], [], []
    with tempfile.TemporaryDirectory() as bare_dir:
        (Path(bare_dir) / "bare.py").write_text(BARE_PAGE)
        (Path(bare_dir) / ".streamlit").mkdir()  # the app's server and client options, so only the page differs
        shutil.copy(ROOT / ".streamlit" / "config.toml", Path(bare_dir) / ".streamlit" / "config.toml")
        for _ in range(runs):
            context = new_context()
            explore.append(time_to_first_render(context, "app.py", ROOT, port, wait_for_explore, timeout_ms)[0])
            context.close()
            context = new_context()
            bare.append(time_to_first_render(context, "bare.py", Path(bare_dir), port, wait_for_bare, timeout_ms)[0])
            context.close()
    if returning:  # the teacher restarting the server: the browser has been here before (same port, warm cache)
        context = new_context()
        for i in range(runs + 1):
            seconds, page, _ = time_to_first_render(context, "app.py", ROOT, port, wait_for_explore, timeout_ms)
            if i:  # the first visit only fills the cache
                again.append(seconds)
            page.close()
        context.close()
    return {"explore": explore, "bare": bare, "returning": again}


def interaction(browser, args, port: int, timeout_ms: int) -> dict:
    """Drag, selections and small drags on one freshly started server, once it is idle."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(DRAW_HOOK)
    _, page, proc = time_to_first_render(context, "app.py", ROOT, port, wait_for_explore, timeout_ms, keep=True)
    try:
        page.wait_for_function("window.__latentPad.imagesReady", timeout=timeout_ms)
        page.wait_for_timeout(1000 * (WARM_UP_DELAY_S + 0.5))  # the background import starts after this
        idle_wait = WARM_UP_DELAY_S + 0.5 + wait_until_idle(proc.pid)
        drag = synth_drag(page, args.drag_seconds)
        page.wait_for_function("document.querySelector('[data-testid=stApp][data-test-script-state=notRunning]')")
        selects = []
        for digit in isolated_digits(page, args.selections):
            before = page.evaluate("window.__latentPad.invocations")
            selects.append({"k": digit["k"], **synth_select(page, digit["k"], digit["x"], digit["y"])})
            page.wait_for_timeout(300)  # let the page settle between clicks, as a person would
            selects[-1]["reinvoked"] = page.evaluate("window.__latentPad.invocations") - before
        releases = []
        for i in range(args.releases):
            value = synth_small_drag(page, 0.2 + 0.6 * ((i * 0.37) % 1), 0.2 + 0.6 * ((i * 0.61) % 1))
            if value is not None:
                releases.append(value)
            page.wait_for_timeout(300)
        errors = page.evaluate("window.__latentPad.errors")
        phones = [phone_first_decode(browser, page.url, timeout_ms) for _ in range(args.phone_visits)]
    finally:
        stop(proc)
        context.close()
    return {"drag": drag, "selects": selects, "releases": releases, "idle_wait": idle_wait, "errors": errors,
            "phones": phones}


# On a phone's first visit: when the page is drawn (the script has finished and the title is shown) and when the
# surface first decodes a digit, both from the start of navigation.
PHONE_HOOK = """
window.__phone = {};
const tick = () => {
  if (window.__phone.drawn === undefined && document.querySelector("h1")
      && document.querySelector("[data-testid=stApp][data-test-script-state=notRunning]"))
    window.__phone.drawn = performance.now();
  if (window.__phone.decoded === undefined && window.__latentPad && window.__latentPad.draws > 0)
    window.__phone.decoded = performance.now();
  if (window.__phone.decoded === undefined || window.__phone.drawn === undefined) requestAnimationFrame(tick);
};
requestAnimationFrame(tick);
"""


def phone_first_decode(browser, url: str, timeout_ms: int) -> dict:
    """A phone (390 x 844, touch, empty profile) opening the Explore page on the warm server."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True,
                                  has_touch=True)
    context.add_init_script(PHONE_HOOK)
    try:
        page = context.new_page()
        page.goto(url.split("?")[0], timeout=timeout_ms)
        page.wait_for_function("window.__phone.decoded !== undefined && window.__phone.drawn !== undefined",
                               timeout=timeout_ms)
        return page.evaluate("window.__phone")
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.add_argument("--drag-seconds", type=float, default=3.0)
    parser.add_argument("--releases", type=int, default=12, help="small drags released (release -> Python)")
    parser.add_argument("--selections", type=int, default=12, help="test digits clicked (select -> highlight, Python)")
    parser.add_argument("--cold-starts", type=int, default=3, help="server starts per cold-start figure (median)")
    parser.add_argument("--phone-visits", type=int, default=3,
                        help="first visits of a phone on the warm server (median)")
    parser.add_argument("--returning-browser", action="store_true",
                        help="also time cold starts with a browser that has visited before (its HTTP cache warm)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for each page state")
    parser.add_argument("--beta-dial", action="store_true", help="measure only the KL lab's beta dial")
    args = parser.parse_args()
    if args.beta_dial:
        print(json.dumps(beta_dial(args.drag_seconds, int(args.timeout * 1000))))
        return

    from playwright.sync_api import sync_playwright
    timeout_ms = int(args.timeout * 1000)
    load_start, jobs_start = os.getloadavg(), training_jobs()
    port = free_port()  # the same for every server start, so a returning browser finds its cache
    with sync_playwright() as p:
        # The browser is launched before the servers: its own start-up is not part of a cold start.
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        starts = cold_starts(browser, args.cold_starts, port, timeout_ms, args.returning_browser)
        run = interaction(browser, args, port, timeout_ms)
        browser.close()
    drag, selects, releases = run["drag"], run["selects"], run["releases"]
    highlight = [s["highlight"] for s in selects if s["highlight"] is not None]
    to_python = [s["python"] for s in selects if s["python"] is not None]
    ms = lambda values: [round(v, 1) for v in values]  # noqa: E731
    pct = lambda f, values: round(f(values), 1) if values else None  # noqa: E731
    cold, bare = median(starts["explore"]), median(starts["bare"])
    result = {
        "cold_start_s": round(cold, 2),
        "bare_page_s": round(bare, 2),
        "cold_start_ratio": round(cold / bare, 2),
        "drag_fps": round(drag["draws"] / drag["seconds"], 1),
        "input_to_paint_p95_ms": pct(p95, drag["latencies"]),
        "select_to_highlight_p95_ms": pct(p95, highlight),
        "select_to_python_p95_ms": pct(p95, to_python),
        "release_to_python_p95_ms": pct(p95, releases),
        "phone_drawn_to_first_decode_s": round(median([max(0.0, v["decoded"] - v["drawn"]) / 1000
                                                       for v in run["phones"]]), 2),
        "phone_first_decode_s": round(median([v["decoded"] / 1000 for v in run["phones"]]), 2),
        "select_to_highlight_p50_ms": pct(median, highlight),
        "select_to_python_p50_ms": pct(median, to_python),
        "release_to_python_p50_ms": pct(median, releases),
        "cold_starts_each_s": {"explore": [round(x, 2) for x in starts["explore"]],
                               "bare_page": [round(x, 2) for x in starts["bare"]]},
        **({"cold_start_returning_browser_s": round(median(starts["returning"]), 2),
            "returning_browser_each_s": [round(x, 2) for x in starts["returning"]]} if starts["returning"] else {}),
        "drag_frames": drag["frames"], "drag_frames_with_redraw": drag["framesWithDraw"],
        "selections_measured": f"{len(to_python)}/{len(selects)} (asked for {args.selections})",
        "select_to_highlight_each_ms": ms(highlight), "select_to_python_each_ms": ms(to_python),
        "selections_that_reinvoked_the_component": sum(1 for s in selects if s.get("reinvoked")),
        "releases_measured": f"{len(releases)}/{args.releases}", "release_to_python_each_ms": ms(releases),
        "surface_errors": run["errors"],
        "waited_for_idle_server_s": round(run["idle_wait"], 1),
        "derived_files_in_cache_folder": sum(1 for f in (ROOT / "cache").rglob("*") if f.is_file()),
        "training_jobs_running": [jobs_start, training_jobs()],
        "training_job_running": bool(jobs_start or training_jobs()),
        "load_avg_1min": [round(load_start[0], 2), round(os.getloadavg()[0], 2)],
        "cpu_count": os.cpu_count(),
    }
    if not args.json:
        print(__doc__)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

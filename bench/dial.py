"""Driving the KL lab's beta dial in a page (Playwright): a beta drag synthesised at display rate, one slider step
per animation frame, as a hand on a touchpad would. Shared by bench/browser.py --beta-dial and the e2e test."""
from __future__ import annotations

DRAG_BETA = """
async ([seconds, start]) => {
  let slider = null;
  for (const el of document.querySelectorAll("*")) {
    const s = el.shadowRoot && el.shadowRoot.querySelector("input.bd-slider");
    if (s) { slider = s; break; }
  }
  if (!slider) return null;
  const stats = window.__betaDial;
  const frames0 = stats.frames, sig0 = stats.mapSig.length;
  const costs = [];
  const t0 = performance.now();
  let i = 0;
  await new Promise((done) => {
    function step(now) {
      if (now - t0 > seconds * 1000) return done();
      if (stats.frames > frames0 + costs.length) costs.push(stats.lastFrameMs);
      const phase = ((i++ + start) % 240) / 120;  // 0 -> 1000 -> 0 over 240 frames: the whole range both ways
      slider.value = String(Math.round(1000 * (phase <= 1 ? phase : 2 - phase)));
      slider.dispatchEvent(new Event("input", {bubbles: true}));
      requestAnimationFrame(step);
    }
    requestAnimationFrame(step);
  });
  const elapsed = (performance.now() - t0) / 1000;
  const changed = (a) => { let n = 0; for (let k = 1; k < a.length; k++) if (a[k] !== a[k - 1]) n++;
                           return a.length > 1 ? n / (a.length - 1) : 0; };
  return {seconds: elapsed, steps: i, frames: stats.frames - frames0, costs,
          mapChanged: changed(stats.mapSig.slice(sig0)), manifoldChanged: changed(stats.manifoldSig.slice(sig0))};
}
"""


def drag_beta(page, seconds: float, worker: bool = True, start: int = 0) -> dict | None:
    """Drag beta for `seconds` in an open KL lab whose dial is ready; None when there is no dial on the page.
    worker=False decodes every digit on the page's own thread (the dial's fallback without workers). The drag
    starts `start` frames into its sweep (0: at the bottom of the slider; 60: half-way up, beta ~0.4)."""
    page.evaluate("(off) => { window.__betaDial.noWorker = off; }", not worker)
    return page.evaluate(DRAG_BETA, [seconds, start])


def open_dial(page, base_url: str, timeout_ms: int = 180000) -> None:
    """Open the KL lab on its beta-dial tab and wait until the dial has drawn."""
    page.goto(base_url + "/kl_lab")
    page.wait_for_function("() => window.__betaDial && (window.__betaDial.ready || window.__betaDial.errors.length)",
                           timeout=timeout_ms)
    errors = page.evaluate("() => window.__betaDial.errors")
    if errors:
        raise RuntimeError(f"the beta dial failed: {errors}")

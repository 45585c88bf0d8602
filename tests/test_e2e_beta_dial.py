"""The KL lab's beta dial in headless Chromium: while beta is dragged, the map and the manifold change on most
frames, and the release reaches Python."""
import pytest

from bench.dial import drag_beta, open_dial
from conftest import wait_for_app
from vae import bundled

pytestmark = pytest.mark.browser

SAME_BETA_FRAME = """
async (workerOff) => {
  const stats = window.__betaDial;
  stats.noWorker = workerOff;
  for (const el of document.querySelectorAll("*")) {
    const s = el.shadowRoot && el.shadowRoot.querySelector("input.bd-slider");
    if (!s) continue;
    for (let seen = -1; seen !== stats.frames;) {  // let any frame still in flight land first
      seen = stats.frames;
      await new Promise((r) => setTimeout(r, 300));
    }
    const before = stats.frames;
    s.value = "700";
    s.dispatchEvent(new Event("input"));
    const t0 = performance.now();
    while (stats.frames === before && performance.now() - t0 < 20000) await new Promise((r) => setTimeout(r, 20));
    return stats.frames > before ? stats.manifoldSig[stats.manifoldSig.length - 1] : null;
  }
  return null;
}
"""


def test_dragging_beta_moves_the_map_and_the_manifold(app_server, page):
    if not bundled.BETA_DIAL.path.is_file():
        pytest.skip("the beta-conditioned model is not bundled")
    open_dial(page, app_server)
    wait_for_app(page)
    drag = drag_beta(page, 2.0)
    assert drag is not None and drag["frames"] >= 3, drag  # (a frame rate is the bench's job, not this test's)
    assert drag["mapChanged"] > 0.8 and drag["manifoldChanged"] > 0.8, drag
    # the worker's half of the digits is the page's own decoding: one beta drawn both ways gives the same pixels
    signatures = [page.evaluate(SAME_BETA_FRAME, worker_off) for worker_off in (True, False)]
    assert signatures[0] is not None and signatures[0] == signatures[1]
    # Python hears beta on release: the caption under the dial follows
    page.evaluate("""() => { for (const el of document.querySelectorAll("*")) {
        const s = el.shadowRoot && el.shadowRoot.querySelector("input.bd-slider");
        if (s) { s.value = "0"; s.dispatchEvent(new Event("input")); s.dispatchEvent(new Event("change")); } } }""")
    page.get_by_text("At β = 0.01 (where you last let go)").wait_for(timeout=60000)
    wait_for_app(page)

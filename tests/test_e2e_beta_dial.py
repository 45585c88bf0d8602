"""The KL lab's beta dial in headless Chromium: while beta is dragged, the map and the manifold change on most
frames, and the release reaches Python."""
import pytest

from bench.dial import drag_beta, open_dial
from conftest import wait_for_app
from vae import bundled

pytestmark = pytest.mark.browser


def test_dragging_beta_moves_the_map_and_the_manifold(app_server, page):
    if not bundled.BETA_DIAL.path.is_file():
        pytest.skip("the beta-conditioned model is not bundled")
    open_dial(page, app_server)
    wait_for_app(page)
    drag = drag_beta(page, 2.0)
    assert drag is not None and drag["frames"] >= 10, drag
    assert drag["mapChanged"] > 0.8 and drag["manifoldChanged"] > 0.8, drag
    # Python hears beta on release: the caption under the dial follows
    page.evaluate("""() => { for (const el of document.querySelectorAll("*")) {
        const s = el.shadowRoot && el.shadowRoot.querySelector("input.bd-slider");
        if (s) { s.value = "0"; s.dispatchEvent(new Event("input")); s.dispatchEvent(new Event("change")); } } }""")
    page.get_by_text("At β = 0.01 (where you last let go)").wait_for(timeout=60000)
    wait_for_app(page)

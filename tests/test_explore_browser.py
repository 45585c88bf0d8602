"""End to end in headless Chromium: the Explore page loads without an exception, a drag across the latent pad
redraws the decoded digit on most animation frames during the drag, and Python hears the final z on release."""
from __future__ import annotations

import sys

import pytest

from conftest import ROOT, wait_for_app

sys.path.insert(0, str(ROOT))
from bench.browser import DRAW_HOOK, synth_drag, synth_release, wait_for_explore  # noqa: E402

SCREENS = ROOT / "screenshots"  # git-ignored; look at these after a run

pytestmark = pytest.mark.browser


@pytest.fixture
def explore(app_server, page):
    page.set_default_timeout(120000)
    page.context.add_init_script(DRAW_HOOK)
    page.goto(app_server)
    wait_for_app(page, 180000)
    wait_for_explore(page, 180000)
    return page


def test_page_loads_and_the_pad_redraws_during_a_drag(explore):
    page = explore
    SCREENS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENS / "explore-loaded.png"))
    drag = synth_drag(page, 1.5)
    page.screenshot(path=str(SCREENS / "explore-after-drag.png"))
    assert drag["frames"] >= 10, drag
    # "most animation frames": a redraw landed before the next frame for at least 80% of the moves
    assert drag["framesWithDraw"] >= 0.8 * drag["frames"], drag
    assert drag["draws"] >= 0.8 * drag["frames"]
    assert page.evaluate("window.__latentPad.errors.length") == 0


def test_release_reaches_python(explore):
    page = explore
    before = page.get_by_text("Python received").inner_text()
    assert synth_release(page, 0.8, 0.25) is not None
    after = page.get_by_text("Python received").inner_text()
    assert after != before and "z = (" in after
    assert page.locator("[data-testid=stException]").count() == 0
    page.screenshot(path=str(SCREENS / "explore-after-release.png"))
    page.get_by_text("Decoded manifold").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENS / "explore-manifold.png"))


def test_reruns_do_not_rebuild_the_pad(explore):
    """The pad is built once: neither its own release (a fragment rerun) nor a full rerun of the page re-invokes
    its JavaScript (a rebuild would redraw the pad and its 10k background points for nothing)."""
    page = explore
    assert page.evaluate("window.__latentPad.invocations") == 1
    assert synth_release(page, 0.3, 0.6) is not None
    page.get_by_role("tab", name="Prior samples").click()
    page.get_by_role("button", name="Draw new samples").click()
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__latentPad.invocations") == 1
    assert page.locator("[data-testid=stException]").count() == 0

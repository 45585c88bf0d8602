"""End to end in headless Chromium: the Explore page loads without an exception, a drag across the latent pad
redraws the decoded digit on most animation frames during the drag, Python hears the final z on release, and a
click on the map shows the digit under the cursor."""
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


def test_clicking_a_dot_on_the_map_shows_that_test_digit(explore):
    """The map's customdata (sent as a typed array) comes back through Plotly's selection event to Python, which
    shows the digit under the cursor."""
    page = explore
    spot = page.evaluate("""() => {
        const g = document.querySelector('.js-plotly-plot');
        const xa = g._fullLayout.xaxis, ya = g._fullLayout.yaxis, box = g.getBoundingClientRect();
        const px = (t, i) => [box.left + xa._offset + xa.l2p(t.x[i]), box.top + ya._offset + ya.l2p(t.y[i])];
        const t = g._fullData[7], [x, y] = px(t, 0);  // a dot of class 7; the click picks the nearest dot
        const near = [];
        for (const u of g._fullData) {
            if (!u.customdata) continue;
            for (let i = 0; i < u.x.length; i++) {
                const [a, b] = px(u, i);
                if (Math.hypot(a - x, b - y) <= 6) near.push(Number(u.customdata[i]));
            }
        }
        return {x, y, near};
    }""")
    page.mouse.click(spot["x"], spot["y"])
    shown = page.locator("p").filter(has_text="Test digit #").filter(has_text="(label")
    shown.first.wait_for()
    index = int(shown.first.inner_text().split("#")[1].split()[0])
    assert index in spot["near"], (index, spot)  # the digit drawn where the user clicked, not just any digit
    assert page.locator("[data-testid=stException]").count() == 0

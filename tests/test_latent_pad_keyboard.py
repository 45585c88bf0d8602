"""The latent map by keyboard and for screen readers, end to end in headless Chromium (keyboard only: Tab to the map,
arrows move z, Enter selects, Escape clears, a legend chip by keys), and its state per pad: the points drawn at the
zoom of the redraw that draws them, and two maps on one page (Reconstruct's tabs) that do not share their state.
Screenshots (1440 x 900, 1280 x 720 in large type, 390 x 844, and under deuteranopia emulation) go to
$VAE_SCREENS_DIR (default /tmp/vae-screens): look at them after a run."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from PIL import Image

from conftest import ROOT, settled, wait_for_app

sys.path.insert(0, str(ROOT))
from bench.browser import MARKDOWN, python_readout, wait_for_explore  # noqa: E402

SCREENS = Path(os.environ.get("VAE_SCREENS_DIR", "/tmp/vae-screens"))
WAIT_MS = int(os.environ.get("VAE_E2E_WAIT_MS", 240_000))  # generous: a busy 2-core box can take minutes
S = "window.__latentPad"

pytestmark = pytest.mark.browser

# What has focus, through the components' shadow roots: {tag, cls, role, pressed, label}
FOCUSED = """() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  return el ? {tag: el.tagName, cls: el.className || "", role: el.getAttribute("role"),
               pressed: el.getAttribute("aria-pressed"), label: el.getAttribute("aria-label") || "",
               text: el.textContent} : null;
}"""

# An element of the (first shown) pad's shadow root, by selector.
IN_PAD = """(sel) => {
  for (const el of document.querySelectorAll("*")) {
    const found = el.shadowRoot && el.shadowRoot.querySelector(sel);
    if (found && found.getClientRects().length) return found;
  }
  return null;
}"""


def focused(page) -> dict:
    return page.evaluate(FOCUSED)


def tab_to(page, test: str, limit: int = 80) -> dict:
    """Press Tab until the focused element passes test (a JS predicate over FOCUSED's object)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if now and page.evaluate(f"(f) => ({test})(f)", now):
            return now
    raise AssertionError(f"Tab never reached {test}")


def pad_attr(page, selector: str, attr: str) -> str | None:
    return page.evaluate(f"([sel, attr]) => ({IN_PAD})(sel).getAttribute(attr)", [selector, attr])


def live_text(page) -> str:
    return page.evaluate(f"() => ({IN_PAD})('.lp-live').textContent")


def python_texts(page) -> list[str]:
    return page.evaluate(MARKDOWN)


def wait_live_change(page, before: str, contains: str = "") -> str:
    page.wait_for_function(f"""([before, contains]) => {{ const t = ({IN_PAD})('.lp-live').textContent;
        return t !== before && t.includes(contains); }}""", arg=[before, contains], timeout=WAIT_MS)
    return live_text(page)


@pytest.fixture
def explore(app_server, page):
    page.set_default_timeout(WAIT_MS)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(app_server, timeout=WAIT_MS)
    wait_for_app(page, WAIT_MS)
    wait_for_explore(page, WAIT_MS)
    page.wait_for_function(f"{S}.imagesReady", timeout=WAIT_MS)
    return page


def test_the_map_by_keyboard_alone(explore):
    page = explore
    found = tab_to(page, "(f) => f.cls.includes('lp-pad')")
    assert found["role"] == "application" and "Arrow keys move z" in found["label"]  # its name says its keys
    keys_line = page.evaluate(f"() => ({IN_PAD})('.lp-keys').textContent")
    assert "arrows move z" in keys_line and "Enter" in keys_line and "W A S D" in keys_line  # and the hint too
    # arrows move z: the decoded digit is redrawn, the live region says where z is, Python hears it at rest
    draws, z0, said, heard = page.evaluate(f"{S}.draws"), page.evaluate(f"{S}.z"), live_text(page), python_readout(page)
    for key in ["ArrowRight", "ArrowRight", "Shift+ArrowUp", "ArrowLeft"]:
        page.keyboard.press(key)
    page.wait_for_function(f"([d, z]) => {S}.draws > d && JSON.stringify({S}.z) !== JSON.stringify(z)",
                           arg=[draws, z0], timeout=WAIT_MS)
    said = wait_live_change(page, said, "nearest test digit: ")
    assert re.search(r"z = \(\u2212?\d\.\d\d, \u2212?\d\.\d\d\), nearest test digit: an? \d\.", said), said
    page.wait_for_function(f"() => ({MARKDOWN})().some((t) => t.includes('Python received') && t !== "
                           f"{heard!r} && t.includes('when you let go'))", timeout=WAIT_MS)
    label = pad_attr(page, "canvas.lp-digit", "aria-label")
    assert re.fullmatch(r"Decoded digit at z = \(.*\): looks like an? \d", label), label
    assert focused(page)["cls"].startswith("lp-pad")  # focus stayed on the map
    digit_box = page.evaluate(f"() => {{ const r = ({IN_PAD})('canvas.lp-digit').getBoundingClientRect();"
                              " return [r.top, r.bottom, innerHeight]; }")
    assert 0 <= digit_box[0] and digit_box[1] <= digit_box[2], digit_box  # the decoded digit is on screen at 1440x900
    # Enter selects the test digit nearest z; the surface shows it, names its pictures, says so; Python hears it
    page.keyboard.press("Enter")
    page.wait_for_function(f"{S}.selected !== null", timeout=WAIT_MS)
    k = page.evaluate(f"{S}.selected")
    wait_live_change(page, "", f"Selected test digit #{k}, a")
    page.wait_for_function(f"() => ({MARKDOWN})().some((t) => t.includes('Test digit #{k} (label'))",
                           timeout=WAIT_MS)
    assert pad_attr(page, "canvas.lp-selx", "aria-label").startswith(f"Test digit #{k}, a")
    assert pad_attr(page, "canvas.lp-selr", "aria-label").endswith("decoded from its μ")
    # Escape clears it, in the browser and in Python
    wait_for_app(page, WAIT_MS)
    page.keyboard.press("Escape")
    page.wait_for_function(f"{S}.selected === null", timeout=WAIT_MS)
    wait_live_change(page, "", "Selection cleared")
    page.wait_for_function(f"() => !({MARKDOWN})().some((t) => t.includes('Test digit #{k} (label'))",
                           timeout=WAIT_MS)
    # + zooms at z, 0 shows the whole map again, Home returns z to the origin
    page.keyboard.press("+")
    page.wait_for_function(f"{S}.zoom > 1.4", timeout=WAIT_MS)
    page.keyboard.press("0")
    page.wait_for_function(f"{S}.zoom === 1", timeout=WAIT_MS)
    page.keyboard.press("Home")
    page.wait_for_function(f"{S}.z.every((v) => v === 0)", timeout=WAIT_MS)
    # a legend chip by keyboard: a toggle button that says whether its class is shown
    chip = tab_to(page, "(f) => f.tag === 'BUTTON' && f.pressed !== null")
    assert chip["pressed"] == "true"
    name = chip["text"].strip()
    page.keyboard.press("Space")
    page.wait_for_function("() => (" + FOCUSED + ")().pressed === 'false'", timeout=WAIT_MS)
    c = int(name) if name.isdigit() else 0
    assert page.evaluate(f"{S}.hidden") == [c]
    page.keyboard.press("Shift+Enter")  # show only this class
    page.wait_for_function(f"{S}.hidden.length === 9 && !{S}.hidden.includes({c})", timeout=WAIT_MS)
    assert focused(page)["pressed"] == "true"
    page.keyboard.press("Shift+Enter")  # and again: every class
    page.wait_for_function(f"{S}.hidden.length === 0", timeout=WAIT_MS)


def test_the_points_are_drawn_at_the_zoom_of_their_own_redraw(explore):
    """Zoomed in past 2x with one class shown, the dots become the digits in the redraw that zooms (the old code
    drew them with the previous redraw's zoom, so the digits came one redraw late)."""
    page = explore
    page.locator(".lp-legend button").nth(1).dblclick()  # only the 1s
    page.wait_for_function(f"{S}.hidden.length === 9", timeout=WAIT_MS)
    page.evaluate(f"() => ({IN_PAD})('canvas.lp-pad').focus()")
    page.keyboard.press("+")
    page.wait_for_function(f"{S}.zoom > 1.4 && {S}.zoom < 1.6", timeout=WAIT_MS)
    settled(page)
    assert page.evaluate(f"{S}.thumbs") == 0  # 1.5x: still dots
    page.keyboard.press("+")
    page.wait_for_function(f"{S}.zoom > 2", timeout=WAIT_MS)
    settled(page)
    assert page.evaluate(f"{S}.thumbs") > 0


def test_every_class_is_named_on_the_map_and_the_dots_are_solid(explore):
    page = explore
    settled(page)
    named = page.evaluate(f"{S}.classNames")
    assert sorted(named) == list(range(10)), named  # each class's digit at its cluster's centre
    # screenshots: 1440 x 900, and under deuteranopia
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "map-keys-1440x900.png"))
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setEmulatedVisionDeficiency", {"type": "deuteranopia"})
    settled(page)
    page.screenshot(path=str(SCREENS / "map-deuteranopia-1440x900.png"))
    cdp.send("Emulation.setEmulatedVisionDeficiency", {"type": "none"})
    # a hidden chip's text keeps its contrast (>= 4.5:1): no opacity on it
    page.locator(".lp-legend button").nth(3).click()
    page.wait_for_function(f"{S}.hidden.length === 1", timeout=WAIT_MS)
    style = page.evaluate(f"""() => {{ const b = ({IN_PAD})('.lp-legend button.lp-off'), s = getComputedStyle(b);
        return {{opacity: s.opacity, color: s.color, background: s.backgroundColor}}; }}""")
    assert float(style["opacity"]) == 1 and contrast(style["color"], style["background"]) >= 4.5, style


def _rgb(css: str) -> tuple[float, ...]:
    return tuple(float(v) / 255 for v in re.findall(r"[\d.]+", css)[:3])


def contrast(fg: str, bg: str) -> float:
    """WCAG 2.1 contrast ratio of two css rgb() colours."""
    def luminance(c):
        lin = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    a, b = sorted((luminance(_rgb(fg)), luminance(_rgb(bg))), reverse=True)
    return (a + 0.05) / (b + 0.05)


def test_the_focus_ring_on_the_map_is_visible(explore):
    page = explore
    page.evaluate(f"() => ({IN_PAD})('canvas.lp-pad').focus()")
    ring = page.evaluate(f"""() => {{ const s = getComputedStyle(({IN_PAD})('canvas.lp-pad'));
        return {{style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor}}; }}""")
    assert ring["style"] == "solid" and ring["width"] >= 2
    assert contrast(ring["color"], "rgb(255, 255, 255)") >= 3, ring


# ---- Reconstruct: two maps on one page, each with its own state and the same keys ------------------------------

def test_two_maps_on_one_page_keep_their_own_state(app_server, page, mnist_test, tmp_path):
    from test_e2e_reconstruct import draw_a_seven, open_reconstruct, visible_panel
    page.set_default_timeout(WAIT_MS)
    png = tmp_path / "seven.png"
    Image.fromarray(255 - mnist_test.images[0].numpy()).resize((140, 140), Image.Resampling.BICUBIC).save(png)
    open_reconstruct(page, app_server)
    page.get_by_role("tab", name="Upload images").click()
    visible_panel(page).locator("input[type=file]").first.set_input_files([str(png)])
    page.wait_for_function(f"{S} && {S}.pads.size >= 1 && {S}.ready", timeout=WAIT_MS)
    wait_for_app(page, WAIT_MS)
    draw_a_seven(page)
    page.wait_for_function(f"[...{S}.pads.values()].filter((p) => p.ready).length === 2", timeout=WAIT_MS)
    wait_for_app(page, WAIT_MS)
    keys = page.evaluate(f"[...{S}.pads.keys()]")
    shown = page.evaluate(f"[...{S}.pads.values()].filter((p) => p.el.getClientRects().length).map((p) => p.key)")
    assert len(shown) == 1  # the draw tab's map; the upload tab's is mounted but hidden
    other = next(k for k in keys if k != shown[0])
    assert page.evaluate(f"{S}.key") == shown[0]  # the hook reads the map on screen
    # the keys work on this map too, and change only its own state
    page.evaluate(f"() => ({IN_PAD})('canvas.lp-pad').focus()")
    page.keyboard.press("+")
    page.keyboard.press("+")
    page.wait_for_function(f"{S}.pad({shown[0]!r}).zoom > 2", timeout=WAIT_MS)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_function(f"{S}.pad({shown[0]!r}).selected !== null", timeout=WAIT_MS)
    settled(page)
    assert page.evaluate(f"{S}.pad({other!r}).zoom") == 1
    assert page.evaluate(f"{S}.pad({other!r}).selected") is None
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "reconstruct-map-keys.png"))


def test_the_live_region_speaks_at_most_twice_a_second_and_the_last_word_wins(explore):
    page = explore
    page.evaluate(f"""() => {{ window.__said = [];
        new MutationObserver(() => window.__said.push([performance.now(), ({IN_PAD})('.lp-live').textContent]))
            .observe(({IN_PAD})('.lp-live'), {{childList: true, characterData: true, subtree: true}}); }}""")
    page.evaluate(f"() => ({IN_PAD})('canvas.lp-pad').focus()")
    for _ in range(12):
        page.keyboard.press("ArrowLeft")
    # The last message is where z came to rest: the readout under the map, read at each poll (the keys' last redraw
    # may land after they were sent), with the true minus a screen reader is given.
    page.wait_for_function(f"""() => {{ const z = ({IN_PAD})('.lp-z').textContent.replace(/-/g, "\u2212");
        return window.__said.length > 0 && window.__said.at(-1)[1].startsWith(z); }}""", timeout=WAIT_MS)
    said = page.evaluate("window.__said")
    gaps = [b[0] - a[0] for a, b in zip(said, said[1:])]
    assert all(g >= 450 for g in gaps), gaps


def test_a_long_touch_on_a_legend_chip_shows_only_that_class(app_server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        page.set_default_timeout(WAIT_MS)
        page.goto(app_server, timeout=WAIT_MS)
        wait_for_app(page, WAIT_MS)
        wait_for_explore(page, WAIT_MS)
        page.wait_for_function(f"{S}.imagesReady", timeout=WAIT_MS)
        chip = page.locator(".lp-legend button").nth(7)
        chip.scroll_into_view_if_needed()
        settled(page)
        box = chip.bounding_box()
        cdp = context.new_cdp_session(page)
        point = [{"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}]
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": point})
        page.wait_for_function(f"{S}.hidden.length === 9", timeout=WAIT_MS)  # while the finger is still down
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        settled(page)
        assert page.evaluate(f"{S}.hidden") == [0, 1, 2, 3, 4, 5, 6, 8, 9]  # the tap that ends it changes nothing
        assert chip.get_attribute("aria-pressed") == "true"
    finally:
        context.close()

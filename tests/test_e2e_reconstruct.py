"""End to end in headless Chromium: drawing a digit with mouse strokes on the canvas, and uploading a PNG, each
yield a reconstruction on the Reconstruct page. Screenshots go to $VAE_SCREENS_DIR (default /tmp/vae-screens)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from conftest import rerun_by, settled, wait_for_app

SCREENS = Path(os.environ.get("VAE_SCREENS_DIR", "/tmp/vae-screens"))
# generous: the first script run imports torch, and a busy 2-core box can take minutes
WAIT_MS = int(os.environ.get("VAE_E2E_WAIT_MS", 240_000))


def open_reconstruct(page, app_server: str) -> None:
    page.goto(f"{app_server}/reconstruct", timeout=WAIT_MS)
    wait_for_app(page, timeout_ms=WAIT_MS)
    page.get_by_role("heading", name="Reconstruct a digit").wait_for(timeout=WAIT_MS)


def visible_panel(page):
    """The open tab's panel (Streamlit keeps the other tabs' panels in the DOM, hidden)."""
    return page.locator("[data-testid=stTabPanel]:visible").first


def stroke(page, points) -> None:
    page.mouse.move(*points[0])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x, y, steps=6)
    page.mouse.up()


def draw_a_seven(page):
    """Open the Draw tab, wait for its canvas and draw a 7 (the bar, then the stem) with the mouse. Returns
    at(fx, fy): the page point at that fraction of the canvas, for more strokes."""
    page.get_by_role("tab", name="Draw a digit").click()
    canvas = page.locator("canvas.dc-canvas")
    canvas.wait_for(timeout=WAIT_MS)
    box = canvas.bounding_box()
    at = lambda fx, fy: (box["x"] + fx * box["width"], box["y"] + fy * box["height"])  # noqa: E731
    stroke(page, [at(0.25, 0.2), at(0.75, 0.2), at(0.45, 0.85)])
    return at


@pytest.mark.browser
def test_drawing_a_digit_yields_a_reconstruction(app_server, page):
    open_reconstruct(page, app_server)
    at = draw_a_seven(page)
    panel = visible_panel(page)
    panel.get_by_text("decoded from μ", exact=True).first.wait_for(timeout=WAIT_MS)
    wait_for_app(page, timeout_ms=WAIT_MS)
    assert page.evaluate("window.__drawCanvas.sends") >= 1
    # the latent surface with the drawing's numbered mark and its ellipse
    page.wait_for_function("window.__latentPad && window.__latentPad.ready && window.__latentPad.marks === 1",
                           timeout=WAIT_MS)
    assert panel.locator("canvas.lp-pad").count() == 1
    # A crossbar: a second stroke is sent at its end too. Each action waits for the run it causes to end, so the
    # next one starts on a page at rest.
    rerun_by(page, lambda: stroke(page, [at(0.35, 0.5), at(0.65, 0.5)]), WAIT_MS)
    assert page.evaluate("window.__drawCanvas.sends") >= 2
    rerun_by(page, lambda: page.get_by_role("button", name="↶ Undo").click(), WAIT_MS)
    assert page.evaluate("window.__drawCanvas.sends") >= 3
    wait_for_app(page, timeout_ms=WAIT_MS)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 2600})  # Streamlit scrolls inside its own container
    settled(page)
    page.screenshot(path=str(SCREENS / "reconstruct-draw.png"), full_page=True, timeout=WAIT_MS)


@pytest.mark.browser
def test_uploading_a_png_yields_a_reconstruction(app_server, page, mnist_test, tmp_path):
    png = tmp_path / "seven.png"
    Image.fromarray(255 - mnist_test.images[0].numpy()).resize((140, 140), Image.Resampling.BICUBIC).save(png)
    (tmp_path / "notes.txt").write_text("not a picture")
    open_reconstruct(page, app_server)
    page.get_by_role("tab", name="Upload images").click()
    visible_panel(page).locator("input[type=file]").first.set_input_files([str(png), str(tmp_path / "notes.txt")])
    panel = visible_panel(page)
    panel.get_by_text("decoded from μ", exact=True).first.wait_for(timeout=WAIT_MS)
    wait_for_app(page, timeout_ms=WAIT_MS)
    assert panel.get_by_text("Cropped to the ink").count() >= 1  # the preprocessing steps are shown
    bad = panel.locator("[data-testid=stAlert]", has_text="notes.txt")
    assert bad.count() == 1 and "not an image" in bad.inner_text()  # a clear message, not a traceback
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 2600})  # Streamlit scrolls inside its own container
    settled(page)
    page.screenshot(path=str(SCREENS / "reconstruct-upload.png"), full_page=True, timeout=WAIT_MS)

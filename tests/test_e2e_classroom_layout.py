"""What a class sees, measured in headless Chromium at a laptop's 1440 x 900 and a phone's 390 x 844 (and a
projector's 1280 x 720 in large type): the KL lab's rate-distortion labels keep clear of each other and of the
markers. Screenshots go to screenshots/ (git-ignored)."""
from __future__ import annotations

import os

import pytest

from conftest import ROOT, settled, wait_for_app

pytestmark = pytest.mark.browser

WAIT_MS = int(os.environ.get("VAE_E2E_WAIT_MS", 240_000))  # generous: the first runs import torch on a busy box
SHOTS = ROOT / "screenshots"
VIEWPORTS = [(1440, 900), (390, 844)]
LARGE_TYPE = (1280, 720)  # a projector, with the sidebar's "Large type (projector)" on

# Every label (scatter text, annotation) and marker of one chart, as browser boxes, and its plot area.
CHART_BOXES = r"""(key) => {
    const gd = document.querySelector(`.st-key-${key} .js-plotly-plot`);
    const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
    const labels = [...gd.querySelectorAll('.textpoint text, .annotation-text')]
        .filter(t => t.textContent.trim()).map(t => [t.textContent, box(t)]);
    const markers = [...gd.querySelectorAll('.scatterlayer .points path.point')].map((p, i) => [`marker ${i}`, box(p)]);
    const legend = [...gd.querySelectorAll('.legendtext')].map(t => t.textContent.trim());
    return {labels, markers, legend, plot: box(gd.querySelector('.nsewdrag'))};
}"""


def _meet(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def open_page(browser, url: str, viewport: tuple[int, int]):
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    page.goto(url, timeout=WAIT_MS)
    wait_for_app(page, WAIT_MS)
    return context, page


def large_type_on(page) -> None:
    page.locator(".st-key-large_type label").click()
    page.wait_for_function("getComputedStyle(document.documentElement).fontSize === '22px'", timeout=WAIT_MS)
    wait_for_app(page, WAIT_MS)


@pytest.mark.parametrize("viewport", VIEWPORTS + [LARGE_TYPE], ids=lambda v: f"{v[0]}x{v[1]}"
                         + ("-large" if v == LARGE_TYPE else ""))
def test_rate_distortion_labels_do_not_overlap(app_server, browser, viewport):
    context, page = open_page(browser, app_server + "/kl_lab", viewport)
    try:
        if viewport == LARGE_TYPE:
            large_type_on(page)
        page.get_by_role("tab", name="Rate–distortion").click()
        wait_for_app(page, WAIT_MS)
        chart = page.locator(".st-key-kl_rd_chart")
        chart.locator(".legendtext").first.wait_for(timeout=WAIT_MS)
        chart.scroll_into_view_if_needed()
        settled(page)
        chart.screenshot(path=str(SHOTS / f"e2e_rate_distortion_{viewport[0]}x{viewport[1]}.png"))
        found = page.evaluate(CHART_BOXES, "kl_rd_chart")
        labels, markers, plot = found["labels"], found["markers"], found["plot"]
        # Each beta named beside its point, or (where the points crowd, ui.kl_figures.place_labels) in the legend
        assert {"β = 0", "β = 0.25", "β = 1", "β = 4", "β = 16"} <= {text for text, _ in labels} | set(found["legend"])
        for i, (a, box_a) in enumerate(labels):
            assert plot[0] - 1 <= box_a[0] and box_a[2] <= plot[2] + 1, f"{a} sticks out of the plot sideways"
            assert plot[1] - 1 <= box_a[1] and box_a[3] <= plot[3] + 1, f"{a} sticks out of the plot"
            for b, box_b in labels[i + 1:] + markers:
                assert not _meet(box_a, box_b), f"'{a}' {box_a} meets '{b}' {box_b}"
    finally:
        context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: f"{v[0]}x{v[1]}")
def test_lesson_1_shows_its_table_on_the_first_screen(app_server, browser, viewport):
    # Lesson 1 is about the encoder's mu and sigma: on a laptop their table is in view when the lesson opens, under
    # the lesson box, without scrolling (it was ~300 px below the fold). On a phone everything stacks: screenshot only.
    context, page = open_page(browser, app_server + "/lessons", viewport)
    try:
        page.locator(".st-key-lesson_start_1 button").click()
        page.get_by_role("heading", name="The maths, live").first.wait_for(timeout=WAIT_MS)
        wait_for_app(page, WAIT_MS)
        table = page.locator("[data-testid=stTabs] [data-testid=stDataFrame]").first
        table.wait_for(timeout=WAIT_MS)
        settled(page)
        page.screenshot(path=str(SHOTS / f"e2e_maths_lesson1_{viewport[0]}x{viewport[1]}.png"))
        box = table.bounding_box()
        if viewport[0] >= 1000:
            assert box["y"] + box["height"] <= viewport[1], f"the table ends at {box['y'] + box['height']:.0f} px"
    finally:
        context.close()


def test_lessons_keep_the_sidebar_settings(app_server, browser):
    # Large type on, then a lesson started from the Lessons page and its box's Next, each switching page: large type
    # stays on (a switch made by the script used to drop every sidebar widget's state: large type went off).
    context, page = open_page(browser, app_server + "/lessons", LARGE_TYPE)
    root_font = "() => getComputedStyle(document.documentElement).fontSize"
    try:
        large_type_on(page)
        assert page.evaluate(root_font) == "22px"
        page.locator(".st-key-lesson_start_2 button").click()
        page.get_by_role("heading", name="The maths, live").first.wait_for(timeout=WAIT_MS)
        wait_for_app(page, WAIT_MS)
        assert page.locator(".st-key-large_type input").is_checked() and page.evaluate(root_font) == "22px"
        page.locator(".st-key-lesson_next button").click()  # lesson 3 is on the KL lab
        page.get_by_role("heading", name="KL lab").first.wait_for(timeout=WAIT_MS)
        wait_for_app(page, WAIT_MS)
        assert page.locator(".st-key-large_type input").is_checked() and page.evaluate(root_font) == "22px"
    finally:
        context.close()

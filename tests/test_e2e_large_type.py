"""Large type on a projector, end to end in headless Chromium at 1280 x 720: the sidebar's "Large type (projector)"
toggle on, every page is opened and its geometry measured. No heading, label or paragraph splits a word across
lines or overflows its box, the title is not under the header, the page does not scroll sideways, every Plotly chart
fits its column and its tick labels grew with the type (>= 16 px), and the KL lab's five maps, headers and image
grids get a readable width, each map showing its whole ±4 window. Screenshots of every stage go to screenshots/
(git-ignored), to look at.

The server runs in a scratch folder holding one finished run (as test_e2e_train does), so the Train page has its
charts (loss curves, latent map, replay) to measure.
"""
from __future__ import annotations

import os
import time

import pytest
from PIL import Image

from conftest import ROOT, app_with_a_finished_run, wait_for_app

pytestmark = pytest.mark.browser

WAIT_MS = int(os.environ.get("VAE_E2E_WAIT_MS", 240_000))  # generous: the first runs import torch on a busy box
SHOTS = ROOT / "screenshots"
MIN_TICK_PX = 16  # Plotly's default is 12 px; large type makes it 18
MIN_MAP_PX = 250  # each KL-lab map's width
MIN_GRID_PX = 200  # each KL-lab image grid's width (reconstructions, prior samples, manifold)

# Everything the page shows, measured in one pass. Words are split on spaces and dashes (a break after a hyphen is
# fine); a word whose pieces sit on different lines was broken mid-word.
MEASURE = r"""() => {
    const main = document.querySelector('[data-testid=stMain]');
    main.scrollTo(0, 0);
    const header = document.querySelector('[data-testid=stHeader]').getBoundingClientRect();
    const title = main.querySelector('h1').getBoundingClientRect();
    const out = {split: [], overflow: [], charts: [], pageOverflow: document.documentElement.scrollWidth
                 - document.documentElement.clientWidth, titleTop: title.top, headerBottom: header.bottom};
    const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
    const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    for (let node; (node = walker.nextNode());) {
        const el = node.parentElement;
        if (!el || el.closest('.katex, svg, pre, code, iframe, [data-testid=stDataFrame]') || !shown(el)) continue;
        for (const m of node.data.matchAll(/[^\s\-–—]{2,}/g)) {
            range.setStart(node, m.index);
            range.setEnd(node, m.index + m[0].length);
            const rects = [...range.getClientRects()].filter(r => r.width > 0.5);
            if (rects.length < 2) continue;
            const tops = rects.map(r => r.top);
            if (Math.max(...tops) - Math.min(...tops) > rects[0].height / 2)
                out.split.push(`${m[0]} (in '${el.innerText.slice(0, 50)}')`);
        }
    }
    const boxes = 'h1, h2, h3, h4, h5, h6, [data-testid=stWidgetLabel], [data-testid=stMetricLabel], '
        + '[data-testid=stMetricValue], [data-testid=stTab], [data-testid=stCaptionContainer], '
        + '[data-testid=stMarkdownContainer] p, button';
    const cut = el => shown(el) && el.scrollWidth > el.clientWidth + 1;
    for (const el of main.querySelectorAll(boxes)) {
        if (cut(el))
            out.overflow.push(`${el.tagName} '${el.innerText.slice(0, 40)}' ${el.scrollWidth} > ${el.clientWidth}`);
    }
    // Text cut short with an ellipsis (metrics, labels), and formulas that scroll sideways (cut at the edge; a
    // glyph's overhang of a pixel or two is not).
    for (const el of main.querySelectorAll('*')) {
        if (el.closest('svg, iframe, [data-testid=stDataFrame]')) continue;
        const truncated = getComputedStyle(el).textOverflow === 'ellipsis' && el.innerText && cut(el);
        const formula = el.matches('.katex-display') && shown(el) && el.scrollWidth > el.clientWidth + 4;
        if (truncated || formula)
            out.overflow.push(`${el.className.split(' ')[0] || el.tagName} '${el.innerText.slice(0, 40)}' cut: `
                              + `${el.scrollWidth} > ${el.clientWidth}`);
    }
    for (const gd of main.querySelectorAll('.js-plotly-plot')) {
        if (!shown(gd) || !gd._fullLayout) continue;
        const r = gd.querySelector('.main-svg').getBoundingClientRect();
        const box = (gd.closest('[data-testid=stColumn]') || gd.closest('[data-testid=stMainBlockContainer]'))
            .getBoundingClientRect();
        const ticks = [...gd.querySelectorAll('.xtick text, .ytick text')].filter(shown);
        const xticks = [...gd.querySelectorAll('.xtick text')].filter(shown);
        const fl = gd._fullLayout;
        out.charts.push({
            key: gd.closest('[class*=st-key-]')?.className.match(/st-key-(\S+)/)?.[1] || '',
            left: r.left, right: r.right, top: r.top, width: r.width, boxLeft: box.left, boxRight: box.right,
            tickPx: ticks.length ? Math.min(...ticks.map(t => parseFloat(getComputedStyle(t).fontSize))) : null,
            xrange: fl.xaxis ? fl.xaxis.range : null, yrange: fl.yaxis ? fl.yaxis.range : null,
            xtickRight: xticks.length ? Math.max(...xticks.map(t => t.getBoundingClientRect().right)) : null,
            xticks: xticks.map(t => t.textContent)});
    }
    return out;
}"""

KL_COLUMNS = r"""() => {
    const lines = el => {  // how many lines an element's text takes (its text only: not the heading's link icon)
        const tops = new Set(), range = document.createRange();
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        for (let node; (node = walker.nextNode());) {
            range.selectNodeContents(node);
            for (const r of range.getClientRects()) if (r.width > 0.5) tops.add(Math.round(r.top));
        }
        return tops.size;
    };
    return [...document.querySelectorAll('[data-testid=stMain] [data-testid=stColumn]')]
        .filter(c => c.querySelector('h3') && c.querySelector('.js-plotly-plot'))
        .map(c => ({head: c.querySelector('h3').innerText, headLines: lines(c.querySelector('h3')),
                    width: c.getBoundingClientRect().width,
                    images: [...c.querySelectorAll('[data-testid=stImage] img')]
                        .map(i => Math.round(i.getBoundingClientRect().width))}));
}"""


# The latent surface (ui/components/latent_pad, in a shadow root) is drawn in large type: ready, with at least
# `marks` marks, its legend chips (or, without them, its readout) at least `px` px.
LARGE_SURFACE = r"""([marks, px]) => {
    const s = window.__latentPad;
    if (!s || !s.ready || s.marks < marks) return false;
    for (const el of document.querySelectorAll('[data-testid=stMain] *')) {
        const root = el.shadowRoot && el.shadowRoot.querySelector('.lp.lp-large');
        const text = root && (root.querySelector('.lp-legend button') || root.querySelector('.lp-z'));
        if (text) return parseFloat(getComputedStyle(text).fontSize) >= px;
    }
    return false;
}"""


@pytest.fixture(scope="module")
def server_with_a_run(tmp_path_factory, tiny_ckpt):
    with app_with_a_finished_run(tmp_path_factory.mktemp("large-type"), tiny_ckpt) as (url, _):
        yield url


def shot(page, name: str) -> None:
    """The whole page: the main area scrolls inside the window, so the window is made as tall as the content for
    the picture (the width, and so the layout, stays)."""
    SHOTS.mkdir(exist_ok=True)
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": 1280, "height": max(720, min(height, 12000))})
    try:
        page.screenshot(path=str(SHOTS / f"large-type-{name}.png"))
    finally:
        page.set_viewport_size({"width": 1280, "height": 720})


def settle(page, charts: str = "", count: int = 1) -> None:
    """The script has finished, and `count` Plotly charts matching the selector `charts` (a chart's key class) have
    drawn: the previous tab's or page's charts do not count."""
    if charts:
        page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length >= n",
                               arg=[f"[data-testid=stMain] {charts} .js-plotly-plot .main-svg", count],
                               timeout=WAIT_MS)
    wait_for_app(page, WAIT_MS)
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)


def check(page, name: str, min_charts: int = 0) -> dict:
    """Measure the page, save its screenshot, and assert what every page must satisfy."""
    m = page.evaluate(MEASURE)
    shot(page, name)
    problems = []
    if m["split"]:
        problems.append(f"words split across lines: {m['split']}")
    if m["overflow"]:
        problems.append(f"text wider than its box: {m['overflow']}")
    if m["titleTop"] < m["headerBottom"] - 1:
        problems.append(f"the title starts at y = {m['titleTop']:.0f}, under the header (to {m['headerBottom']:.0f})")
    if m["pageOverflow"] > 0:
        problems.append(f"the page scrolls sideways by {m['pageOverflow']} px")
    if len(m["charts"]) < min_charts:
        problems.append(f"{len(m['charts'])} Plotly charts drawn, expected {min_charts}")
    for c in m["charts"]:
        if c["tickPx"] is not None and c["tickPx"] < MIN_TICK_PX:
            problems.append(f"chart {c['key']}: tick labels {c['tickPx']} px")
        if c["left"] < c["boxLeft"] - 1 or c["right"] > c["boxRight"] + 1:
            problems.append(f"chart {c['key']} ({c['left']:.0f}-{c['right']:.0f}) sticks out of its column "
                            f"({c['boxLeft']:.0f}-{c['boxRight']:.0f})")
    print(f"{name}: {len(m['charts'])} charts, ticks {[c['tickPx'] for c in m['charts']]} px")
    assert not problems, f"{name} at 1280x720 with large type:\n" + "\n".join(problems)
    return m


def open_page(page, path: str, title: str, charts: str = "", count: int = 1) -> None:
    page.locator(f"[data-testid=stSidebarNav] a[href$='/{path}']").first.click()
    page.get_by_role("heading", name=title).first.wait_for(timeout=WAIT_MS)
    settle(page, charts, count)


def open_tab(page, name: str, charts: str, count: int = 1) -> None:
    page.get_by_role("tab", name=name).click()
    page.wait_for_function("""name => [...document.querySelectorAll('[role=tab][aria-selected=true]')]
        .some(t => t.innerText.trim() === name)""", arg=name, timeout=WAIT_MS)
    settle(page, charts, count)


def draw_a_seven(page) -> None:
    """Two mouse strokes' worth of a 7 on the Draw tab's canvas, one pen-down."""
    box = page.locator("canvas.dc-canvas").bounding_box()
    points = [(0.25, 0.25), (0.75, 0.25), (0.45, 0.8)]
    page.mouse.move(box["x"] + box["width"] * points[0][0], box["y"] + box["height"] * points[0][1])
    page.mouse.down()
    for (a, b), (c, d) in zip(points, points[1:]):
        for i in range(1, 11):
            f = i / 10
            page.mouse.move(box["x"] + box["width"] * (a + (c - a) * f), box["y"] + box["height"] * (b + (d - b) * f))
    page.mouse.up()


def assert_nothing_overlaps(page, *selectors: str) -> None:
    """No two of the elements matching the selectors overlap on the page (by more than a pixel)."""
    boxes = [(sel, i, box) for sel in selectors for i, box in enumerate(
        b for b in (el.bounding_box() for el in page.locator(sel).all()) if b and b["width"] > 0)]
    assert len(boxes) >= 2, boxes
    for n, (s1, i1, a) in enumerate(boxes):
        for s2, i2, b in boxes[n + 1:]:
            dx = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
            dy = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
            assert dx <= 1 or dy <= 1, f"{s1} #{i1} {a} overlaps {s2} #{i2} {b}"


def assert_kl_layout(maps: list[dict], cols: list[dict]) -> None:
    assert len(maps) == len(cols) == 5
    for c in maps:
        assert c["width"] >= MIN_MAP_PX, c
        assert [round(v, 6) for v in c["xrange"]] == [-4, 4] and [round(v, 6) for v in c["yrange"]] == [-4, 4], c
        # Both ends of the window are labelled, inside the column (Plotly hides a label that would stick out).
        assert {"−4", "4"} <= set(c["xticks"]) and c["xtickRight"] <= c["boxRight"] + 1, c
    for c in cols:
        assert c["headLines"] == 1, c  # "β = 0.25" on one line
        assert min(c["images"]) >= MIN_GRID_PX, c
    tops = sorted(c["top"] for c in maps)  # models side by side share a row: their maps line up exactly
    assert all(b - a <= 1 or b - a > MIN_MAP_PX for a, b in zip(tops, tops[1:])), tops


def test_every_page_reads_well_in_large_type_at_1280x720(server_with_a_run, browser, mnist_test, tmp_path):
    png = tmp_path / "seven.png"
    Image.fromarray(255 - mnist_test.images[0].numpy()).resize((140, 140), Image.Resampling.BICUBIC).save(png)
    started = time.monotonic()
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    try:
        page.goto(server_with_a_run + "/", timeout=WAIT_MS)
        page.get_by_role("heading", name="Explore the latent space").first.wait_for(timeout=WAIT_MS)
        wait_for_app(page, WAIT_MS)
        page.locator("[data-testid=stSidebar]").get_by_text("Large type (projector)").click()
        page.wait_for_function("() => getComputedStyle(document.documentElement).fontSize === '22px'",
                               timeout=WAIT_MS)
        # The surface drawn before the toggle is drawn again in large type (Explore has no Plotly chart).
        page.wait_for_function(LARGE_SURFACE, arg=[0, MIN_TICK_PX], timeout=WAIT_MS)
        settle(page)
        page.get_by_text("More views of the decoder").click()  # the views under the surface, read in large type too
        open_tab(page, "Decoded manifold", "")
        check(page, "explore")

        open_page(page, "reconstruct", "Reconstruct a digit")
        page.get_by_role("tab", name="Upload images").click()
        page.locator("[data-testid=stTabPanel]:visible input[type=file]").first.set_input_files(str(png))
        page.locator("[data-testid=stTabPanel]:visible").get_by_text("decoded from μ", exact=True).first.wait_for(
            timeout=WAIT_MS)
        page.wait_for_function(LARGE_SURFACE, arg=[1, MIN_TICK_PX], timeout=WAIT_MS)  # "Where your digits land"
        settle(page)
        check(page, "reconstruct-upload")
        page.get_by_role("tab", name="Draw a digit").click()
        draw_a_seven(page)
        page.get_by_text("How your drawing became an MNIST-style digit").wait_for(timeout=WAIT_MS)
        settle(page)
        assert_nothing_overlaps(page, "[data-testid=stTabPanel]:visible [data-testid=stImage] img", "canvas.dc-canvas")
        check(page, "reconstruct-draw")

        open_page(page, "kl_lab", "KL lab")
        open_tab(page, "Trained separately", "[class*=st-key-kl_map_]", 5)
        m = check(page, "kl-lab-separately", min_charts=5)
        maps = [c for c in m["charts"] if c["key"].startswith("kl_map_")]
        cols = page.evaluate(KL_COLUMNS)
        print("KL lab maps:", [(c["key"], round(c["width"]), c["xrange"], c["xticks"]) for c in maps])
        print("KL lab columns:", cols)
        assert_kl_layout(maps, cols)
        for tab, key in [("Rate–distortion", "kl_rd_chart"), ("Posterior width", "kl_sigma_chart"),
                         ("KL per dimension", "kl_dim_chart"), ("Holes map", "kl_lab_holes_chart")]:
            open_tab(page, tab, f".st-key-{key}")
            check(page, "kl-lab-" + tab.lower().replace(" ", "-").replace("–", "-"), min_charts=1)

        open_page(page, "maths", "The maths, live", ".st-key-maths_encoder_chart")
        check(page, "maths", min_charts=1)
        for tab in ("3 · Closed-form KL", "4 · The ELBO"):  # metrics were cut to "-80…", formulas ran off the page
            open_tab(page, tab, "")
            check(page, "maths-" + tab.split(" · ")[1].lower().replace(" ", "-"))
        # The finished run: its loss curves, its latent map, the replay.
        open_page(page, "train", "Train a VAE", ":is(.st-key-tr_curves, .st-key-tr_live_map, .st-key-tr_replay)", 3)
        check(page, "train", min_charts=3)
        open_page(page, "lessons", "Classroom lessons")
        check(page, "lessons")
    finally:
        context.close()
        print(f"large-type walk: {time.monotonic() - started:.0f} s")

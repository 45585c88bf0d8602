"""End to end in headless Chromium: the Explore page's one surface (ui/components/latent_pad), driven with real
mouse, wheel and touch input. Hover decodes without telling Python; a drag moves z and Python hears it on release;
a click on a dot selects that test digit (the surface at once, Python after its round trip); the legend hides and
isolates classes; the wheel zooms until the dots become the digits, Reset view returns; the address bar is a link
that opens the same view in another browser, and a garbage link is ignored with one line; on a phone a touch drag
on the surface moves z and does not scroll the page; and the three layouts (laptop 1440 x 900, projector 1280 x 720
in large type, phone 390 x 844) measured. Screenshots go to screenshots/ (git-ignored): look at them after a run.
VAE_UPDATE_DOC_SCREENSHOTS=1 also copies the three layouts' pictures to docs/explore-{desktop,projector,phone}.png.

The component's test hook is window.__latentPad (see ui/components/latent_pad.js); Playwright's CSS locators reach
into the component's (open) shadow root, so `page.locator(".lp-legend button")` finds its chips."""
from __future__ import annotations

import os
import re
import shutil
import sys
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import ROOT, wait_for_app

sys.path.insert(0, str(ROOT))
from bench.browser import (DRAW_HOOK, MARKDOWN, isolated_digits, python_readout, synth_drag,  # noqa: E402
                           synth_small_drag, wait_for_explore)

SCREENS = ROOT / "screenshots"  # git-ignored; look at these after a run
DOCS = ROOT / "docs"
WAIT_MS = int(os.environ.get("VAE_E2E_WAIT_MS", 240_000))  # generous: a busy 2-core box can take minutes
S = "window.__latentPad"
NOT_RUNNING = "[data-testid=stApp][data-test-script-state=notRunning]"

pytestmark = pytest.mark.browser

# An element of the surface's shadow root, by selector (the page has one surface).
IN_PAD = """(sel) => {
  for (const el of document.querySelectorAll("*")) {
    const found = el.shadowRoot && el.shadowRoot.querySelector(sel);
    if (found) return found;
  }
  return null;
}"""

TWO_FRAMES = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"


# ---- helpers ---------------------------------------------------------------------------------------------------

def open_explore(browser, url: str, viewport=(1400, 1000), touch: bool = False, path: str = "/"):
    """A new browser context (a new student) on the Explore page, drawn. Returns (context, page)."""
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, has_touch=touch)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(url + path, timeout=WAIT_MS)
    wait_for_app(page, WAIT_MS)
    wait_for_explore(page, WAIT_MS)
    return context, page


@pytest.fixture
def explore(app_server, page):
    page.set_default_timeout(WAIT_MS)
    page.context.add_init_script(DRAW_HOOK)
    page.goto(app_server, timeout=WAIT_MS)
    wait_for_app(page, WAIT_MS)
    wait_for_explore(page, WAIT_MS)
    return page


def pad(page, expr: str):
    """Evaluate an expression over the hook, e.g. pad(page, "selected")."""
    return page.evaluate(f"() => {S}.{expr}")


def pad_text(page, selector: str) -> str:
    return page.evaluate(f"(sel) => ({IN_PAD})(sel).textContent", selector)


def font_px(page, selector: str) -> float:
    return page.evaluate(f"(sel) => parseFloat(getComputedStyle(({IN_PAD})(sel)).fontSize)", selector)


def numbers(text: str) -> list[float]:
    """The numbers of "z = (+0.81, -0.61)" (Python's line or the surface's readout)."""
    inside = re.search(r"z = \(([^)]*)\)", text)
    assert inside, text
    return [float(v) for v in inside.group(1).replace("\u2007", "").split(",")]


def python_shows(page, text: str) -> None:
    """Wait until Python's markdown on the page contains text."""
    page.wait_for_function(f"(text) => ({MARKDOWN})().some((t) => t.includes(text))", arg=text, timeout=WAIT_MS)


def python_readout_changes(page, before: str) -> str:
    page.wait_for_function(f"""(before) => {{
        const t = ({MARKDOWN})().find((t) => t.includes("Python received"));
        return t !== undefined && t !== before; }}""", arg=before, timeout=WAIT_MS)
    return python_readout(page)


def settled(page) -> None:
    """The script has finished and two frames have been drawn since (the surface has laid itself out)."""
    page.wait_for_selector(NOT_RUNNING, timeout=WAIT_MS)
    page.evaluate(TWO_FRAMES)


# Resolves once the surface's and the digit's boxes have not changed for 10 animation frames in a row.
SAME_FOR_10_FRAMES = """() => new Promise((done) => {
  const box = (sel) => { const r = (%s)(sel).getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; };
  let last = "", same = 0;
  const tick = () => {
    const now = JSON.stringify([box("canvas.lp-pad"), box("canvas.lp-digit")]);
    same = now === last ? same + 1 : 0;
    last = now;
    if (same >= 10) done(true); else requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})"""


def laid_out(page) -> None:
    """settled, and the layout has stopped moving (a sidebar or a font that changed may take a few frames)."""
    settled(page)
    page.evaluate(SAME_FOR_10_FRAMES % IN_PAD)


def no_exception(page) -> None:
    exceptions = page.locator("[data-testid=stException]")
    assert exceptions.count() == 0, exceptions.first.inner_text()


def select_by_click(page) -> tuple[int, str]:
    """Click the dot of a test digit that no other dot is near; the surface selects it and Python shows it.
    Returns (its index, the surface's title for it: "Test digit #k (label L)")."""
    digit = isolated_digits(page, 1)[0]
    k = digit["k"]
    page.mouse.click(digit["x"], digit["y"])
    page.wait_for_function(f"{S}.selected === {k}", timeout=WAIT_MS)
    page.wait_for_function(f"""() => {{ const box = ({IN_PAD})(".lp-selected");
        return !box.hidden && box.querySelector(".lp-seltitle").textContent.startsWith("Test digit #{k} "); }}""",
                           timeout=WAIT_MS)
    title = pad_text(page, ".lp-seltitle")
    python_shows(page, f"Test digit #{k} (label")
    return k, title


def shot(page, name: str, doc: str | None = None) -> None:
    SCREENS.mkdir(exist_ok=True)
    path = SCREENS / f"{name}.png"
    page.screenshot(path=str(path))
    if doc and os.environ.get("VAE_UPDATE_DOC_SCREENSHOTS") == "1":
        shutil.copy(path, DOCS / doc)


def boxes(page) -> dict:
    """The surface's and the digit canvas's boxes (viewport px) and what the page measures sideways."""
    return page.evaluate(f"""() => {{
        const box = (e) => {{ const r = e.getBoundingClientRect();
                              return {{left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width}}; }};
        return {{surface: box(({IN_PAD})("canvas.lp-pad")), digit: box(({IN_PAD})("canvas.lp-digit")),
                 stacked: {S}.stacked, scrollWidth: document.scrollingElement.scrollWidth,
                 innerWidth: window.innerWidth, innerHeight: window.innerHeight}}; }}""")


# ---- gestures --------------------------------------------------------------------------------------------------

def test_a_drag_redraws_the_digit_on_most_frames(explore):
    page = explore
    drag = synth_drag(page, 1.5)
    assert drag["frames"] >= 10, drag
    # "most animation frames": a redraw landed before the next frame for at least 80% of the moves
    assert drag["framesWithDraw"] >= 0.8 * drag["frames"], drag
    assert drag["draws"] >= 0.8 * drag["frames"]
    assert pad(page, "errors.length") == 0


def test_hover_decodes_and_python_hears_nothing(explore):
    page = explore
    before = python_readout(page)
    assert "z = (+0.00, +0.00)" in before, before
    r = pad(page, "surfaceRect()")
    draws = pad(page, "draws")
    page.mouse.move(r["x"] + 0.3 * r["w"], r["y"] + 0.35 * r["h"])
    page.mouse.move(r["x"] + 0.7 * r["w"], r["y"] + 0.6 * r["h"], steps=10)  # no button pressed
    page.wait_for_function(f"{S}.draws >= {draws + 2}", timeout=WAIT_MS)
    assert page.evaluate(f"() => ({IN_PAD})('.lp-z').classList.contains('lp-preview')")  # shows the hovered z
    assert numbers(pad_text(page, ".lp-z")) != [0.0, 0.0]
    page.mouse.move(r["x"] + r["w"] + 200, r["y"] + 0.5 * r["h"])  # leave the surface: back to the committed z
    page.wait_for_function(f"() => ({IN_PAD})('.lp-z').textContent === 'z = (0.00, 0.00)'", timeout=WAIT_MS)
    settled(page)
    assert python_readout(page) == before  # hovering never reran the script
    assert pad(page, "errors.length") == 0


def test_a_drag_moves_z_and_python_hears_it_on_release(explore):
    page = explore
    r = pad(page, "surfaceRect()")
    at = lambda fx, fy: (r["x"] + fx * r["w"], r["y"] + fy * r["h"])  # noqa: E731

    def drag(start, end) -> tuple[list[float], list[float]]:
        before = python_readout(page)
        draws = pad(page, "draws")
        page.mouse.move(*start)
        page.mouse.down()
        page.mouse.move(*end, steps=8)
        page.wait_for_function(f"{S}.draws >= {draws + 2}", timeout=WAIT_MS)
        assert python_readout(page) == before  # nothing is sent while the button is down
        page.mouse.up()
        heard = numbers(python_readout_changes(page, before))
        return heard, numbers(pad_text(page, ".lp-z"))

    heard, shown = drag(at(0.35, 0.55), at(0.6, 0.4))
    assert heard != [0.0, 0.0]
    assert heard == pytest.approx(shown, abs=0.011)  # Python heard the z the surface shows
    # 100 px further right: z1 grows, z2 stays
    heard2, shown2 = drag(at(0.4, 0.5), (at(0.6, 0.4)[0] + 100, at(0.6, 0.4)[1]))
    assert heard2 == pytest.approx(shown2, abs=0.011)
    assert heard2[0] > heard[0] + 0.1 and heard2[1] == pytest.approx(heard[1], abs=0.05), (heard, heard2)
    assert pad(page, "selected") is None  # a drag is not a click
    no_exception(page)
    assert pad(page, "errors.length") == 0


def test_a_click_on_a_dot_selects_that_digit(explore, mnist_test):
    page = explore
    assert page.evaluate(f"() => ({IN_PAD})('.lp-selected').hidden")
    k, title = select_by_click(page)
    label = int(mnist_test.labels[k])
    assert title == f"Test digit #{k} (label {label})"  # the digit clicked, with its true label
    python_shows(page, f"Test digit #{k} (label {label})")
    assert "posterior q(z|x)" in next(t for t in page.evaluate(MARKDOWN) if f"Test digit #{k}" in t)
    no_exception(page)
    shot(page, "explore-selected")
    page.locator(".lp-clear").click()  # and the selection clears
    page.wait_for_function(f"{S}.selected === null && ({IN_PAD})('.lp-selected').hidden", timeout=WAIT_MS)


def test_the_legend_hides_and_isolates_classes(explore, mnist_test):
    page = explore
    labels = mnist_test.labels.numpy()
    on_view = lambda c: next(int(k) for k in (labels == c).nonzero()[0]  # noqa: E731
                             if pad(page, f"pointPx({int(k)})") is not None)
    three, five = on_view(3), on_view(5)
    chips = page.locator(".lp-legend button")
    assert chips.count() == 10 and chips.nth(3).inner_text().strip() == "3"

    chips.nth(3).click()  # hides the 3s
    page.wait_for_function(f"JSON.stringify({S}.hidden) === '[3]'", timeout=WAIT_MS)
    assert pad(page, f"pointPx({three})") is None and pad(page, f"pointPx({five})") is not None
    assert "lp-off" in chips.nth(3).get_attribute("class")

    chips.nth(5).dblclick()  # only the 5s
    page.wait_for_function(f"{S}.hidden.length === 9 && !{S}.hidden.includes(5)", timeout=WAIT_MS)
    assert pad(page, f"pointPx({five})") is not None and pad(page, f"pointPx({three})") is None
    settled(page)
    shot(page, "explore-only-fives")

    chips.nth(5).dblclick()  # all again
    page.wait_for_function(f"{S}.hidden.length === 0", timeout=WAIT_MS)
    assert pad(page, f"pointPx({three})") is not None
    assert pad(page, "errors.length") == 0


def test_wheel_zoom_shows_the_digits_and_reset_view_returns(explore):
    page = explore
    page.wait_for_function(f"{S}.imagesReady", timeout=WAIT_MS)
    # the densest spot: the dot with the most others within 20 px (of a sample of 500)
    spot = page.evaluate(f"""() => {{
        const pts = [];
        for (let k = 0; k < 100000; k++) {{ const p = {S}.pointPx(k); if (p && !Number.isFinite(p.x)) break;
                                            if (p) pts.push(p); }}
        let best = null, most = -1;
        for (let i = 0; i < pts.length; i += Math.ceil(pts.length / 500)) {{
            const n = pts.filter((q) => Math.hypot(q.x - pts[i].x, q.y - pts[i].y) < 20).length;
            if (n > most) {{ most = n; best = pts[i]; }}
        }}
        return best; }}""")
    page.mouse.move(spot["x"], spot["y"])
    for _ in range(12):  # each wheel step zooms 1.5x; 12 reach ~130x (the most is 200x)
        zoom = pad(page, "zoom")
        page.mouse.wheel(0, -200)
        page.wait_for_function(f"{S}.zoom > {zoom}", timeout=WAIT_MS)
        if pad(page, "thumbs") > 0:
            break
    assert pad(page, "thumbs") > 0, f"no digits drawn at zoom {pad(page, 'zoom'):.1f}"
    settled(page)
    shot(page, "explore-zoomed-in")
    page.locator(".lp-resetview").click()
    page.wait_for_function(f"{S}.zoom === 1 && {S}.thumbs === 0", timeout=WAIT_MS)
    assert pad(page, "errors.length") == 0


# ---- the link ----------------------------------------------------------------------------------------------------

def test_the_address_bar_is_a_link_to_the_view(app_server, browser):
    context, page = open_explore(browser, app_server)
    try:
        k, title = select_by_click(page)
        page.wait_for_function(f"new URLSearchParams(location.search).get('digit') === '{k}'", timeout=WAIT_MS)
        link = page.url
        query = parse_qs(urlsplit(link).query)
        z_link = [float(v) for v in query["z"][0].split(",")]
        assert query["model"] and query["digit"] == [str(k)]
    finally:
        context.close()
    context, page = open_explore(browser, link, path="")  # another student, another browser
    try:
        page.wait_for_function(f"{S}.selected === {k}", timeout=WAIT_MS)
        python_shows(page, f"Test digit #{k} (label")
        assert pad_text(page, ".lp-seltitle") == title
        assert numbers(pad_text(page, ".lp-z")) == pytest.approx(z_link, abs=0.006)
        no_exception(page)
    finally:
        context.close()


def test_a_garbage_link_is_ignored_with_one_line(app_server, page):
    page.set_default_timeout(WAIT_MS)
    page.goto(app_server + "/?z=1,banana&digit=99999", timeout=WAIT_MS)
    wait_for_app(page, WAIT_MS)
    wait_for_explore(page, WAIT_MS)
    page.get_by_text("Part of the link was ignored").first.wait_for(timeout=WAIT_MS)
    notes = page.evaluate("""() => [...document.querySelectorAll("[data-testid=stCaptionContainer]")]
        .map((e) => e.innerText).filter((t) => t.includes("Part of the link was ignored"))""")
    assert len(notes) == 1, notes  # one line, saying what was ignored
    assert "z is not a list of numbers" in notes[0] and "no test digit #99999" in notes[0], notes
    assert pad(page, "selected") is None and page.evaluate(f"() => ({IN_PAD})('.lp-selected').hidden")
    no_exception(page)


# ---- a phone's touch ---------------------------------------------------------------------------------------------

SCROLLS = """() => [window.scrollY, document.scrollingElement.scrollTop,
    ...[...document.querySelectorAll("[data-testid=stMain], [data-testid=stAppViewContainer], section")]
        .map((e) => e.scrollTop)]"""


def touch_drag(cdp, start, end, steps: int = 8) -> None:
    """One finger, through the browser's input pipeline (so the page would scroll if the surface let it)."""
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": start[0], "y": start[1]}]})
    for i in range(1, steps + 1):
        x, y = (start[0] + (end[0] - start[0]) * i / steps, start[1] + (end[1] - start[1]) * i / steps)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_a_touch_drag_on_a_phone_moves_z_and_does_not_scroll(app_server, browser):
    context, page = open_explore(browser, app_server, viewport=(390, 844), touch=True)
    try:
        page.locator("canvas.lp-pad").scroll_into_view_if_needed()
        settled(page)
        scrolls = page.evaluate(SCROLLS)
        r = pad(page, "surfaceRect()")
        before, readout = python_readout(page), pad_text(page, ".lp-z")
        cdp = context.new_cdp_session(page)
        # mostly upwards: the gesture that scrolls a page
        touch_drag(cdp, (r["x"] + 0.4 * r["w"], r["y"] + 0.8 * r["h"]), (r["x"] + 0.55 * r["w"], r["y"] + 0.3 * r["h"]))
        heard = numbers(python_readout_changes(page, before))
        assert page.evaluate(SCROLLS) == scrolls, "the page scrolled under a drag on the surface"
        assert pad_text(page, ".lp-z") != readout and heard != [0.0, 0.0]
        assert heard == pytest.approx(numbers(pad_text(page, ".lp-z")), abs=0.011)
        # the same finger on the digit under the surface does scroll the page (so the check above can see one)
        b = boxes(page)["digit"]
        start = ((b["left"] + b["right"]) / 2, min(b["top"] + 100, 800))
        assert b["top"] < 800, b
        touch_drag(cdp, start, (start[0], start[1] - 250))
        page.wait_for_function(f"(s) => JSON.stringify(({SCROLLS})()) !== JSON.stringify(s)", arg=scrolls,
                               timeout=WAIT_MS)
        assert pad(page, "errors.length") == 0
    finally:
        context.close()


# ---- the three layouts -------------------------------------------------------------------------------------------

# Scroll whatever scrolls the page (Streamlit's main area) so that the element starts 70 px from the top, under
# Streamlit's header.
SCROLL_TO_TOP = """(e) => {
  const by = e.getBoundingClientRect().top - 70;
  for (let n = e; n; ) {
    n = n.parentElement || (n.getRootNode().host ?? null);
    if (n && n.scrollHeight > n.clientHeight + 1 && /(auto|scroll)/.test(getComputedStyle(n).overflowY)) {
      n.scrollBy(0, by);
      return;
    }
  }
  window.scrollBy(0, by);
}"""

def test_laptop_1440x900_surface_and_digit_side_by_side(app_server, browser):
    context, page = open_explore(browser, app_server, viewport=(1440, 900))
    try:
        laid_out(page)
        b = boxes(page)
        print("1440x900:", b)
        assert not b["stacked"]
        assert b["digit"]["left"] >= b["surface"]["right"], b  # the digit beside the surface
        assert b["surface"]["bottom"] <= 900 and b["digit"]["bottom"] <= 900, b  # both on the first screen
        assert b["scrollWidth"] <= b["innerWidth"], b
        select_by_click(page)  # the picture shows a selected digit's panel and ellipse too
        settled(page)
        shot(page, "explore-desktop-1440x900", "explore-desktop.png")
    finally:
        context.close()


def open_projector(browser, url: str):
    """1280 x 720 with the sidebar's "Large type (projector)" on, the surface redrawn in large type."""
    context, page = open_explore(browser, url, viewport=(1280, 720))
    page.locator("[data-testid=stSidebar]").get_by_text("Large type (projector)").click()
    page.wait_for_function("() => getComputedStyle(document.documentElement).fontSize === '22px'", timeout=WAIT_MS)
    page.wait_for_function(f"() => ({IN_PAD})('.lp').classList.contains('lp-large') && {S}.ready", timeout=WAIT_MS)
    laid_out(page)
    return context, page


def test_projector_1280x720_in_large_type(app_server, browser):
    context, page = open_projector(browser, app_server)
    try:
        b = boxes(page)
        chip, readout = font_px(page, ".lp-legend button"), font_px(page, ".lp-z")
        print("1280x720 large:", b, "chip", chip, "readout", readout)
        shot(page, "explore-projector-1280x720", "explore-projector.png")
        assert chip >= 18 and readout >= 18, (chip, readout)
        assert b["scrollWidth"] <= b["innerWidth"], b  # nothing overflows sideways
        assert not b["stacked"] and b["digit"]["left"] >= b["surface"]["right"], b
    finally:
        context.close()


def test_projector_surface_takes_most_of_the_height(app_server, browser):
    context, page = open_projector(browser, app_server)
    try:
        b = boxes(page)
        assert b["surface"]["bottom"] - b["surface"]["top"] >= 0.6 * 720, b
    finally:
        context.close()


def test_phone_390x844_stacks_the_digit_under_the_surface(app_server, browser):
    context, page = open_explore(browser, app_server, viewport=(390, 844), touch=True)
    try:
        laid_out(page)
        b = boxes(page)
        print("390x844:", b)
        assert b["stacked"]
        assert b["surface"]["width"] >= 0.85 * 390, b
        assert b["digit"]["top"] >= b["surface"]["bottom"], b  # the digit below the surface
        assert b["scrollWidth"] <= b["innerWidth"], b
        page.locator("canvas.lp-pad").evaluate(SCROLL_TO_TOP)
        settled(page)
        shot(page, "explore-phone-390x844", "explore-phone.png")
    finally:
        context.close()


# ---- reruns ------------------------------------------------------------------------------------------------------

def test_the_surface_file_is_downloaded_once(app_server, browser):
    """The loader starts the surface's file with its code, and the code takes that download: one request for the
    file on the first visit, and none when the surface is mounted again (another page and back)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    files: list[str] = []
    page.on("request", lambda r: files.append(r.url) if "/app/static/latent_pad/" in r.url and ".bin" in r.url
            else None)
    try:
        page.goto(app_server, timeout=WAIT_MS)
        wait_for_app(page, WAIT_MS)
        wait_for_explore(page, WAIT_MS)
        assert len(files) == 1, files
        page.locator("[data-testid=stSidebarNav] a[href$='/reconstruct']").first.click()
        page.get_by_role("heading", name="Reconstruct a digit").first.wait_for(timeout=WAIT_MS)
        page.locator("[data-testid=stSidebarNav] a").first.click()  # back to Explore: the surface mounts again
        page.get_by_role("heading", name="Explore the latent space").first.wait_for(timeout=WAIT_MS)
        wait_for_app(page, WAIT_MS)
        page.wait_for_function(f"() => {S}.ready && {S}.invocations >= 2", timeout=WAIT_MS)
        assert len(files) == 1, files
    finally:
        context.close()


def test_reruns_do_not_rebuild_the_surface(explore):
    """The surface is built once: neither its own release (a fragment rerun) nor a full rerun of the page re-invokes
    its JavaScript (a rebuild would redraw the surface and its 10k points for nothing)."""
    page = explore
    assert pad(page, "invocations") == 1
    assert synth_small_drag(page, 0.3, 0.6, 60000) is not None
    page.get_by_text("More views of the decoder").click()  # a full rerun that draws the tabs
    page.get_by_role("tab", name="Prior samples").click()
    samples = page.locator("[data-testid=stTabPanel]:visible [data-testid=stImage] img").first
    before = samples.get_attribute("src")
    page.get_by_role("button", name="Draw new samples").click()  # a full rerun: new samples drawn
    page.wait_for_function("""(before) => [...document.querySelectorAll("[data-testid=stTabPanel] img")]
        .some((i) => i.offsetParent !== null && i.getAttribute("src") !== before)""", arg=before, timeout=WAIT_MS)
    settled(page)
    assert pad(page, "invocations") == 1
    page.locator("canvas.lp-pad").scroll_into_view_if_needed()
    settled(page)
    index, _ = select_by_click(page)  # a selection: Python shows it, the surface is not rebuilt for it
    python_shows(page, f"Test digit #{index}")
    settled(page)
    assert pad(page, "invocations") == 1
    no_exception(page)

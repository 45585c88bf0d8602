"""axe-core over every page and every tab, in headless Chromium: no critical or serious violation of the WCAG 2.0 /
2.1 A and AA rules. axe comes bundled with the axe-playwright-python package (offline) and scans inside the custom
components' open shadow roots too.

Left out, and only these: Streamlit's own sidebar navigation, whose <ul> holds non-<li> children (axe `list` /
`listitem`; a bare Streamlit app shows the same). Everything found is printed, so a run lists what is left.

The server runs in a scratch folder holding one finished run, so the Train page has its charts and its replay.
"""
from __future__ import annotations

import os

import pytest
from PIL import Image

from conftest import app_with_a_finished_run, settled, wait_for_app
from test_e2e_large_type import draw_a_seven  # one pen-down, as on that page's test

pytestmark = pytest.mark.browser

WAIT_MS = int(os.environ.get("VAE_E2E_WAIT_MS", 240_000))
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SERIOUS = {"critical", "serious"}
# Streamlit's sidebar navigation: its list markup is Streamlit's (a bare app fails the same two rules).
STREAMLIT_NAV_RULES = {"list", "listitem"}

# axe, then each failing node's place: in the sidebar navigation, and in which custom component (its shadow root's
# top element's class: lp = latent pad, bd = beta dial, dc = draw canvas).
RUN_AXE = r"""async (tags) => {
    const results = await axe.run(document, {runOnly: {type: 'tag', values: tags}, elementRef: true,
                                             resultTypes: ['violations']});
    const where = (el) => {
        let component = '';
        for (let node = el; node; ) {
            const root = node.getRootNode();
            if (root instanceof ShadowRoot) {
                const top = root.querySelector('div[class]');
                component = component || (top ? top.className.split(' ')[0] : 'shadow');
                node = root.host;
            } else break;
        }
        const host = el.getRootNode() instanceof ShadowRoot ? el.getRootNode().host : el;
        return {component, nav: !!(host.closest && host.closest('[data-testid=stSidebarNav]'))};
    };
    return results.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({target: JSON.stringify(n.target), html: n.html.slice(0, 160),
                                  size: [n.element.scrollWidth, n.element.clientWidth, n.element.scrollHeight,
                                         n.element.clientHeight],
                                  summary: (n.failureSummary || '').slice(0, 300), ...where(n.element)}))}));
}"""


def axe_script() -> str:
    from axe_playwright_python.sync_playwright import Axe

    return Axe().axe_script


def scan(page, name: str, found: dict) -> None:
    """Run axe on the page as it is and record its critical and serious violations under `name`."""
    page.evaluate("() => document.fonts.ready.then(() => null)")  # KaTeX's fonts: a formula's final width
    settled(page)
    page.evaluate(axe_script())
    violations = page.evaluate(RUN_AXE, WCAG_TAGS)
    kept = []
    for v in violations:
        if v["impact"] not in SERIOUS:
            continue
        nodes = [n for n in v["nodes"] if not (v["id"] in STREAMLIT_NAV_RULES and n["nav"])]
        if nodes:
            kept.append({**v, "nodes": nodes})
    found[name] = kept
    print(f"\n== {name}: {sum(len(v['nodes']) for v in kept)} critical/serious nodes")
    for v in kept:
        print(f"  [{v['impact']}] {v['id']} ({v['help']}): {len(v['nodes'])}")
        for n in v["nodes"][:6]:
            print(f"     {n['component'] or 'page'} {n['target']} {n['html'][:110]} (scroll/client w, h {n['size']})")


@pytest.fixture(scope="module")
def server_with_a_run(tmp_path_factory, tiny_ckpt):
    with app_with_a_finished_run(tmp_path_factory.mktemp("axe"), tiny_ckpt) as (url, _):
        yield url


def settle(page) -> None:
    wait_for_app(page, WAIT_MS)
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    wait_for_app(page, WAIT_MS)


def open_page(page, path: str, title: str) -> None:
    """Open a page as its user would: by the sidebar's link (which keeps the session, and large type with it), or on
    a phone, whose sidebar is folded away, by its address."""
    if page.viewport_size["width"] < 700:
        page.goto("/".join(page.url.split("/", 3)[:3]) + "/" + path, timeout=WAIT_MS)
    else:
        page.locator(f"[data-testid=stSidebarNav] a[href$='/{path}']").first.click()
    page.get_by_role("heading", name=title).first.wait_for(timeout=WAIT_MS)
    settle(page)


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    page.wait_for_function("""name => [...document.querySelectorAll('[role=tab][aria-selected=true]')]
        .some(t => t.innerText.trim() === name)""", arg=name, timeout=WAIT_MS)
    settle(page)


def wait_for_images(page) -> None:
    """Every picture in the main area has loaded (axe reads alt text; a half-drawn page has fewer images)."""
    page.wait_for_function("""() => [...document.querySelectorAll('[data-testid=stMain] img')]
        .every(i => i.complete)""", timeout=WAIT_MS)


LAYOUTS = {"laptop": (1440, 900, False), "projector": (1280, 720, True), "phone": (390, 844, False)}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_no_serious_wcag_violation_on_any_page_or_tab(layout, server_with_a_run, browser, mnist_test, tmp_path):
    """Every page and tab at the three sizes a class meets: a laptop, a projector (1280 x 720, large type on) and a
    phone."""
    from ui import pages

    width, height, large = LAYOUTS[layout]
    png = tmp_path / "seven.png"
    Image.fromarray(255 - mnist_test.images[0].numpy()).resize((140, 140), Image.Resampling.BICUBIC).save(png)
    found: dict[str, list] = {}
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(server_with_a_run + "/", timeout=WAIT_MS)
        page.get_by_role("heading", name="Explore the latent space").first.wait_for(timeout=WAIT_MS)
        page.wait_for_function("() => window.__latentPad && window.__latentPad.ready", timeout=WAIT_MS)
        settle(page)
        if large:
            page.locator("[data-testid=stSidebar]").get_by_text("Large type (projector)").click()
            settle(page)
        scan(page, "explore", found)
        page.get_by_text("More views of the decoder").click()
        for tab in pages.EXPLORE_TABS:
            open_tab(page, tab)
            wait_for_images(page)
            scan(page, f"explore / {tab}", found)

        open_page(page, "reconstruct", "Reconstruct a digit")
        wait_for_images(page)
        scan(page, "reconstruct / Test digits", found)
        open_tab(page, "Upload images")
        page.locator("[data-testid=stTabPanel]:visible input[type=file]").first.set_input_files(str(png))
        page.locator("[data-testid=stTabPanel]:visible").get_by_text("decoded from μ", exact=True).first.wait_for(
            timeout=WAIT_MS)
        settle(page)
        wait_for_images(page)
        scan(page, "reconstruct / Upload images", found)
        open_tab(page, "Draw a digit")
        draw_a_seven(page)
        page.get_by_text("How your drawing became an MNIST-style digit").wait_for(timeout=WAIT_MS)
        settle(page)
        wait_for_images(page)
        scan(page, "reconstruct / Draw a digit", found)

        open_page(page, "kl_lab", "KL lab")
        page.wait_for_function("() => window.__betaDial && window.__betaDial.ready", timeout=WAIT_MS)
        settle(page)
        scan(page, f"kl_lab / {pages.KL_LAB_TABS[0]}", found)
        for tab in pages.KL_LAB_TABS[1:]:
            open_tab(page, tab)
            wait_for_images(page)
            scan(page, f"kl_lab / {tab}", found)

        open_page(page, "maths", "The maths, live")
        for i, tab in enumerate(pages.MATHS_TABS):
            if i:
                open_tab(page, tab)
            wait_for_images(page)
            scan(page, f"maths / {tab}", found)

        open_page(page, "train", "Train a VAE")
        page.wait_for_function("() => document.querySelectorAll('[data-testid=stMain] .js-plotly-plot').length >= 3",
                               timeout=WAIT_MS)
        settle(page)
        scan(page, "train", found)
        open_page(page, "lessons", "Classroom lessons")
        scan(page, "lessons", found)
    finally:
        context.close()
    failing = {name: [f"{v['id']} ×{len(v['nodes'])}" for v in vs] for name, vs in found.items() if vs}
    assert not failing, f"critical/serious WCAG violations: {failing}"


# The ring the keyboard's focus shows on each element it reaches outside the custom components (which draw their
# own): the outline of the element, or of the box a visually hidden input sits in; its colour's contrast against
# the background behind it.
FOCUS_RING = r"""() => {
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) return {component: true};
    if (!el || el === document.body) return null;
    const lum = (rgb) => {
        const [r, g, b] = rgb.match(/[\d.]+/g).slice(0, 3).map(Number).map(v => v / 255)
            .map(c => c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const background = (node) => {
        for (; node && node.nodeType === 1; node = node.parentElement) {
            const c = getComputedStyle(node).backgroundColor;
            const alpha = c.match(/[\d.]+/g)[3];
            if (alpha === undefined || Number(alpha) > 0.5) return c;
        }
        return 'rgb(255, 255, 255)';
    };
    const seen = (c) => {  // neither it nor a box it is in is clipped to nothing (a visually hidden input)
        for (let n = c; n && n !== document.body; n = n.parentElement) {
            const r = n.getBoundingClientRect(), cs = getComputedStyle(n);
            const clips = cs.overflow !== 'visible' || cs.clipPath !== 'none' || n === c;
            if (clips && (r.width <= 2 || r.height <= 2)) return false;
        }
        return true;
    };
    const candidates = [el, el.closest('label'), el.closest('[data-baseweb=select] > div'),
                        el.closest('[data-baseweb=input]'), el.closest('[data-baseweb=base-input]'),
                        el.closest('[data-focus-visible=true]')].filter(c => c && seen(c));
    const ring = candidates.find(c => getComputedStyle(c).outlineStyle !== 'none'
                                      && parseFloat(getComputedStyle(c).outlineWidth) > 0);
    const name = (el.getAttribute('aria-label') || el.innerText || el.value || el.tagName).trim().slice(0, 40);
    const where = el.closest('[data-testid=stSidebar]') ? 'sidebar' : 'main';
    if (!ring) return {name, where, role: el.getAttribute('role') || el.tagName, width: 0, contrast: 0};
    const cs = getComputedStyle(ring);
    const [a, b] = [lum(cs.outlineColor), lum(background(ring.parentElement))];
    return {name, where, role: el.getAttribute('role') || el.tagName, width: parseFloat(cs.outlineWidth),
            contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)};
}"""


def test_every_focus_ring_is_visible_and_at_least_3_to_1(server_with_a_run, browser):
    """... and, asked for reduced motion, Streamlit's own transitions and animations are cut to nothing."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, reduced_motion="reduce")
    page = context.new_page()
    try:
        page.goto(server_with_a_run + "/", timeout=WAIT_MS)
        page.get_by_role("heading", name="Explore the latent space").first.wait_for(timeout=WAIT_MS)
        page.wait_for_function("() => window.__latentPad && window.__latentPad.ready", timeout=WAIT_MS)
        page.get_by_text("More views of the decoder").click()
        page.get_by_role("tab", name="Prior samples").wait_for(timeout=WAIT_MS)
        settle(page)
        page.locator("[data-testid=stSidebar]").get_by_role("link").first.focus()
        seen, bad = [], []
        for _ in range(60):
            page.keyboard.press("Tab")
            settled(page)  # React marks the focused thumb (data-focus-visible) on its next render
            ring = page.evaluate(FOCUS_RING)
            if not ring or ring.get("component"):
                continue
            seen.append(ring)
            if ring["width"] < 2 or ring["contrast"] < 3:
                bad.append(ring)
        print("focused:", [(r["where"], r["role"], r["name"], r["width"], round(r["contrast"], 1)) for r in seen])
        motion = page.evaluate("""() => [...document.querySelectorAll('[role=tab], summary, button, a')].map(e => {
            const cs = getComputedStyle(e);
            return Math.max(...(cs.transitionDuration + ',' + cs.animationDuration).split(',').map(parseFloat));
        })""")
        assert motion and max(motion) <= 0.001, max(motion)
        roles = {r["role"] for r in seen}
        assert {"A", "switch", "tab", "SUMMARY", "BUTTON"} <= roles | {r["role"].upper() for r in seen}, roles
        assert not bad, f"focus rings under 2 px or 3:1: {bad}"
    finally:
        context.close()


def test_the_replay_plays_and_steps_by_keyboard(server_with_a_run, browser):
    """The Train page's replay without a mouse: Tab reaches Play, Enter plays it from the first epoch to the last
    (every epoch's map drawn on the way), and the epoch slider's arrow keys step it back."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    try:
        page.goto(server_with_a_run + "/train", timeout=WAIT_MS)
        replay = page.locator(".st-key-tr_replay")
        replay.locator(".gtitle").wait_for(timeout=WAIT_MS)
        settle(page)
        assert replay.locator(".gtitle").text_content() == "Epoch 1"  # the last epoch first
        page.evaluate("""() => { window.__titles = [];
            const seen = () => {
                const t = document.querySelector('.st-key-tr_replay .gtitle');
                if (t && window.__titles.at(-1) !== t.textContent) window.__titles.push(t.textContent);
            };
            new MutationObserver(seen).observe(document.querySelector('[data-testid=stMain]'),
                                               {subtree: true, childList: true, characterData: true}); }""")
        # What the Play button says (Streamlit keeps a stale copy of an element for a moment while it redraws)
        says = """word => [...document.querySelectorAll('.st-key-tr_replay_play:not([data-stale=true]) p')]
                           .some(p => p.textContent.trim() === word)"""
        page.get_by_role("button", name="Refresh the replay").first.focus()
        for _ in range(30):  # Shift+Tab back through the page to Play, as a keyboard user would
            if page.evaluate("() => document.activeElement.closest('.st-key-tr_replay_play') !== null"):
                break
            page.keyboard.press("Shift+Tab")
        assert page.evaluate("() => document.activeElement.closest('.st-key-tr_replay_play') !== null")
        page.keyboard.press("Enter")
        page.wait_for_function(says, arg="Pause", timeout=WAIT_MS)
        page.wait_for_function(says, arg="Play", timeout=WAIT_MS)  # it stops by itself at the last epoch
        page.wait_for_function("() => window.__titles.includes('Epoch 0') && window.__titles.at(-1) === 'Epoch 1'",
                               timeout=WAIT_MS)
        settle(page)  # the run that stopped the timer has finished
        slider = page.locator(".st-key-tr_replay_epoch:not([data-stale=true]) input[type=range]")
        slider.focus()
        page.keyboard.press("ArrowLeft")
        page.wait_for_function("""() => [...document.querySelectorAll(
            '.st-key-tr_replay:not([data-stale=true]) .gtitle')].some(t => t.textContent === 'Epoch 0')""",
                               timeout=WAIT_MS)
        settle(page)
        pill = page.locator(".st-key-tr_replay_classes:not([data-stale=true]) button").filter(has_text="3").first
        pill.focus()
        page.keyboard.press("Enter")  # hide the 3s
        page.wait_for_function("""() => { const gd = document.querySelector('.st-key-tr_replay .js-plotly-plot');
            return gd && gd.data && !gd.data.some(t => t.name === '3') && gd.data.some(t => t.name === '4'); }""",
                               timeout=WAIT_MS)
    finally:
        context.close()

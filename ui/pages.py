"""The app's pages and their tabs, named once: router.py builds the navigation from NAVIGATION, a lesson names its page
by id and its tab by label with these constants (ui.lessons), and each page draws its tabs from here."""
from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from pathlib import Path

from ui import keys


# A page's id is its file's stem in app_pages/, which is also its url_path in st.navigation (ui.lessons compares them).
EXPLORE = "explore"
RECONSTRUCT = "reconstruct"
KL_LAB = "kl_lab"
MATHS = "maths"
TRAIN = "train"
LESSONS = "lessons"


@dataclass(frozen=True)
class Page:
    id: str
    title: str  # what the class reads: the sidebar's navigation, and "Opens …" on the lessons page
    icon: str

    @property
    def path(self) -> str:
        return f"app_pages/{self.id}.py"


# The sidebar's navigation, in order, under its section headings; DEFAULT opens first.
NAVIGATION = {
    "Explore": [
        Page(EXPLORE, "Explore the latent space", ":material/explore:"),
        Page(RECONSTRUCT, "Reconstruct a digit", ":material/draw:"),
    ],
    "Learn": [
        Page(KL_LAB, "KL lab", ":material/balance:"),
        Page(MATHS, "The maths, live", ":material/functions:"),
        Page(TRAIN, "Train a VAE", ":material/model_training:"),
        Page(LESSONS, "Classroom lessons", ":material/school:"),
    ],
}
DEFAULT = EXPLORE
PAGES = {p.id: p.path for section in NAVIGATION.values() for p in section}  # id -> file, for st.switch_page
PAGE_TITLES = {p.id: p.title for section in NAVIGATION.values() for p in section}

# ---- tabs ----------------------------------------------------------------------------------------------------------
# A keyed st.tabs keeps the open tab's label in its state key, so a lesson opens a tab by setting that label.

# The maths page, st.tabs(MATHS_TABS, key=keys.MATHS_TAB)
MATHS_ENCODER_OUTPUT = "1 · Encoder output"
MATHS_REPARAMETERISATION = "2 · Reparameterisation"
MATHS_CLOSED_FORM_KL = "3 · Closed-form KL"
MATHS_ELBO = "4 · The ELBO"
MATHS_TABS = [MATHS_ENCODER_OUTPUT, MATHS_REPARAMETERISATION, MATHS_CLOSED_FORM_KL, MATHS_ELBO]

# The KL lab, st.tabs(KL_LAB_TABS, key=keys.KL_LAB_TAB)
KL_BETA_DIAL = "β dial (one model)"
KL_TRAINED_SEPARATELY = "Trained separately"
KL_RATE_DISTORTION = "Rate–distortion"
KL_POSTERIOR_WIDTH = "Posterior width"
KL_PER_DIMENSION = "KL per dimension"
KL_HOLES_MAP = "Holes map"
KL_LAB_TABS = [KL_BETA_DIAL, KL_TRAINED_SEPARATELY, KL_RATE_DISTORTION, KL_POSTERIOR_WIDTH, KL_PER_DIMENSION,
               KL_HOLES_MAP]

# Tabs no lesson opens (Explore's are opened by a click, or by "Interpolate from / to it")
EXPLORE_TABS = ["Decoded manifold", "Prior samples", "Interpolation"]
RECONSTRUCT_TABS = ["Test digits", "Upload images", "Draw a digit"]


# A displayed formula wider than its column breaks after a relation or an operator (KaTeX's own break points)
# instead of running off the edge: with large type (router.py), and on the pages with formulas
# (ui.lessons.wrap_formulas; a phone cut a lesson's formula, 1280 px the closed-form KL).
# Each bracketed term of a formula is a {} group (ui.lessons, app_pages/maths.py), one unbreakable piece: a line
# breaks between terms, never inside a bracket ("KL(q(z |" / "x) ‖ N(0, I))" on a phone). A formula that cannot wrap
# (an aligned block) and is still too wide scrolls, with a shadow at the edge that has more to show.
FORMULA_WRAP_CSS = (".katex-display > .katex > .katex-html { display: flex; flex-wrap: wrap; "
                    "justify-content: safe center; align-items: baseline; row-gap: 0.3em; } "
                    ".katex-display { overflow-x: auto; background: "
                    "linear-gradient(to right, #fff 30%, #fff0), linear-gradient(to left, #fff 30%, #fff0) 100% 0, "
                    "radial-gradient(farthest-side at 0 50%, #0004, #0000), "
                    "radial-gradient(farthest-side at 100% 50%, #0004, #0000) 100% 0; "
                    "background-repeat: no-repeat; background-size: 2.5rem 100%, 2.5rem 100%, 0.9rem 100%, "
                    "0.9rem 100%; background-attachment: local, local, scroll, scroll; }")

# Tab rows wrap onto a second line instead of scrolling sideways: a phone cut "Posterior wid›", a projector hid the
# Holes map tab behind "KL p›". Each label stays on one line; the open tab keeps its underline (drawn inside it).
TABS_WRAP_CSS = ("[data-testid='stTabs'] [role='tablist'] { flex-wrap: wrap; overflow-x: visible; row-gap: 0.25rem; } "
                 "[data-testid='stTabs'] [role='tab'] { white-space: nowrap; flex-shrink: 0; }")
HIDDEN_CSS = f".st-key-{keys.LESSON_SCROLLER} {{ display: none; }}"  # holds a script only (ui.lessons.scroll_to_top)


# The app's own accessibility CSS, injected once per run by router.py on every page (WCAG 2.1 AA where Streamlit's
# defaults fall short). Custom components draw in shadow roots and style their own focus.
FOCUS_RING = "#1d4ed8"  # 6.7:1 on white, 6.1:1 on the sidebar's #f1f5f9 (a focus indicator needs 3:1)
ACCESSIBILITY_CSS = """<style>
/* Focus rings: Streamlit's own (a faint primary-colour shadow) measure 1.1-1.5:1 on nav links, toggles and tabs.
   A solid 3 px ring on whatever the keyboard focuses; widgets whose input is visually hidden (toggle, checkbox,
   radio, select, text and number fields) ring the box the user sees, a slider its thumb. */
:is(a, button, summary, [role=tab], [role=slider], [role=button], [tabindex]:not([tabindex="-1"])):focus-visible,
label:has(> input:focus-visible), label:has(> div > input:focus-visible), [data-rac][data-focus-visible=true],
[data-baseweb=select] > div:has(input:focus-visible),
:is([data-baseweb=input], [data-baseweb=textarea], [data-baseweb=base-input]):has(:is(input, textarea):focus-visible) {
    outline: 3px solid %(ring)s !important; outline-offset: 2px !important;
}
/* A disabled widget's label (e.g. Reconstruct's Class select while Random is picked) was 40 %% ink, 2.2:1: 4.8:1
   here, still visibly fainter than an enabled label. */
[data-testid=stElementContainer]:has(:is(input, textarea):disabled) [data-testid=stWidgetLabel] {
    color: #64748b !important; }
/* A displayed formula's glyphs overhang its box by a pixel or two, which made the box a scroll area that the
   keyboard cannot reach (axe: scrollable-region-focusable): 6 px of room on each side, the column's width kept. */
.katex-display { margin-inline: -6px; padding-inline: 6px; }
/* Nothing moves on its own for someone who asked the system for less motion (spinners, expanders, tab
   underlines); the Train page's replay steps only when Play is pressed. */
@media (prefers-reduced-motion: reduce) {
    *, *::before, *::after { animation-duration: 0.01ms !important; animation-iteration-count: 1 !important;
                             transition-duration: 0.01ms !important; scroll-behavior: auto !important; }
}
</style>""" % {"ring": FOCUS_RING}


@functools.cache
def favicon() -> str:
    """The app's icon, our own PNG inline (read once per process): a Material icon as the favicon is fetched from
    fonts.gstatic.com, which an offline classroom cannot reach; an emoji makes Streamlit load its emoji catalogue
    (~0.2 s of the cold start); a file path makes it open the file with Pillow on every run, and the first time import
    Pillow and its plugins (~30 ms of the first page)."""
    png = (Path(__file__).resolve().parent.parent / "assets" / "favicon.png").read_bytes()
    return "data:image/png;base64," + base64.b64encode(png).decode()


def skip_direct_run_check() -> None:
    """Streamlit's first element in a process asks whether it runs in a Python REPL, to warn about `python app.py`:
    inspect.stack() reads the source of every frame and realpaths every loaded module, ~60 ms of the first visit
    after a server start (measured; more modules, more time). This app runs under `streamlit run`, so the warning
    has nothing to say. A private flag, because no public setting skips the probe: the one option,
    global.showWarningOnDirectExecution, is read only after it (delta_generator._maybe_print_use_warning, Streamlit
    1.67). If Streamlit renames the flag, this sets an unused attribute and costs nothing; tests/test_app_shell.py
    says so."""
    import streamlit.delta_generator as delta_generator

    delta_generator._use_warning_has_been_displayed = True

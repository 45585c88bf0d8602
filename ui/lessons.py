"""Classroom mode: five lessons, in order, each a preset of session state on one page plus the equation to put on
the projector. A lesson only sets session-state keys and switches page; a page shows the active lesson's box with
one call, `lesson_box(<page id>)`. Pages, tabs and keys are named by ui.pages and ui.keys.

Starting a lesson happens in a widget callback (before any widget is drawn, so even the sidebar's keys may be set);
callbacks cannot switch page, so they leave the destination in keys.LESSON_GOTO and router.py calls st.switch_page early
in the next run. The key is cleared once the destination page is the one running.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from ui import keys, pages
from ui.state import keep_widget_values, select_model
from vae import bundled

DELETE = object()  # a state value meaning "remove this key" (the page then applies its own defaults)
SLOPPY_DIGIT, CLEAR_FAR_DIGIT = 1247, 4320  # lesson 1's pair of test digits (tests/test_claims.py measures them)
DEFAULT_MODEL = "<default>"  # as the value of keys.MODEL_PATH: select the default model (ui.state.select_model)


@dataclass(frozen=True)
class Lesson:
    number: int
    title: str
    page: str  # a page id of ui.pages
    equation: str  # LaTeX, shown beside the widgets; each bracketed term in {} so a narrow screen breaks between terms
    text: str  # what the class looks at, in two or three sentences
    try_this: str  # one thing to do with the widgets
    state: dict = field(default_factory=dict)  # session-state keys (ui.keys) set when the lesson starts


def _default_model() -> str:
    return str(bundled.DEFAULT.path)


LESSONS = [
    Lesson(1, "What the encoder outputs (μ, log σ²)", pages.MATHS,
           r"{q_\phi(z \mid x)} = {\mathcal{N}\!\big(z;\ \mu_\phi(x),\ \operatorname{diag}\sigma^2_\phi(x)\big)},"
           r"\quad\allowbreak {\text{encoder}(x)} = {(\mu, \log\sigma^2)}",  # \allowbreak: a phone wraps there
           "The encoder does not output a point: it outputs a Gaussian, a centre μ and a width σ for every "
           "latent dimension. It predicts log σ² rather than σ so that any real number is a valid output.",
           f"Change the test digit and watch μ move and σ change. σ is about where the code lies, not how neat the "
           f"digit is: it grows with the distance from the map's centre. The sloppy 9 #{SLOPPY_DIGIT}, near the "
           f"centre, gets σ ≈ 0.01; the clear 0 #{CLEAR_FAR_DIGIT}, far out, σ ≈ 0.14.",
           {keys.MATHS_TAB: pages.MATHS_ENCODER_OUTPUT, keys.MODEL_PATH: DEFAULT_MODEL}),
    Lesson(2, "The reparameterisation trick", pages.MATHS,
           r"z = \mu + \sigma \odot \varepsilon,\qquad \varepsilon \sim {\mathcal{N}(0, I)},\qquad"
           r"\sigma = e^{\frac{1}{2}\log\sigma^2}",
           "Sampling z ~ q(z|x) directly has no gradient with respect to μ and σ. Drawing the noise ε first and "
           "then computing z = μ + σ·ε moves the randomness out of the way, so back-propagation reaches the encoder.",
           "Draw new ε a few times: each draw gives another z near μ, and another decoded digit. With this "
           "model's small σ they differ only in a few pixels: the row under them shows where, magnified.",
           {keys.MATHS_TAB: pages.MATHS_REPARAMETERISATION, keys.MODEL_PATH: DEFAULT_MODEL}),
    Lesson(3, "What KL does (β = 0, 1, 4)", pages.KL_LAB,
           r"\mathcal{L}_\beta = {\mathbb{E}_{q(z|x)}\big[-\log p(x \mid z)\big]}"
           r" + {\beta\,\mathrm{KL}\big(q(z \mid x)\,\|\,\mathcal{N}(0, I)\big)}",
           "Three copies of the same network, trained with β = 0 (an autoencoder), 1 (the VAE) and 4. The KL "
           "term pulls every posterior toward N(0, I). Without it (β = 0) the codes spread far beyond the prior's "
           "3σ circle, so samples from N(0, I) reach only the middle of the cloud and hardly ever land near some "
           "digits; with it (β = 1, 4) the codes fill the prior and its samples land near every digit.",
           "Set the axis range to ±50 to see where β = 0's codes go, then back to ±4. Then open the β dial tab and "
           "drag β from 0.01 to 16: one network, one map, which shrinks by about a tenth and pulls the few codes "
           "outside the prior's 3σ circle inside it.",
           {keys.KL_LAB_TAB: pages.KL_TRAINED_SEPARATELY, keys.KL_LAB_BETAS: [0.0, 1.0, 4.0]}),
    Lesson(4, "Holes in latent space", pages.KL_LAB,
           r"{q(z)} = {\frac{1}{N}\sum_{i=1}^{N} q(z \mid x_i)}\ \neq\ {p(z)} = {\mathcal{N}(0, I)}",
           "Prior samples land wherever N(0, I) puts mass, but the decoder only learned from where the data's "
           "codes are. Where the aggregate posterior q(z) leaves the prior uncovered (red), it has to guess: a hole "
           "still decodes to a digit-like shape, but one less like any real digit. At β = 1 holes are rare: about "
           "3 in 100 prior samples land in one.",
           "Click a red hole to decode it: often a clean digit, the decoder blends the codes around it. Then "
           "switch the model to β = 0 (a quarter of the samples land in holes) and to β = 4: fewer holes?",
           {keys.KL_LAB_TAB: pages.KL_HOLES_MAP, keys.KL_LAB_HOLES_MODEL: "β = 1", keys.KL_LAB_BETAS: DELETE}),
    Lesson(5, "Train your own", pages.TRAIN,
           r"{\log p(x)} \ \ge\ {\mathrm{ELBO}(x)} = {\mathbb{E}_{q(z|x)}\big[\log p(x \mid z)\big]}"
           r" - {\mathrm{KL}\big(q(z \mid x)\,\|\,p(z)\big)}",
           "Training maximises the ELBO, a lower bound on log p(x). Watch the two terms move: the reconstruction "
           "error falls, and the KL, the nats the code carries about each digit, moves too. The line under the "
           "curves says how each one moved in your run.",
           "Start the fast 2-D demo; when it finishes, find your run on the KL lab's rate–distortion chart.",
           {keys.TR_PRESET: DELETE}),  # removing it makes the Train page load its default, the fast 2-D demo
]


def active_lesson() -> Lesson | None:
    n = st.session_state.get(keys.LESSON, 0)
    return LESSONS[n - 1] if 1 <= n <= len(LESSONS) else None


def start_lesson(number: int) -> None:
    """Set the lesson's state and ask for its page. Call from a widget callback (on_click / on_change)."""
    if not 1 <= number <= len(LESSONS):
        end_lesson()
        return
    lesson = LESSONS[number - 1]
    for key, value in lesson.state.items():
        if value is DELETE:
            st.session_state.pop(key, None)
        elif key == keys.MODEL_PATH:
            if value == DEFAULT_MODEL:  # the bundled default, an MNIST model
                select_model(_default_model(), dataset="mnist")
            else:
                select_model(value)
        else:
            st.session_state[key] = value
    st.session_state[keys.LESSON] = number
    st.session_state[keys.LESSON_PICKER] = number
    st.session_state[keys.LESSON_GOTO] = pages.PAGES[lesson.page]
    st.session_state[keys.LESSON_SCROLL] = True  # the page opens at the top, where the lesson box is


def end_lesson() -> None:
    st.session_state[keys.LESSON] = 0
    st.session_state[keys.LESSON_PICKER] = 0
    st.session_state.pop(keys.KL_LAB_BETAS, None)  # the only preset that hides part of a page


def follow_lesson_switch(current_url_path: str) -> None:
    """Switch to the page a lesson asked for; clear the request once we are on it. router.py calls this with
    st.navigation's page.url_path (the page file's stem, e.g. "kl_lab")."""
    goto = st.session_state.get(keys.LESSON_GOTO)
    if not goto:
        return
    if Path(goto).stem == current_url_path:
        del st.session_state[keys.LESSON_GOTO]
    else:
        # A page change clears the state of every widget the browser does not send back, and a switch made by the
        # script sends none: the sidebar's widgets would reset (large type off, the model back to the default).
        # Saved again as plain state, their values outlive the switch.
        keep_widget_values(*keys.SIDEBAR)
        st.switch_page(goto)


def _on_pick() -> None:
    start_lesson(int(st.session_state[keys.LESSON_PICKER]))


def lesson_sidebar() -> None:
    """The lesson picker, for the shared sidebar."""
    st.session_state.setdefault(keys.LESSON_PICKER, st.session_state.get(keys.LESSON, 0))
    st.selectbox("Classroom lesson", list(range(len(LESSONS) + 1)), key=keys.LESSON_PICKER, on_change=_on_pick,
                 format_func=lambda n: "— none —" if n == 0 else f"{n} · {LESSONS[n - 1].title}",
                 help="Sets up the right page and shows the equation beside it.")


def wrap_formulas() -> None:
    """Let this page's displayed formulas wrap at KaTeX's break points (pages.FORMULA_WRAP_CSS): the pages with
    formulas call it; at 1280 px with the sidebar open the closed-form KL ran off the page."""
    st.html(f"<style>{pages.FORMULA_WRAP_CSS}</style>")


# A page switch keeps the scroll of the page it came from: a lesson started low on the Lessons page opened with its
# box (at the top) scrolled away, 866 px up. This scrolls the main area to the top once the run has drawn the page
# (while it runs, the old page's taller content is still there). Our own constant script, no input in it.
SCROLL_TO_TOP = """<script>(() => {
  const top = () => { document.querySelector('[data-testid=stMain]')?.scrollTo(0, 0); window.scrollTo(0, 0); };
  const app = document.querySelector('[data-testid=stApp]');
  top();
  if (!app) return;
  const done = new MutationObserver(() => {
    if (app.getAttribute('data-test-script-state') !== 'running') { top(); done.disconnect(); }
  });
  done.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  setTimeout(() => done.disconnect(), 60000);
})();</script>"""


def scroll_to_top() -> None:
    with st.container(key=keys.LESSON_SCROLLER):  # hidden (pages.HIDDEN_CSS): it only runs the script
        st.html(SCROLL_TO_TOP, unsafe_allow_javascript=True)


def lesson_box(page: str) -> None:
    """Show the active lesson's box when it belongs to this page (page: its id in ui.pages). One call per page."""
    lesson = active_lesson()
    if lesson is None or lesson.page != page:
        return
    if st.session_state.pop(keys.LESSON_SCROLL, False):
        scroll_to_top()
    with st.container(border=True, key=keys.LESSON_BOX):
        st.markdown(f"#### :material/school: Lesson {lesson.number} of {len(LESSONS)}: {lesson.title}")
        wrap_formulas()
        st.latex(lesson.equation)
        st.markdown(lesson.text)
        st.markdown(f"**Try this:** {lesson.try_this}")
        # One row of just the buttons there are (columns left an empty slot beside Next in lesson 1); it wraps on
        # a phone.
        with st.container(horizontal=True, key=keys.LESSON_BUTTONS):
            if lesson.number > 1:
                st.button("◀ Previous", key=keys.LESSON_PREV, on_click=start_lesson, args=(lesson.number - 1,))
            if lesson.number < len(LESSONS):
                st.button("Next ▶", key=keys.LESSON_NEXT, on_click=start_lesson, args=(lesson.number + 1,),
                          type="primary")
            st.button("End lesson", key=keys.LESSON_END, on_click=end_lesson)

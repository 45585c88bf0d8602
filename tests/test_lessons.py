"""Classroom mode: each lesson preset sets its state, asks for its page, and that page runs with the lesson's box;
the box's Next/End buttons; the large-type toggle injects its CSS; the maths page's numbers agree."""
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block

from conftest import ROOT, page_texts
from ui.keys import LESSON_GOTO
from ui.lessons import LESSONS
from ui.pages import NAVIGATION, PAGE_TITLES, PAGES

TABS_MATHS = ["1 · Encoder output", "2 · Reparameterisation", "3 · Closed-form KL", "4 · The ELBO"]

APP = str(ROOT / "router.py")


def start_from_lessons_page(number: int) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240).run()
    at.switch_page("app_pages/lessons.py").run()
    assert not at.exception
    at.button(key=f"lesson_start_{number}").click().run()
    return at


def _blocks(node):
    for child in getattr(node, "children", {}).values():
        if isinstance(child, Block):
            yield child
            yield from _blocks(child)


def lesson_box_buttons(at: AppTest) -> list[str]:
    """The labels of the lesson box's buttons, checked to sit in one row of their own: no columns in the box (an
    empty column left a gap beside Next), just the buttons in a horizontal container."""
    box = next(b for b in _blocks(at.main) if b.proto.id.endswith("-lesson_box"))
    assert not [b for b in _blocks(box) if b.type == "column"], "the lesson box lays out with columns"
    [row] = [b for b in _blocks(box) if b.proto.id.endswith("-lesson_buttons")]
    assert row.proto.flex_container.direction == row.proto.flex_container.Direction.HORIZONTAL
    assert all(child.type == "button" for child in row.children.values())
    return [child.label for child in row.children.values()]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda l: f"lesson{l.number}")
def test_each_lesson_sets_its_state_and_opens_its_page(lesson):
    at = start_from_lessons_page(lesson.number)
    assert not at.exception
    assert at.session_state["lesson"] == lesson.number
    assert LESSON_GOTO not in at.session_state  # router.py followed the switch to the lesson's page ...
    # ... and that page ran with the preset (the checks below only hold on the lesson's own page)
    assert f"lesson_box(pages.{lesson.page.upper()})" in (ROOT / PAGES[lesson.page]).read_text()
    assert [m.value for m in at.markdown if "Lesson" in m.value and lesson.title in m.value]  # its box
    assert any(lesson.equation in l.value for l in at.latex)
    assert lesson_box_buttons(at) == ["◀ Previous"] * (lesson.number > 1) + \
        ["Next ▶"] * (lesson.number < len(LESSONS)) + ["End lesson"]
    if lesson.page == "maths":
        assert at.session_state["maths_tab"] == lesson.state["maths_tab"]
        assert at.tabs[TABS_MATHS.index(lesson.state["maths_tab"])].children  # the lesson's tab is the open one
    elif lesson.number == 3:
        assert at.session_state["kl_lab_betas"] == [0.0, 1.0, 4.0]
        assert [m.value for m in at.markdown if m.value.startswith("### β")] == ["### β = 0", "### β = 1", "### β = 4"]
    elif lesson.number == 4:
        assert at.session_state["kl_lab_tab"] == "Holes map" and "kl_lab_betas" not in at.session_state
        assert at.radio(key="kl_lab_holes_model").value == "β = 1"
    elif lesson.number == 5:
        assert at.session_state["tr_preset"] == "fast-2d"  # the Train page re-applied its default preset
        assert at.session_state["tr_latent"] == 2


def test_the_lessons_page_names_pages_as_the_navigation_does():
    # router.py's navigation is ui.pages.NAVIGATION: every page file is in it, and the lessons page reads its titles
    assert "pages.NAVIGATION" in (ROOT / "router.py").read_text()
    assert sorted(p.id for group in NAVIGATION.values() for p in group) == \
           sorted(p.stem for p in (ROOT / "app_pages").glob("*.py")) == sorted(PAGE_TITLES)
    at = AppTest.from_file(APP, default_timeout=240).run()
    at.switch_page("app_pages/lessons.py").run()
    assert not at.exception
    assert [c.value for c in at.caption if c.value.startswith("Opens")] == \
           [f"Opens *{PAGE_TITLES[lesson.page]}*" for lesson in LESSONS]
    shown = page_texts(at)
    assert not [stem for stem in PAGES if f"opens {stem}" in shown.lower() or "_" in stem and stem in shown]


def test_lesson_box_next_and_end():
    at = start_from_lessons_page(3)
    at.switch_page("app_pages/kl_lab.py").run()
    at.button(key="lesson_next").click().run()
    assert not at.exception
    assert at.session_state["lesson"] == 4 and at.session_state["kl_lab_tab"] == "Holes map"
    at.button(key="lesson_end").click().run()
    assert not at.exception
    assert at.session_state["lesson"] == 0
    assert not [m for m in at.markdown if m.value.startswith("#### :material/school: Lesson")]


def test_sidebar_picker_starts_a_lesson():
    at = AppTest.from_file(APP, default_timeout=240).run()
    at.sidebar.selectbox(key="lesson_picker").select(4).run()
    assert not at.exception
    assert at.session_state["lesson"] == 4 and at.session_state["kl_lab_tab"] == "Holes map"
    assert LESSON_GOTO not in at.session_state and at.title[0].value.startswith("KL lab")  # switched for real


def test_large_type_toggle_injects_css():
    # Fresh sessions: in AppTest 1.67 only a session's first run goes through router.py's sidebar code.
    at = AppTest.from_file(APP, default_timeout=240).run()
    assert not any("font-size: 22px" in h.value for h in at.get("html"))
    at = AppTest.from_file(APP, default_timeout=240)
    at.session_state["large_type"] = True  # the sidebar's "Large type (projector)" toggle
    at.run()
    assert not at.exception and at.sidebar.toggle(key="large_type").value is True
    assert any("font-size: 22px" in h.value for h in at.get("html"))


def test_maths_page_closed_form_and_monte_carlo_kl_agree():
    at = AppTest.from_file(str(ROOT / "app_pages" / "maths.py"), default_timeout=240)
    at.session_state["maths_tab"] = "3 · Closed-form KL"
    at.session_state["maths_digit"] = 7
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    closed = float(metrics["closed form"].split()[0])
    mc_label = next(k for k in metrics if k.startswith("Monte-Carlo"))
    mean, stderr = (float(v) for v in metrics[mc_label].split(" ± "))
    assert stderr > 0 and abs(mean - closed) <= 4 * stderr


def test_maths_page_elbo_is_below_log_px():
    at = AppTest.from_file(str(ROOT / "app_pages" / "maths.py"), default_timeout=240)
    at.session_state["maths_tab"] = "4 · The ELBO"
    at.run()
    assert not at.exception
    metrics = {m.label: float(m.value) for m in at.metric}
    assert metrics["= ELBO"] == pytest.approx(metrics["E_q[log p(x|z)]"] + metrics["− KL(q ‖ p(z))"], abs=0.02)
    assert metrics["gap = KL(q ‖ p(z|x))"] == pytest.approx(metrics["log p(x)"] - metrics["= ELBO"], abs=0.02)
    assert metrics["log p(x)"] >= metrics["= ELBO"] - 1.0


def test_every_lesson_box_call_is_one_a_lesson_can_fill():
    """A page calls lesson_box(pages.X) only where some lesson is set on page X (the lessons page's own call, with
    pages.LESSONS, could never show anything)."""
    import re

    lesson_pages = {lesson.page for lesson in LESSONS}
    for page_id, path in PAGES.items():
        called = set(re.findall(r"lesson_box\(pages\.(\w+)\)", (ROOT / path).read_text()))
        assert {name.lower() for name in called} <= lesson_pages, (page_id, called)
        assert (page_id in lesson_pages) == bool(called), page_id


def test_maths_page_scores_the_binary_digit_vae_evaluate_scored():
    """One binarisation: the page's digit #7 is row 7 of the test images `vae evaluate` feeds the model (its closed-
    form KL shows it; the page once drew its own binary image with seed 7)."""
    import vae
    from vae import analysis, bundled
    from vae.data import evaluation_images

    ck = vae.load_checkpoint(bundled.DEFAULT.path)
    assert ck.train_config.binarize == "dynamic"
    at = AppTest.from_file(str(ROOT / "app_pages" / "maths.py"), default_timeout=240)
    at.session_state["maths_tab"] = "4 · The ELBO"
    at.session_state["maths_digit"] = 7
    at.run()
    assert not at.exception
    x = evaluation_images(vae.load_split(ck.dataset, train=False), "dynamic")[7:8]
    mu, logvar = ck.model.encode(x)
    kl = analysis.kl_closed_form(mu[0].double().detach().numpy(), logvar[0].double().detach().numpy())
    shown = float(next(m.value for m in at.metric if m.label == "− KL(q ‖ p(z))"))
    assert shown == pytest.approx(-kl, abs=0.006)  # printed to 2 decimals
def test_lesson_formulas_break_only_between_terms():
    """A displayed formula wraps after a relation or an operator at its top level (pages.FORMULA_WRAP_CSS). Every
    such break point inside a bracket must sit in a {} group, so a phone never splits "KL(q(z |" / "x) ‖ N(0, I))"."""
    import re
    breaks = {"=", "+", "-", "<", ">", r"\mid", r"\ge", r"\le", r"\neq", r"\sim", r"\approx", r"\odot", r"\times"}
    for lesson in LESSONS:
        braces, opened = 0, []  # brace depth now, and the brackets open
        for token in re.findall(r"\\[a-zA-Z]+|\\.|.", lesson.equation):
            if token == "{":
                braces += 1
            elif token == "}":
                braces -= 1
            elif token in "([":
                opened.append(braces)
            elif token in ")]":
                opened.pop()
            elif token in breaks and opened and braces == 0:  # KaTeX breaks only at the top level
                raise AssertionError(f"lesson {lesson.number}: a line may break at {token} inside a bracket")
        assert braces == 0 and not opened, lesson.number

"""A seeded random walk over every page's widgets: selectboxes, radios, sliders, toggles, number inputs, buttons, the
sidebar's model picker, page switches, tabs, lazy expanders and clicks on charts, driven as a browser drives the app
(tests/app_browser.py: fragments rerun alone, a selectbox keeps the label it shows). No step may raise.

Left out: what starts long work (the training buttons, Resume, the t-SNE button), form fields (they count only when
the form is submitted, which would start training), file uploads and text fields.
A failure prints the seed and the last steps; VAE_WALK_SEED and VAE_WALK_STEPS replay or lengthen a walk.
"""
from __future__ import annotations

import collections
import os
import random
import time

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import (Button, Checkbox, NumberInput, Radio, Selectbox, SelectSlider, Slider,
                                               Tab, Toggle, Widget)

from app_browser import Browser
from conftest import ROOT, make_finished_run
from ui import supervisor

SEED = int(os.environ.get("VAE_WALK_SEED", "1130"))
STEPS = int(os.environ.get("VAE_WALK_STEPS", "320"))
PAGES = ["app_pages/explore.py", "app_pages/reconstruct.py", "app_pages/kl_lab.py", "app_pages/maths.py",
         "app_pages/train.py", "app_pages/lessons.py"]
LONG_WORK = ("Start training", "Start on the bundled test split", "Resume", "Compute the t-SNE view")
KEYED_TABS = ("kl_lab_tab", "maths_tab", "explore_tab")  # st.tabs(key=...): a click on a tab sets this and reruns
LAZY_EXPANDERS = ("explore_more", "checkpoint_upload_open")  # st.expander(key=..., on_change="rerun"): likewise
SELECTABLE_CHARTS = {"kl_lab_holes_chart": 8, "latent_map": 10_000}  # key: how many points carry a customdata
KINDS = (Selectbox, Radio, SelectSlider, Slider, Toggle, Checkbox, NumberInput, Button)


def eligible(widget: Widget) -> bool:
    proto = widget.proto
    if not isinstance(widget, KINDS) or getattr(proto, "disabled", False) or getattr(proto, "form_id", ""):
        return False
    if isinstance(widget, Button):
        return not any(text in widget.label for text in LONG_WORK)
    return not isinstance(widget, (Selectbox, Radio, SelectSlider)) or len(widget.options) > 0


def browser_value(widget: Widget, rng: random.Random, held: WidgetState | None) -> tuple[WidgetState, str]:
    """A new value for the widget, as the browser sends it, and a description."""
    proto, state = widget.proto, WidgetState(id=widget.id)
    if isinstance(widget, (Selectbox, Radio)):
        state.string_value = rng.choice(list(widget.options))
        return state, repr(state.string_value)
    if isinstance(widget, SelectSlider):
        state.string_array_value.data[:] = [rng.choice(list(widget.options))]
        return state, repr(state.string_array_value.data[0])
    if isinstance(widget, Slider):
        n = int(round((proto.max - proto.min) / proto.step))
        values = sorted(proto.min + proto.step * rng.randint(0, n) for _ in proto.default)
        if proto.data_type == proto.DataType.INT:
            values = [int(round(v)) for v in values]
        state.double_array_value.data[:] = values
        return state, str(values)
    if isinstance(widget, (Toggle, Checkbox)):
        state.bool_value = not (held is not None and held.bool_value)
        return state, str(state.bool_value)
    if isinstance(widget, NumberInput):
        low = proto.min if proto.has_min else -100
        high = proto.max if proto.has_max else 100
        current = held.int_value or held.double_value if held is not None else low
        step = proto.step or 1
        value = rng.choice([low, high, current + step, current - step, rng.uniform(low, high)])
        value = min(max(value, low), high)
        if proto.data_type == proto.DataType.INT:
            state.int_value = int(round(value))
            return state, str(state.int_value)
        state.double_value = value
        return state, str(value)
    state.trigger_value = True  # a button
    return state, "click"


def tab_groups(at: AppTest) -> dict[str, list[str]]:
    """The keyed st.tabs on the page: session key -> its tab labels."""
    groups, current = {}, {k: at.session_state[k] for k in KEYED_TABS if k in at.session_state}
    stack = [at._tree]
    while stack:
        block = stack.pop()
        children = list(getattr(block, "children", {}).values())
        labels = [c.label for c in children if isinstance(c, Tab)]
        for key, value in current.items():
            if value in labels:
                groups[key] = labels
        stack.extend(c for c in children if hasattr(c, "children"))
    return groups


@pytest.fixture
def walk_runs_dir(tmp_path, monkeypatch, tiny_ckpt):
    """The app's runs folder: one finished run of our own (it joins the model picker), and no training may start."""
    import ui.state
    folder = tmp_path / "runs" / "app"
    make_finished_run(folder, tiny_ckpt)
    monkeypatch.setattr(ui.state, "RUNS_DIR", folder)

    def no_training(*args, **kwargs):
        raise AssertionError("the walk started training")

    monkeypatch.setattr(supervisor, "start_run", no_training)
    monkeypatch.setattr(supervisor, "resume_run", no_training)
    return folder


def test_a_random_walk_over_every_page_raises_nothing(walk_runs_dir, monkeypatch):
    rng = random.Random(SEED)
    browser = Browser(AppTest.from_file(str(ROOT / "router.py"), default_timeout=300), monkeypatch)
    at = browser.at
    log: list[str] = []
    counts: collections.Counter = collections.Counter()
    touched: set[str] = set()
    pages_seen: set[str] = set()
    started = time.perf_counter()

    def check(what: str) -> None:
        log.append(what)
        if at.exception:
            recent = "\n".join(f"  {len(log) - len(log[-15:]) + i + 1}. {s}" for i, s in enumerate(log[-15:]))
            pytest.fail(f"step {len(log)} raised (VAE_WALK_SEED={SEED}):\n{recent}\n{at.exception[0].message}\n"
                        + "\n".join(at.exception[0].stack_trace[-6:]))
        pages_seen.add(at.title[0].value if at.title else "?")

    browser.load()
    check("open the app")
    for _ in range(STEPS):
        roll = rng.random()
        tabs = tab_groups(at)
        expanders = [k for k in LAZY_EXPANDERS if k in at.session_state]  # drawn in this session
        charts = [k for k in SELECTABLE_CHARTS if any(getattr(e, "key", None) == k for e in at.get("plotly_chart"))]
        on_page = [w for w in at.main if isinstance(w, Widget) and eligible(w)]
        in_sidebar = [w for w in at.sidebar if isinstance(w, Widget) and eligible(w)]
        widgets = on_page if on_page and (rng.random() < 0.8 or not in_sidebar) else in_sidebar
        model = [w for w in at.sidebar.selectbox if w.key == "model_path"]
        if roll < 0.10 or not widgets:
            page = rng.choice(PAGES)
            counts["page"] += 1
            browser.switch_page(page)
            check(f"open {page}")
        elif roll < 0.16 and model:
            state, text = browser_value(model[0], rng, None)
            counts["model"] += 1
            browser.interact(model[0], state)
            check(f"sidebar model -> {text}")
        elif roll < 0.22 and (tabs or expanders):
            key = rng.choice(sorted(tabs) + expanders)
            value = rng.choice(tabs[key]) if key in tabs else not at.session_state[key]
            counts["tab" if key in tabs else "expander"] += 1
            at.session_state[key] = value
            browser.rerun()
            check(f"{'tab' if key in tabs else 'expander'} {key} -> {value!r}")
        elif roll < 0.26 and charts:
            key = rng.choice(charts)
            point = rng.randrange(SELECTABLE_CHARTS[key])
            counts["chart"] += 1
            at.session_state[key] = {"selection": {"points": [{"customdata": point}]}}
            browser.rerun()
            check(f"click point {point} of {key}")
        else:
            widget = rng.choice(widgets)
            state, text = browser_value(widget, rng, browser.held.get(widget.id))
            counts[type(widget).__name__] += 1
            touched.add(widget.key or widget.label)
            browser.interact(widget, state)
            check(f"{type(widget).__name__} {widget.key or widget.label!r} -> {text}")
    seconds = time.perf_counter() - started
    print(f"\nrandom walk, seed {SEED}: {len(log) - 1} interactions in {seconds:.0f} s, "
          f"{browser.fragment_runs} fragment runs; {dict(counts)}; {len(touched)} widgets: {sorted(touched)}")
    assert len(log) - 1 >= 300 or STEPS < 300
    assert len(pages_seen) == len(PAGES), pages_seen  # every page was reached
    assert len(touched) >= 30, touched  # and many of their widgets

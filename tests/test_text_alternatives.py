"""Every picture and every Plotly chart on every page and tab carries a text alternative that says what it shows
(which digit, which model, which β), checked on what the server sends, without a browser (tests/test_e2e_axe.py
checks the same in Chromium with axe-core's image-alt rule)."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT, make_finished_run
from ui import keys, pages


def open_page(name: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / f"{name}.py"), default_timeout=300)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def alternatives(at: AppTest) -> tuple[list[str], list[str]]:
    """The alt text of every image and of every Plotly chart on the page ("" where there is none)."""
    images = [img.alt if img.HasField("alt") else "" for el in at.get("image") for img in el.proto.imgs]
    charts = [el.proto.alt for el in at.get("plotly_chart")]
    return images, charts


def assert_described(at: AppTest, *words: str, images: int = 0, charts: int = 0) -> tuple[list[str], list[str]]:
    shown, plotted = alternatives(at)
    assert len(shown) >= images and len(plotted) >= charts, (shown, plotted)
    assert all(len(a) > 15 for a in shown + plotted), (shown, plotted)  # a sentence, not "image"
    everything = " ".join(shown + plotted)
    for word in words:
        assert word in everything, (word, everything)
    return shown, plotted


@pytest.mark.parametrize("tab", pages.EXPLORE_TABS)
def test_explore_views(tab):
    at = open_page(pages.EXPLORE, **{keys.EXPLORE_MORE: True, keys.EXPLORE_TAB: tab})
    words = {"Decoded manifold": ["15 by 15 grid"], "Prior samples": ["prior samples"],
             "Interpolation": ["test digit #0 (a 7)", "linear path", "spherical path"]}[tab]
    assert_described(at, *words, images=1)


@pytest.mark.parametrize("tab", pages.KL_LAB_TABS[1:])
def test_kl_lab_tabs(tab):
    at = open_page(pages.KL_LAB, **{keys.KL_LAB_TAB: tab})
    if tab == pages.KL_TRAINED_SEPARATELY:  # five models: a map and three pictures each, named by β
        images, charts = assert_described(at, "β = 0.25", "β = 16", "0 to 9", images=16, charts=5)
        assert len(set(images)) == len(images) and len(set(charts)) == len(charts)  # each says which model
    elif tab == pages.KL_HOLES_MAP:
        assert_described(at, "hole 1", "β = 1", images=2, charts=1)
    elif tab == pages.KL_RATE_DISTORTION:
        assert_described(at, "β = 4: KL", "recon", charts=1)
    else:
        assert_described(at, charts=1)


@pytest.mark.parametrize("tab", pages.MATHS_TABS)
def test_maths_tabs(tab):
    at = open_page(pages.MATHS, **{keys.MATHS_TAB: tab, keys.MATHS_DIGIT: 3})
    images, _ = assert_described(at, "Test digit #3, a 0", images=1)
    if tab == pages.MATHS_REPARAMETERISATION:
        assert len(images) == 4 and "magnified" in " ".join(images)
    if tab == pages.MATHS_ENCODER_OUTPUT:
        assert_described(at, "z1 ", "z2 ", charts=1)


def test_reconstruct_gallery():
    at = open_page(pages.RECONSTRUCT)
    images, _ = assert_described(at, "8 test digits", "misses ink", images=3)
    assert images[0].count("(a ") == 8  # each digit's label


def test_train_charts_and_replay(tmp_path, monkeypatch, tiny_ckpt):
    import ui.state
    monkeypatch.setattr(ui.state, "RUNS_DIR", tmp_path)
    make_finished_run(tmp_path, tiny_ckpt)
    at = open_page(pages.TRAIN)
    assert_described(at, "Loss curves over", "Latent map after epoch", "at the epoch on the slider", charts=3)

"""A link reproduces the Explore view (ui/share.py): the app opened with ?model=…&z=…&digit=… shows that model, that
z and that digit selected; anything wrong in the link is ignored with a one-line notice, never a traceback."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest  # noqa: F401  (the type open_link returns)

from conftest import open_app_page, page_texts
from vae import bundled

APP = str(Path(__file__).resolve().parent.parent / "router.py")


def open_link(**params) -> AppTest:
    return open_app_page(APP, query=params)


def surface_spec(at) -> dict:
    def walk(node):
        if getattr(node, "type", None) == "bidi_component" and "latent_pad" in node.proto.component_name:
            yield json.loads(json.loads(node.proto.json)["spec"])
        for child in getattr(node, "children", {}).values():
            yield from walk(child)
    [spec] = list(walk(at._tree))
    return spec


def test_a_link_restores_model_z_and_digit():
    at = open_link(model="mnist-2d-beta1", z="0.5,-1.25", digit="42")
    spec = surface_spec(at)
    assert spec["z"] == [0.5, -1.25] and spec["selected"] == 42
    assert "Test digit #42" in page_texts(at) and "z = (+0.50, -1.25)" in page_texts(at)
    assert "ignored" not in page_texts(at)
    assert at.query_params["z"] == "0.5,-1.25" and at.query_params["digit"] == "42"  # and it stays a link


def test_a_digit_alone_puts_z_at_its_mean():
    at = open_link(digit="7")
    spec = surface_spec(at)
    assert spec["selected"] == 7 and spec["z"] != [0.0, 0.0]


def test_another_bundled_model_is_opened():
    if not bundled.by_key("mnist-20d-beta1").path.is_file():
        pytest.skip("the 20-D bundled model is absent")
    at = open_link(model="mnist-20d-beta1")
    assert at.session_state["model_path"] == str(bundled.by_key("mnist-20d-beta1").path)
    assert "20-D latent" in page_texts(at)


@pytest.mark.parametrize("params, notice", [
    ({"model": "no-such-model"}, "no model called “no-such-model”"),
    ({"z": "1,2,3"}, "z has 3 numbers where this model's has 2"),
    ({"z": "1,banana"}, "z is not a list of numbers"),
    ({"z": "nan,1"}, "z is not a list of numbers"),
    ({"digit": "99999"}, "there is no test digit #99999"),
    ({"digit": "-3"}, "there is no test digit #-3"),
    ({"digit": "seven"}, "the digit is not a whole number"),
])
def test_a_bad_link_is_ignored_with_one_line(params, notice):
    at = open_link(**params)
    notes = [c.value for c in at.caption if c.value.startswith("Part of the link was ignored")]
    assert len(notes) == 1 and notice in notes[0], notes
    assert surface_spec(at)["z"] == [0.0, 0.0] and surface_spec(at)["selected"] is None

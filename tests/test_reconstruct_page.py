"""AppTest for app_pages/reconstruct.py: first open, switching the model, uploads (good, bad, too many), a drawing
injected as the canvas component's state, resampling eps, the 20-D projection and the magnified view.

AppTest in Streamlit 1.67 supports st.file_uploader (`set_value((name, bytes, mime))`), so uploads go through the
real widget; the drawing is injected as the CCv2 component's state (`at.session_state["draw_canvas"]`).
"""
from __future__ import annotations

import base64
import json

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from conftest import open_app_page, page_texts
from ui.components.draw_canvas import drawing_state
from vae import bundled

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "reconstruct.py")
TWENTY_D = str(bundled.by_key("mnist-20d-beta1").path)



def _components(node, out):
    if getattr(node, "type", None) == "bidi_component" and "latent_pad" in node.proto.component_name:
        out.append(node)
    for child in getattr(node, "children", {}).values():
        _components(child, out)
    return out


def surface_specs(at) -> list[dict]:
    """The data each latent surface on the page was drawn with."""
    specs = []
    for el in _components(at._tree, []):
        data = json.loads(el.proto.json or "{}")
        if "spec" in data:
            specs.append(json.loads(data["spec"]))
    return specs


def surfaces(at) -> int:
    return len(_components(at._tree, []))

def open_page(**state) -> AppTest:
    return open_app_page(PAGE, **state)


def image_urls(at: AppTest) -> list[str]:
    return [url for img in at.image for url in img.value]


@pytest.fixture(scope="module")
def digit_png(mnist_test) -> bytes:
    """Test digit #0 (a 7) as a photo would have it: dark ink on light paper, enlarged."""
    x = mnist_test.images[0].numpy()
    img = Image.fromarray(255 - x).resize((140, 140), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_first_open_shows_the_gallery():
    at = open_page()
    assert [t.label for t in at.tabs] == ["Test digits", "Upload images", "Draw a digit"]
    assert len(at.image) == 3  # originals, reconstructions, error map
    assert "Mean absolute pixel error" in page_texts(at)
    assert not at.error and len(at.info) == 2  # the upload and draw tabs explain what to do


def test_switching_the_model_changes_the_reconstructions():
    at = open_page()
    before, caption = image_urls(at), at.caption[0].value
    at.session_state["model_path"] = TWENTY_D
    at.run()
    assert not at.exception
    assert "20-D latent" in at.caption[0].value and "20-D" not in caption
    assert image_urls(at)[0] == before[0]  # the same test digits ...
    assert image_urls(at)[1] != before[1]  # ... reconstructed by another model


def test_gallery_by_class():
    at = open_page()
    at.radio(key="gallery_mode").set_value("One class").run()
    at.selectbox(key="gallery_class").set_value(3).run()
    assert not at.exception
    shown = [int(s) for s in at.caption[1].value.split(".")[0].replace("Test digits #", "").split(", #")]
    from ui.state import test_split
    assert all(int(test_split("mnist").labels[i]) == 3 for i in shown)


def test_upload_shows_steps_reconstruction_and_map(digit_png):
    at = open_page()
    n_images = len(at.image)
    at.file_uploader(key="upload_files").set_value(("seven.png", digit_png, "image/png")).run()
    assert not at.exception and not at.error
    assert len(at.image) >= n_images + 7 + 3  # seven preprocessing steps, the input, two reconstructions
    shown = page_texts(at)
    assert "seven.png" in shown and "μ = (" in shown
    assert surfaces(at) == 1
    assert any(b.label == "Download the reconstructions (PNG)" for b in at.get("download_button"))


def test_bad_upload_shows_an_error_and_the_good_one_still_shows(digit_png):
    at = open_page()
    at.file_uploader(key="upload_files").set_value([
        ("notes.txt", b"this is not a picture", "text/plain"),
        ("seven.png", digit_png, "image/png"),
        ("cut.png", digit_png[:80], "image/png"),
    ]).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 2 and "notes.txt" in errors[0] and "not an image" in errors[0]
    assert "cut.png" in errors[1] and "truncated" in errors[1]
    assert "μ = (" in page_texts(at) and surfaces(at) == 1


def test_too_many_uploads_are_capped(digit_png):
    at = open_page()
    at.file_uploader(key="upload_files").set_value([(f"d{i}.png", digit_png, "image/png") for i in range(10)]).run()
    assert not at.exception
    assert any("first 8" in w.value for w in at.warning)
    assert "d7.png" in page_texts(at) and "d8.png" not in page_texts(at)


def test_drawing_yields_a_reconstruction_and_eps_resamples(mnist_test):
    at = open_page()
    assert "Draw a digit on the canvas" in at.info[1].value
    ink = np.asarray(Image.fromarray(mnist_test.images[1].numpy()).resize((56, 56)), np.float32) / 255.0
    at.session_state["draw_canvas"] = {"drawing": drawing_state(ink)}
    at.run()
    assert not at.exception and len(at.info) == 1
    z_line = [line for line in page_texts(at).splitlines() if line.startswith("z = (")]
    assert z_line and surfaces(at) == 1
    at.button(key="drawn_resample").click().run()
    assert not at.exception
    assert [line for line in page_texts(at).splitlines() if line.startswith("z = (")] != z_line  # a new eps, a new z
    assert any("(draw 2)" in c for img in at.image for c in img.captions)


def test_20d_model_says_the_ellipse_is_a_projection(digit_png):
    at = open_page(model_path=TWENTY_D)
    at.file_uploader(key="upload_files").set_value(("seven.png", digit_png, "image/png")).run()
    assert not at.exception and "projection" in page_texts(at) and surfaces(at) == 1


def test_marks_carry_each_upload_and_a_click_on_one_highlights_its_entry(digit_png):
    at = open_page()
    at.file_uploader(key="upload_files").set_value([(f"d{i}.png", digit_png, "image/png") for i in range(3)]).run()
    [spec] = surface_specs(at)
    assert [m["short"] for m in spec["marks"]] == ["1", "2", "3"] and spec["highlight"] == 0
    assert all(len(base64.b64decode(m["image"])) == 784 and len(m["sigma"]) == 2 for m in spec["marks"])
    assert at.radio(key="upload_highlight").value == "#1"
    at.session_state["upload_surface"] = {"mark": 2}  # the third mark clicked on the map
    at.run()
    assert not at.exception
    assert at.radio(key="upload_highlight").value == "#3" and surface_specs(at)[0]["highlight"] == 2
    at.radio(key="upload_highlight").set_value("#2").run()  # and an entry picked below it
    assert surface_specs(at)[0]["highlight"] == 1

"""The corpus through the app's real upload widgets (AppTest drives st.file_uploader in Streamlit 1.67): the
sidebar's "Load your own checkpoint" and the Reconstruct page's image uploader. Every bad file gives a plain
message naming it, never an exception; hostile checkpoints run nothing; a valid checkpoint joins the picker."""
from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from make_corpus import CHECKPOINT_DIR, CHECKPOINTS, IMAGE_DIR, IMAGES, SENTINEL_ENV
import vae
from vae import bundled
from ui import state
from vae import runs

ROOT = Path(__file__).resolve().parent.parent
REFUSED_CHECKPOINTS = sorted(n for n, (expect, _) in CHECKPOINTS.items() if expect == "refuse")


def sidebar_only():
    """The shared sidebar on its own (what every page draws), so each upload costs milliseconds."""
    from ui.state import sidebar
    sidebar()


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    """Uploads land in a temporary runs folder; a hostile payload would write the sentinel there."""
    monkeypatch.setattr(state, "RUNS_DIR", tmp_path / "runs" / "app")
    monkeypatch.setenv(SENTINEL_ENV, str(tmp_path / "sentinel"))
    yield state.RUNS_DIR
    assert not (tmp_path / "sentinel").exists(), "a hostile payload ran"
    assert not (ROOT / "VAE_HOSTILE_SENTINEL").exists(), "a hostile payload ran"


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="checkpoint_upload").set_value((name, data, "application/octet-stream")).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def sidebar_app(runs_dir) -> AppTest:
    at = AppTest.from_function(sidebar_only, default_timeout=60)
    at.session_state["checkpoint_upload_open"] = True  # the uploader's expander, as a click opens it
    at.run()
    assert not at.exception, at.exception
    return at


def test_every_bad_checkpoint_upload_shows_an_error_and_changes_nothing(sidebar_app, runs_dir):
    """One session tries every bad file in turn, as a curious student would."""
    before = sidebar_app.session_state["model_path"]
    for name in REFUSED_CHECKPOINTS:
        upload(sidebar_app, name, (CHECKPOINT_DIR / name).read_bytes())
        assert len(sidebar_app.error) == 1, name
        message = sidebar_app.error[0].value
        assert message.startswith(f"{name} was not loaded.") and len(message) < 400, message
        assert sidebar_app.session_state["model_path"] == before
    assert not list(runs_dir.glob("*/checkpoint.pt"))  # nothing kept


def test_a_valid_checkpoint_upload_is_kept_listed_and_selected(sidebar_app, runs_dir):
    data = (CHECKPOINT_DIR / "valid_tiny.pt").read_bytes()
    upload(sidebar_app, "mine.pt", data)
    assert not sidebar_app.error and "Loaded mine.pt" in sidebar_app.success[0].value
    kept = list(runs_dir.glob("uploaded-*/checkpoint.pt"))
    assert len(kept) == 1 and kept[0].read_bytes() == data
    assert sidebar_app.session_state["model_path"] == str(kept[0])
    picker = sidebar_app.selectbox(key="model_path")
    assert picker.value == str(kept[0]) and "Uploaded: tiny test model" in picker.format_func(picker.value)
    card = runs.read_card(kept[0].parent)  # the picker lists it from this, without torch
    ck = vae.load_checkpoint(kept[0])
    assert (card.name, card.epoch, card.dataset, card.model_config) == (ck.name, ck.epoch, ck.dataset, ck.model_config)
    assert not list(runs_dir.rglob("*.tmp"))  # written atomically: no temporary file left behind

    upload(sidebar_app, "again.pt", data)  # the same file again is stored once
    assert len(list(runs_dir.glob("uploaded-*/checkpoint.pt"))) == 1


def test_one_picker_lists_every_datasets_models_and_sets_the_dataset(sidebar_app, runs_dir, tmp_path):
    import vae
    model = vae.VAE(vae.ModelConfig(hidden=(8,)))
    data = vae.save_checkpoint(tmp_path / "k.pt", model, vae.TrainConfig(), dataset="kmnist", name="kana").read_bytes()
    upload(sidebar_app, "kana.pt", data)
    picker = sidebar_app.selectbox(key="model_path")
    assert [s.label for s in sidebar_app.sidebar.selectbox] == ["Model"]  # no separate Dataset select
    assert picker.format_func(picker.value) == "Uploaded: kana (0 epochs) · KMNIST"
    assert sidebar_app.session_state["dataset"] == "kmnist"  # Train's default follows the model
    assert picker.options[0] == bundled.DEFAULT.name and picker.options[-1].endswith("KMNIST")  # one list
    sidebar_app.session_state["model_path"] = str(bundled.DEFAULT.path)  # as picking it sends
    sidebar_app.run()
    assert sidebar_app.session_state["dataset"] == "mnist"


def test_a_checkpoint_for_other_images_is_refused_by_the_app(sidebar_app, runs_dir, tmp_path):
    import vae
    model = vae.VAE(vae.ModelConfig(hidden=(8,), image_size=32))
    data = vae.save_checkpoint(tmp_path / "big.pt", model, vae.TrainConfig()).read_bytes()
    upload(sidebar_app, "cifar.pt", data)
    assert "32 × 32" in sidebar_app.error[0].value
    assert not list(runs_dir.glob("*/checkpoint.pt"))


def test_old_uploads_are_pruned_past_the_cap(runs_dir, monkeypatch, tmp_path):
    monkeypatch.setattr(state, "MAX_UPLOADED_CHECKPOINTS", 2)
    for i in range(3):
        path = state.save_uploaded_checkpoint(b"%d" % i, str(i) * 64)
        os.utime(path, (1000 * (i + 1), 1000 * (i + 1)))  # distinct ages, oldest first
    kept = sorted(p.parent.name for p in runs_dir.glob("uploaded-*/checkpoint.pt"))
    assert kept == ["uploaded-" + "1" * 12, "uploaded-" + "2" * 12]


def test_the_checkpoint_uploader_is_on_the_real_apps_sidebar(runs_dir):
    """The real router.py's sidebar has the uploader's expander, closed on the first page, and the uploader in it once
    opened. (AppTest in Streamlit 1.67 reruns only the page script after the first run, without router.py's sidebar, so
    the uploads themselves are driven through `sidebar_only` above; in the browser the sidebar is drawn on every
    run.)"""
    at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    assert [e.label for e in at.sidebar.expander] == ["Load your own checkpoint"]
    assert not at.sidebar.get("file_uploader")
    at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=120)
    at.session_state["checkpoint_upload_open"] = True
    at.run()
    assert not at.exception, at.exception
    assert at.sidebar.file_uploader(key="checkpoint_upload") is not None


# ---- the Reconstruct page's image uploader ------------------------------------------------------------------------

RECONSTRUCT = str(ROOT / "app_pages" / "reconstruct.py")


def upload_images(names: list[str]) -> AppTest:
    at = AppTest.from_file(RECONSTRUCT, default_timeout=120).run()
    assert not at.exception, at.exception
    files = [(n, (IMAGE_DIR / n).read_bytes(), "application/octet-stream") for n in names]
    at.file_uploader(key="upload_files").set_value(files).run()
    assert not at.exception, at.exception
    return at


def batches(names: list[str], size: int) -> list[list[str]]:
    return [names[i:i + size] for i in range(0, len(names), size)]


@pytest.mark.parametrize("names", batches(sorted(IMAGES), 8), ids=lambda b: f"{b[0]}..{b[-1]}")
def test_every_corpus_image_through_the_reconstruct_uploader(names):
    at = upload_images(names)
    errors = "\n".join(e.value for e in at.error)
    for name in names:
        expect = IMAGES[name][0]
        if expect == "refuse":
            assert f"**{name}**" in errors, f"{name}: no error shown"
        elif expect == "load":
            assert f"**{name}**" not in errors, f"{name} was refused: {errors}"


def page_constant(name: str) -> int:
    """A constant of the page, read from its source (importing a page would run it)."""
    tree = ast.parse(Path(RECONSTRUCT).read_text())
    return next(ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                and any(getattr(t, "id", None) == name for t in node.targets))


def test_too_many_images_at_once_are_capped():
    MAX_UPLOADS = page_constant("MAX_UPLOADS")
    names = ["digit_mnist.png"] * (MAX_UPLOADS + 2)
    at = upload_images(names)
    assert any(f"showing the first {MAX_UPLOADS}" in w.value for w in at.warning)


def test_a_beta_conditioned_checkpoint_is_refused_with_a_pointer_to_the_dial(sidebar_app, runs_dir, tmp_path):
    """The pages show models trained for one beta; a --beta-range model would need a beta everywhere."""
    import vae
    model = vae.VAE(vae.ModelConfig(hidden=(8,), beta_range=(0.01, 16)))
    vae.save_checkpoint(tmp_path / "dial.pt", model, vae.TrainConfig())
    before = sidebar_app.session_state["model_path"]
    upload(sidebar_app, "dial.pt", (tmp_path / "dial.pt").read_bytes())
    assert len(sidebar_app.error) == 1 and "β dial" in sidebar_app.error[0].value
    assert sidebar_app.session_state["model_path"] == before and not list(runs_dir.glob("*/checkpoint.pt"))

"""Every image in tests/data/images through vae.load_digit: the ones a student could sensibly upload give a digit
that looks like the reference 7 they were made from (the shadowed phone photos: their own MNIST digit); the rest
raise InputError with a plain message."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import ImageFile

import vae
from vae import digits
from make_corpus import CHECKPOINTS, DATA, IMAGE_DIR, IMAGES, PAGE_PHOTOS, SHADOWED

LOADED = sorted(n for n, (expect, _) in IMAGES.items()
                if expect == "load" and n not in SHADOWED and n not in PAGE_PHOTOS)  # all 7s
REFUSED = sorted(n for n, (expect, _) in IMAGES.items() if expect == "refuse")
EITHER = sorted(n for n, (expect, _) in IMAGES.items() if expect == "either")
BOMBS = sorted(n for n in IMAGES if n.startswith("bomb"))


def load(name: str) -> np.ndarray:
    return vae.load_digit((IMAGE_DIR / name).read_bytes())


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return load("digit_on_paper.png")


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def test_the_corpus_is_complete_and_small():
    files = {p.name for p in IMAGE_DIR.iterdir()} | {p.name for p in (DATA / "checkpoints").iterdir()}
    assert files == set(IMAGES) | set(CHECKPOINTS)
    assert len(IMAGES) + len(CHECKPOINTS) >= 30
    assert sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file()) < 5 * 2**20


@pytest.mark.parametrize("name", LOADED)
def test_usable_images_give_the_digit(name, reference):
    digit = load(name)
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert np.isfinite(digit).all() and digit.min() >= 0 and digit.max() <= 1
    assert similarity(digit, reference) > 0.8, f"{name}: {IMAGES[name][1]}"


@pytest.mark.parametrize("name", sorted(SHADOWED))
def test_photos_with_a_shadowed_corner_give_their_digit(name, mnist_test, monkeypatch):
    """r >= 0.85 with the MNIST digit each photo was made from (the round trip in test_digits asks 0.9 of clean
    renderings). With one background level for the whole page instead (the light not evened out: how digits.py
    worked before), the dark corner is cropped in with the ink and the digit is lost: r < 0.5."""
    spec = SHADOWED[name]
    assert int(mnist_test.labels[spec.index]) == spec.label
    source = mnist_test.images[spec.index].numpy().astype(np.float32) / 255
    assert similarity(load(name), source) >= 0.85, f"{name}: {IMAGES[name][1]}"
    monkeypatch.setattr(digits, "_paper_light", np.ones_like)  # a flat light: dividing by it changes nothing
    monkeypatch.setattr(digits, "_shadow_edges_out", lambda gray: gray)  # nor the shadow's edge
    monkeypatch.setattr(digits, "_without_specks", lambda ink: ink)  # and every piece of ink cropped in
    assert similarity(load(name), source) < 0.5, f"{name}: the shadow is too weak to test anything"


@pytest.mark.parametrize("name", sorted(PAGE_PHOTOS))
def test_photos_on_the_paper_a_class_uses_give_their_digit(name, mnist_test):
    """Lined and squared paper (the lines run through the digit), a sticky note on a darker desk, a tiny digit in a
    12-megapixel photo, deep shadows: r >= 0.85 with the MNIST digit each was made from. Before digits.py looked for
    the sheet, its lines and a small digit's detail, these gave r between -0.07 and 0.9 (most under 0.5); with lines
    subtracted rather than divided out, squared_0 gave 0.835; before paper whose border lies mostly in shadow counted
    as paper, and before a shadow's edge was divided out, deep_shadow_3 and deep_shadow_5 gave 0.44 and 0.20."""
    spec = PAGE_PHOTOS[name]
    assert int(mnist_test.labels[spec.index]) == spec.label
    source = mnist_test.images[spec.index].numpy().astype(np.float32) / 255
    assert similarity(load(name), source) >= 0.85, f"{name}: {IMAGES[name][1]}"


@pytest.mark.parametrize("name", sorted(PAGE_PHOTOS) + sorted(SHADOWED))
def test_photos_show_only_the_steps_their_paper_needs(name):
    """The steps tell a class what was found: a sheet on a desk only for the sticky notes (the strip between two
    ruled lines, seen up close around a tiny digit, was once taken for one), printed lines only on lined and
    squared paper (even when only two of them are left near a tiny digit)."""
    paper = PAGE_PHOTOS[name].paper if name in PAGE_PHOTOS else "plain"
    titles = [step.title for step in digits.preprocess((IMAGE_DIR / name).read_bytes()).steps]
    assert ("Paper found" in titles) == (paper == "note"), titles
    assert ("Lines removed" in titles) == (paper in ("lined", "squared")), titles


@pytest.mark.parametrize("name", REFUSED)
def test_unusable_files_are_refused_with_a_message(name):
    with pytest.raises(vae.InputError) as info:
        load(name)
    message = str(info.value)
    assert 10 < len(message) < 300 and "Traceback" not in message


@pytest.mark.parametrize("name", EITHER)
def test_hard_photos_load_or_are_refused_never_crash(name):
    try:
        digit = load(name)
    except vae.InputError as e:
        assert str(e)
    else:
        assert digit.shape == (28, 28) and np.isfinite(digit).all()


def test_the_exif_rotated_photo_comes_out_upright(reference):
    digit = load("exif_rotated.jpg")
    assert similarity(digit, reference) > similarity(digit, np.rot90(reference)) + 0.3


@pytest.mark.parametrize("name", BOMBS)
def test_bombs_are_refused_from_the_header_without_decoding(name, monkeypatch):
    def no_decoding(self, *a, **k):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(vae.InputError, match="too large"):
        load(name)


def test_the_pixel_cap_sits_between_a_phone_photo_and_the_smallest_bomb():
    assert 4000 * 3000 < digits.MAX_PIXELS < 9000 * 9000

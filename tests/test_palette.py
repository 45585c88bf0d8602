"""The class colours stay apart for everyone: CIEDE2000 >= 10 between every pair of CLASS_COLORS with normal vision
and under simulated deuteranopia, protanopia and tritanopia (Machado et al. 2009, full severity), solid and at the
opacity the maps draw their dots with. The colour science (tests/colour_science.py) is checked against the published
CIEDE2000 test data, and the palette used before (Tableau 10) must fail, or the test could not."""
from __future__ import annotations

import pytest

from colour_science import MACHADO, VISIONS, ciede2000, contrast, lab, min_pair
from ui.palette import CLASS_COLORS, CLASS_OPACITY, CLASS_TEXT

MIN_DELTA_E = 10.0
TABLEAU_10 = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
              "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]

# Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula: implementation notes, supplementary test data,
# and mathematical observations", Table 1: all 34 pairs (L*, a*, b*), (L*, a*, b*), ΔE00.
SHARMA_2005 = [
    ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    ((50.0000, 3.1571, -77.2803), (50.0000, 0.0000, -82.7485), 2.8615),
    ((50.0000, 2.8361, -74.0200), (50.0000, 0.0000, -82.7485), 3.4412),
    ((50.0000, -1.3802, -84.2814), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -1.1848, -84.8006), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -0.9009, -85.5211), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    ((50.0000, -1.0000, 2.0000), (50.0000, 0.0000, 0.0000), 2.3669),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0009), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0010), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0011), 7.2195),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0012), 7.2195),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0009, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0010, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0011, -2.4900), 4.7461),
    ((50.0000, 2.5000, 0.0000), (50.0000, 0.0000, -2.5000), 4.3065),
    ((50.0000, 2.5000, 0.0000), (73.0000, 25.0000, -18.0000), 27.1492),
    ((50.0000, 2.5000, 0.0000), (61.0000, -5.0000, 29.0000), 22.8977),
    ((50.0000, 2.5000, 0.0000), (56.0000, -27.0000, -3.0000), 31.9030),
    ((50.0000, 2.5000, 0.0000), (58.0000, 24.0000, 15.0000), 19.4535),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.1736, 0.5854), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2972, 0.0000), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 1.8634, 0.5757), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2592, 0.3350), 1.0000),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((63.0109, -31.0961, -5.8663), (62.8187, -29.7946, -4.0864), 1.2630),
    ((61.2901, 3.7196, -5.3901), (61.4292, 2.2480, -4.9620), 1.8731),
    ((35.0831, -44.1164, 3.7933), (35.0232, -40.0716, 1.5901), 1.8645),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((36.4612, 47.8580, 18.3852), (36.2715, 50.5065, 21.2231), 1.4146),
    ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
    ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
    ((6.7747, -0.2908, -2.4247), (5.8714, -0.0985, -2.2286), 0.6377),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


@pytest.mark.parametrize("lab1, lab2, expected", SHARMA_2005)
def test_ciede2000_matches_sharma_2005(lab1, lab2, expected):
    assert ciede2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)
    assert ciede2000(lab2, lab1) == pytest.approx(expected, abs=1e-4)  # symmetric


def test_the_simulation_keeps_greys_and_the_conversion_knows_white():
    for matrix in MACHADO.values():  # each row sums to 1: a grey stays that grey
        assert all(sum(row) == pytest.approx(1.0, abs=1e-5) for row in matrix)
    assert lab((1.0, 1.0, 1.0)) == pytest.approx((100.0, 0.0, 0.0), abs=1e-3)
    assert lab((0.5, 0.5, 0.5), "deuteranopia") == pytest.approx(lab((0.5, 0.5, 0.5)), abs=1e-3)
    # Deuteranopia confuses red and green (both come out olive): far apart with normal vision, close without.
    red, green = (0.8, 0.2, 0.2), (0.4, 0.55, 0.2)
    assert ciede2000(lab(red), lab(green)) > 3 * ciede2000(lab(red, "deuteranopia"), lab(green, "deuteranopia"))


@pytest.mark.parametrize("vision", VISIONS)
def test_every_pair_of_class_colours_stays_apart(vision):
    assert len(CLASS_COLORS) == 10 and len(set(CLASS_COLORS)) == 10
    smallest, i, j = min_pair(CLASS_COLORS, vision)
    assert smallest >= MIN_DELTA_E, f"{vision}: classes {i} and {j} are only ΔE00 {smallest:.1f} apart"


@pytest.mark.parametrize("vision", VISIONS)
def test_dots_drawn_at_the_maps_opacity_stay_apart(vision):
    smallest, i, j = min_pair(CLASS_COLORS, vision, alpha=CLASS_OPACITY)
    assert smallest >= MIN_DELTA_E, f"{vision} at {CLASS_OPACITY:.0%}: classes {i}, {j} ΔE00 {smallest:.1f}"


def test_the_old_tableau_palette_fails():
    """The palette the app shipped before: the test above would have caught it."""
    measured = {v: min_pair(TABLEAU_10, v) for v in VISIONS}
    assert measured["deuteranopia"][0] < 1.0 and measured["deuteranopia"][1:] == (2, 4)  # the 0.7
    assert measured["protanopia"][0] < 1.5 and measured["protanopia"][1:] == (7, 9)  # 1.2
    assert measured["tritanopia"][0] < MIN_DELTA_E  # 6.9
    assert min(m[0] for m in measured.values()) < MIN_DELTA_E


def test_text_in_place_of_a_class_is_dark_ink():
    """Legend labels and the digits written on the maps are CLASS_TEXT, which reads on white (and on any class
    colour's pale tint); five class colours would not (under 3:1)."""
    assert contrast(CLASS_TEXT) >= 7.0
    assert sum(contrast(c) < 3.0 for c in CLASS_COLORS) >= 3  # why the colours themselves are never text

"""The beta dial's ring (the followed digit's posterior, 1 sigma) in node, through the functions beta_dial.js
draws with (after plane_geometry.js, as served): as beta rises its sigma rises, and so must the ring on screen (one
magnification for the whole drag; the rule re-applied per frame once shrank it twice, 100x -> 10x -> 1x, while sigma
grew 70-fold)."""
from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

import vae
from ui.components.beta_dial import map_extent
from ui.components.latent_pad import component_js
from vae import bundled
from vae.beta_dial import load_dial_data
from vae.data import ASSETS
from vae.store import relpath

MAP_SIZES = (300, 380, 558)  # CSS px: a phone, a projector with large type, 1440 x 900


def run_dial_js(script: str, **values) -> object:
    """Run `script` in node after the dial's module as served (the decoder, plane_geometry.js, beta_dial.js) up to
    its default export; the script leaves its answer in OUT."""
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    source = component_js("beta_dial")
    helpers = source[:source.index("export default")]
    consts = "".join(f"const {k} = {json.dumps(v)};\n" for k, v in values.items())
    program = "globalThis.window = {};\n" + helpers + consts + script + "\nprocess.stdout.write(JSON.stringify(OUT));"
    result = subprocess.run(["node", "-e", program], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def dial():
    if not bundled.BETA_DIAL.path.is_file():
        pytest.skip("the beta-conditioned model is not bundled")
    sha = vae.load_checkpoint(bundled.BETA_DIAL.path).sha256
    return load_dial_data(ASSETS / relpath("dial", sha), sha)


SWEEP = """
const OUT = [];
for (const px of SIZES) {
  const pxPerUnit = px / (2 * HALF), mag = ringMagnification(SIGMA, pxPerUnit);
  for (let c = 0; c < SIGMA[0].length; c++) {
    const rows = [];
    for (const b of SWEEP_BETAS) {
      const [k, t] = gridPosition(BETAS, b);
      const sigma = sigmaAt(SIGMA, c, k, t);
      const ring = ringOnScreen(sigma, pxPerUnit, mag);
      rows.push([...sigma, ring.r1, ring.r2]);
    }
    OUT.push({px, c, mag, rows});
  }
}
"""


def test_the_ring_grows_with_sigma_over_the_whole_drag(dial):
    half = map_extent(dial.mu)
    betas = np.geomspace(dial.betas[0], dial.betas[-1], 1500)  # a slow drag: many frames between grid betas
    rings = run_dial_js(SWEEP, SIGMA=dial.chosen_sigma.tolist(), HALF=half, BETAS=dial.betas.tolist(),
                        SWEEP_BETAS=betas.tolist(), SIZES=list(MAP_SIZES))
    for ring in rings:
        sx, sy, r1, r2 = np.asarray(ring["rows"]).T
        major, minor = np.maximum(sx, sy), np.minimum(sx, sy)
        rises = np.diff(np.sqrt(sx * sy)) > 0
        assert rises.mean() > 0.9  # on the bundled model sigma does rise with beta over the drag
        # where sigma rises the ring never shrinks on screen: not its size (the radii's geometric mean), nor an axis
        assert (np.diff(np.sqrt(r1 * r2))[rises] >= -1e-9).all(), ring["c"]
        for s, r in ((major, r1), (minor, r2)):
            assert (np.diff(r)[np.diff(s) > 0] >= -1e-9).all(), ring["c"]
        # one scale: each radius is sigma times the same factor at every beta
        px_per_unit = ring["px"] / (2 * half)
        assert np.allclose(r1 / (major * px_per_unit), ring["mag"]) and np.allclose(r2 / (minor * px_per_unit),
                                                                                   ring["mag"])
        if ring["c"] == 0 and ring["px"] == MAP_SIZES[-1]:  # the digit the dial opens on, at 1440 x 900: from
            # under a pixel to a ring the class sees
            assert np.sqrt(r1 * r2)[0] < 1 and np.sqrt(r1 * r2)[-1] >= 10


def test_the_live_region_sentence_says_beta_rate_and_distortion():
    out = run_dial_js("const OUT = [betaSentence(1, 6.123, 128.4), betaSentence(0.0123, 20.04, 97.6)];")
    assert out == ["β = 1.00: rate 6.1 nats, distortion 128 nats", "β = 0.0123: rate 20.0 nats, distortion 98 nats"]


def test_class_badges_are_moved_apart_and_hidden_classes_get_none():
    out = run_dial_js("const OUT = spreadBadges([[100, 100], [104, 101], null, [100, 100], [300, 40]], 20);")
    shown = [np.asarray(p) for p in out if p is not None]
    assert out[2] is None and len(shown) == 4
    for i in range(4):
        for j in range(i + 1, 4):
            assert np.hypot(*(shown[i] - shown[j])) >= 20 - 1e-6
    assert np.allclose(out[4], [300, 40])  # a badge with room stays at its class's centre


def test_the_rings_label_avoids_the_badges_and_stays_on_the_map():
    # a ring at the map's right edge with a badge above-left of it: the label goes below-left, clear of both
    spot, free = run_dial_js("""
const badges = [[470, 90], null];
const s = labelSpot(480, 100, 5, 8, 60, 12, badges, 9, 500);
const OUT = [s, labelSpot(250, 250, 5, 8, 60, 12, [], 9, 500)];""")
    assert 2 <= spot["x"] and spot["x"] + 60 <= 498 and 8 <= spot["y"] <= 492
    assert max(abs(470 - (spot["x"] + 30)) - 30, abs(90 - spot["y"]) - 6) >= 10  # clear of the badge
    assert free["leader"] is None and free["x"] > 250 and free["y"] < 250  # room everywhere: above-right, near

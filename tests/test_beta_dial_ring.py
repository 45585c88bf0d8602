"""The beta dial's ring (the followed digit's posterior, 1 sigma) in node, through the functions beta_dial.js
draws with: as beta rises its sigma rises, and so must the ring on screen (one magnification for the whole drag;
a per-frame rule once shrank it twice, 100x -> 10x -> 1x, while sigma grew 70-fold)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import vae
from ui.components.beta_dial import map_extent
from vae import bundled
from vae.beta_dial import load_dial_data
from vae.data import ASSETS
from vae.store import relpath

DIAL_JS = Path(__file__).resolve().parent.parent / "ui" / "components" / "beta_dial.js"
MAP_SIZES = (300, 380, 558)  # CSS px: a phone, a projector with large type, 1440 x 900


def run_dial_js(script: str, **values) -> object:
    """Run `script` after beta_dial.js's functions (everything before its default export) in node; the script
    leaves its answer in OUT."""
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    source = DIAL_JS.read_text()
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
const MAG = ringMagnification(SIGMA, HALF);
const OUT = {mag: MAG, rings: []};
for (const px of SIZES) {
  for (let c = 0; c < SIGMA[0].length; c++) {
    const rows = [];
    for (const b of SWEEP_BETAS) {
      const [k, t] = betaInterpolation(BETAS, b);
      const [sx, sy] = sigmaAt(SIGMA, c, k, t);
      const r = ringOnScreen(sx, sy, px / (2 * HALF), MAG);
      rows.push([sx, sy, r.rx, r.ry]);
    }
    OUT.rings.push({px, c, rows});
  }
}
"""


def test_the_ring_grows_with_sigma_over_the_whole_drag(dial):
    half = map_extent(dial.mu)
    betas = np.geomspace(dial.betas[0], dial.betas[-1], 1500)  # a slow drag: many frames between grid betas
    out = run_dial_js(SWEEP, SIGMA=dial.chosen_sigma.tolist(), HALF=half, BETAS=dial.betas.tolist(),
                      SWEEP_BETAS=betas.tolist(), SIZES=list(MAP_SIZES))
    for ring in out["rings"]:
        sx, sy, rx, ry = np.asarray(ring["rows"]).T
        size, sigma = np.sqrt(rx * ry), np.sqrt(sx * sy)
        rises = np.diff(sigma) > 0
        assert rises.mean() > 0.9  # on the bundled model sigma does rise with beta over the drag
        # where sigma rises the ring never shrinks on screen: not its size, nor either of its radii
        assert (np.diff(size)[rises] >= -1e-9).all(), ring["c"]
        for s, r in ((sx, rx), (sy, ry)):
            up = np.diff(s) > 0
            assert (np.diff(r)[up] >= -1e-9).all(), ring["c"]
        # one scale: the drawn radius is sigma times the same factor at every beta
        ratio = rx / (sx * ring["px"] / (2 * half))
        assert np.allclose(ratio, out["mag"], rtol=1e-9)
        # and the biggest ring stays on the map: within 0.4 of the window's half-width
        assert max(rx.max(), ry.max()) <= 0.4 * ring["px"] / 2 + 1e-6
    # the dial opens on the first followed digit at beta = 1: its ring is visible there on a 1440 x 900 screen
    k, t = dial.between(1.0)
    sigma1 = dial.chosen_sigma[k, 0] * (1 - t) + dial.chosen_sigma[k + 1, 0] * t
    assert (sigma1 * MAP_SIZES[-1] / (2 * half) * out["mag"]).min() >= 2


def test_the_js_interpolation_is_the_dial_datas(dial):
    """The browser's betaInterpolation and DialData.between (the page's caption) split beta the same way."""
    betas = [0.01, 0.0137, 0.5, 1.0, 3.3, 15.99, 16.0]
    out = run_dial_js("const OUT = QUERY.map((b) => betaInterpolation(BETAS, b));", BETAS=dial.betas.tolist(),
                      QUERY=betas)
    for b, (k, t) in zip(betas, out):
        k2, t2 = dial.between(b)
        assert k == k2 and abs(t - t2) < 1e-9


def test_the_live_region_sentence_says_beta_rate_and_distortion():
    out = run_dial_js("const OUT = [betaSentence(1, 6.123, 128.4), betaSentence(0.0123, 20.04, 97.6)];")
    assert out == ["β = 1.00: rate 6.1 nats, distortion 128 nats", "β = 0.0123: rate 20.0 nats, distortion 98 nats"]

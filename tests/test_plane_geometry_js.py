"""The maps' shared JavaScript geometry (ui/components/plane_geometry.js) against the Python it mirrors: plane
coordinates against sklearn's PCA (vae.latent.project_2d), the posterior ellipse against vae.latent.posterior_ellipse,
the plot window against vae.plot_window, the beta grid's interpolation against vae.beta_dial.DialData.between.
Floats agree within 1e-9 (float64 both sides, sums in a different order) unless stated.

Runs the JS in node when it is installed, else in headless Chromium (skips without either)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import CHROMIUM, CHROMIUM_ARGS, browser_or_skip
from ui.components.latent_pad import component_js, dims_plane, pca_plane
from vae.beta_dial import DialData, dial_betas
from vae.latent import posterior_ellipse, project_2d
from vae.plot_window import percentiles, plot_window

COMPONENTS = Path(__file__).resolve().parent.parent / "ui" / "components"
GEOMETRY_JS = COMPONENTS / "plane_geometry.js"


def run_js(body: str, **inputs):
    """Run plane_geometry.js, then `body` (which sets `out`) with each input bound to a const; returns out."""
    consts = "".join(f"const {name} = {json.dumps(value)};\n" for name, value in inputs.items())
    source = GEOMETRY_JS.read_text() + "\n" + consts + "let out;\n" + body
    if shutil.which("node"):
        result = subprocess.run(["node", "-e", source + "\nprocess.stdout.write(JSON.stringify(out));"],
                                capture_output=True, text=True, timeout=60, check=True)
        return json.loads(result.stdout)
    browser_or_skip()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        out = browser.new_page().evaluate("(src) => new Function(src + '; return out;')()", source)
        browser.close()
    return out


@pytest.fixture(scope="module")
def pca_fit():
    rng = np.random.default_rng(0)
    mu = (rng.standard_normal((500, 6)) * [3, 2, 1, 0.5, 0.2, 0.1]).astype(np.float64)
    points, pca = project_2d(mu, "pca")
    return mu, points, pca


def test_plane_coordinates_are_the_pca_projection_and_back(pca_fit):
    mu, points, pca = pca_fit
    plane = pca_plane(pca, points)
    ab = [(0.5, -1.0), (2.0, 1.5), (-3.25, 0.0)]
    out = run_js("""
        out = {coords: MU.map((z) => planeCoords(O, U, V, z)),
               moved: AB.map(([a, b]) => Array.from(moveInPlane(O, U, V, Float64Array.from(O), a, b))),
               flat: planeCoords(O, U, V, MU.flat(), 3 * O.length)};""",
                 MU=mu[:20].tolist(), O=plane.origin, U=plane.u, V=plane.v, AB=ab)
    assert np.allclose(out["coords"], pca.transform(mu[:20]), atol=1e-9)  # the dots land where Python puts them
    assert np.allclose(out["coords"], points[:20], atol=1e-5)  # (project_2d returns float32 points)
    assert np.allclose(out["moved"], pca.inverse_transform(np.array(ab)), atol=1e-9)
    assert np.allclose(out["flat"], pca.transform(mu[3:4])[0], atol=1e-9)


def test_a_dims_planes_coordinates_are_two_dimensions_and_the_others_stay():
    mu = np.random.default_rng(1).standard_normal((200, 4))
    plane = dims_plane(4, 1, 3, mu)
    out = run_js("out = [planeCoords(O, U, V, Z), Array.from(moveInPlane(O, U, V, Z, 1, 2))];",
                 O=plane.origin, U=plane.u, V=plane.v, Z=[9.0, 0.25, -7.0, -1.5])
    assert out == [[0.25, -1.5], [9.0, 1.0, -7.0, 2.0]]


@pytest.mark.parametrize("dim", [2, 6])
def test_the_ellipse_is_vae_latents_posterior_ellipse(pca_fit, dim):
    _, points, pca = pca_fit
    rng = np.random.default_rng(dim)
    sigma = rng.uniform(0.05, 1.5, dim)
    mu = rng.standard_normal(dim)
    if dim == 2:
        u, v, polygon, centre = (1.0, 0.0), (0.0, 1.0), posterior_ellipse(mu, sigma), mu
    else:
        u, v = pca.components_[0].tolist(), pca.components_[1].tolist()
        polygon, centre = posterior_ellipse(mu, sigma, pca), pca.transform(mu[None])[0]
    e = run_js("out = planeEllipse(U, V, S);", U=list(u), V=list(v), S=sigma.tolist())
    assert e["r1"] >= e["r2"] > 0
    c, s = np.cos(e["angle"]), np.sin(e["angle"])
    d = polygon.astype(np.float64) - centre
    along, across = d @ [c, s], d @ [-s, c]  # in the ellipse's own axes
    assert np.allclose((along / e["r1"]) ** 2 + (across / e["r2"]) ** 2, 1, atol=1e-5)  # the polygon is float32
    assert np.isclose(np.abs(d).max(), e["r1"], rtol=1e-2)  # and it reaches the long axis


def test_one_magnification_rule_for_a_tiny_ellipse():
    out = run_js("""out = {min: ELLIPSE_MIN_PX, mags: PX.map(ellipseMagnification),
                           px: ellipsePx({r1: 0.02, r2: 0.01, angle: 0.3}, 100)};""",
                 PX=[5, 4.99, 0.5, 0.05, 0.0049, 0])
    assert out["min"] == 5
    assert out["mags"] == [1, 10, 10, 100, 1000, 1000]  # powers of ten, up to 1000
    assert out["px"] == {"rx": pytest.approx(20), "ry": pytest.approx(10), "angle": -0.3, "mag": 10}


def test_the_view_maps_plane_coordinates_to_pixels_and_back():
    out = run_js("""const t = viewTransform({cx: 1, cy: -2, span: 4}, 400);
                    out = [t.scale, t.toX(1), t.toY(-2), t.toX(3), t.toY(0), t.fromX(t.toX(0.37)),
                           t.fromY(t.toY(-1.2))];""")
    assert out == pytest.approx([100, 200, 200, 400, 0, 0.37, -1.2])


@pytest.mark.parametrize("case", range(5))
def test_the_plot_window_is_vae_plot_windows(case):
    rng = np.random.default_rng(case)
    values = [rng.standard_normal((1000, 2)) * 0.5, rng.standard_normal(300) * 6 + 2, np.array([3.5]),
              np.zeros(0), rng.standard_normal((50, 2)) * 4][case]
    options = [{}, {"cover": None, "pad": 0.08}, {"symmetric": True, "pad": 0.025}, {"cover": 2.0},
               {"q": [5, 95], "cover": None}]
    js = run_js("out = OPTS.map((o) => plotWindow(VALUES, o));", VALUES=values.ravel().tolist(), OPTS=options)
    py = [plot_window(values, **o) for o in options]
    assert np.allclose(js, py, atol=1e-9)


def test_percentiles_are_vae_plot_windows_and_numpys():
    values = np.random.default_rng(3).standard_normal(777) * 3
    qs = [0.0, 0.5, 37.0, 50.0, 99.5, 100.0]
    js = run_js("out = percentiles(VALUES, QS);", VALUES=values.tolist(), QS=qs)
    assert np.allclose(js, percentiles(values, qs), atol=1e-12)
    assert np.allclose(percentiles(values, qs), np.percentile(values, qs))


def test_the_beta_grid_position_is_dial_datas():
    betas = dial_betas((0.01, 16.0))
    k = len(betas)
    dial = DialData("0" * 64, betas, np.zeros((k, 1, 2)), np.zeros(k), np.zeros(k), np.zeros(k), np.zeros(1, int),
                    np.zeros((k, 1, 2)))
    xs = [0.005, 0.01, 0.0137, 0.3, 1.0, 7.7, 16.0, 40.0]
    js = run_js("out = XS.map((x) => gridPosition(BETAS, x)).map(([k, t]) => [k, t, lerp(BETAS, k, t)]);",
                XS=xs, BETAS=betas.tolist())
    for (jk, jt, jb), x in zip(js, xs):
        pk, pt = dial.between(x)
        assert jk == pk and abs(jt - pt) < 1e-9
        assert np.isclose(jb, betas[pk] * (1 - pt) + betas[pk + 1] * pt, rtol=1e-12)


def test_the_latent_pads_module_holds_the_geometry_once():
    """The geometry is prepended to the pad's module (which parses); the pad does not write its own."""
    source = component_js("latent_pad")
    assert GEOMETRY_JS.read_text() in source
    pad = (COMPONENTS / "latent_pad.js").read_text()
    for own in ("mag *= 10", "Math.atan2", "function planeCoords", "function percentiles"):
        assert own not in pad, own
    if shutil.which("node"):
        subprocess.run(["node", "--input-type=module", "--check"], input=source, text=True, check=True, timeout=60)

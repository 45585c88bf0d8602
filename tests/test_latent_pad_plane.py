"""The latent pad's planes (their coordinates in the browser: tests/test_plane_geometry_js.py) and its code files."""
import numpy as np

from ui.components import latent_pad
from ui.components.latent_pad import dims_plane, module_loader, pca_plane
from vae.latent import project_2d
from vae.plot_window import percentiles


def test_pca_plane_inverts_the_pca_projection():
    rng = np.random.default_rng(0)
    mu = (rng.standard_normal((500, 6)) * [3, 2, 1, 0.5, 0.2, 0.1]).astype(np.float32)
    points, pca = project_2d(mu, "pca")
    plane = pca_plane(pca, points)
    assert np.allclose(plane.origin, pca.mean_) and np.allclose([plane.u, plane.v], pca.components_)
    assert plane.axis_labels == ("PC1", "PC2")
    lo, hi = plane.extent
    assert ((points >= lo) & (points <= hi)).all(axis=1).mean() >= 0.98  # the window shows nearly all points


def test_dims_plane_reads_two_coordinates_and_covers_the_prior():
    mu = np.random.default_rng(1).standard_normal((200, 4)).astype(np.float32)
    plane = dims_plane(4, 1, 3, mu)
    assert (plane.u, plane.v) == ((0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0))
    assert plane.extent[0] <= -3 and plane.extent[1] >= 3
    assert plane.axis_labels == ("z2", "z4")


def test_a_components_code_file_is_named_by_its_hash_and_replaces_the_older_one(tmp_path, monkeypatch):
    monkeypatch.setattr(latent_pad, "STATIC_DIR", tmp_path)
    (tmp_path / "components").mkdir()
    (tmp_path / "components" / "other-0123456789abcdef.js").write_text("another component's code")
    first = module_loader("demo", "export default () => 1;")
    second = module_loader("demo", "export default () => 2;")
    files = sorted(p.name for p in (tmp_path / "components").iterdir())
    assert len(files) == 2 and "other-0123456789abcdef.js" in files  # demo's older version gone, the other kept
    [demo] = [f for f in files if f.startswith("demo-")]
    assert demo in second and demo not in first  # the loader imports the file just written
    assert module_loader("demo", "export default () => 2;") == second  # the same code: the same file, kept


def test_percentiles_match_numpy():
    """vae.plot_window.percentiles is np.percentile's default without its first call's numpy.ma import."""
    rng = np.random.default_rng(2)
    for values in (rng.standard_normal((1000, 2)), rng.standard_normal(7), np.array([3.5]), np.arange(10.0)):
        qs = [0.0, 0.5, 37.0, 99.5, 100.0]
        assert np.allclose(percentiles(values, qs), np.percentile(values, qs))

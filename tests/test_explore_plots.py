"""ui.plots: the shared latent map figure."""
import numpy as np
import plotly.graph_objects as go

from conftest import typed_array_values
from ui.plots import CLASS_COLORS, latent_scatter_figure, typed_array


def test_one_webgl_trace_per_class_with_row_indices():
    rng = np.random.default_rng(0)
    points = rng.standard_normal((300, 2)).astype(np.float32)
    labels = rng.integers(0, 10, 300)
    fig = latent_scatter_figure(points, labels)
    assert len(fig.data) == len(np.unique(labels))
    assert all(isinstance(t, go.Scattergl) for t in fig.data)
    assert fig.layout.legend.itemclick == "toggle"
    for trace in fig.data:
        label = int(trace.name)
        rows = typed_array_values(trace.customdata)
        assert (labels[rows] == label).all()  # customdata maps a selected point back to its dataset row
        np.testing.assert_array_equal(typed_array_values(trace.x), points[rows, 0])
        np.testing.assert_array_equal(typed_array_values(trace.y), points[rows, 1])
        assert trace.marker.color == CLASS_COLORS[label]
    assert sum(len(typed_array_values(t.x)) for t in fig.data) == 300


def test_typed_arrays_are_what_plotly_itself_sends():
    values = np.array([0.5, -1.25, 3.0], np.float32)
    spec = typed_array(values)
    assert go.Figure(go.Scattergl(x=values)).to_dict()["data"][0]["x"] == spec  # plotly.py's own encoding
    np.testing.assert_array_equal(typed_array_values(spec), values)
    big_endian = np.array([1, 2, 300], ">i4")
    assert typed_array(big_endian)["dtype"] == "i4"
    np.testing.assert_array_equal(typed_array_values(typed_array(big_endian)), [1, 2, 300])


def test_class_names():
    fig = latent_scatter_figure(np.zeros((2, 2)), np.array([0, 1]), class_names=["T-shirt", "Trouser"])
    assert [t.name for t in fig.data] == ["T-shirt", "Trouser"]


def test_selected_customdata_skips_markers_and_reads_lists():
    from ui.plots import selected_customdata
    assert selected_customdata(None) is None and selected_customdata({"selection": {}}) is None
    event = {"selection": {"points": [{"x": 0.0}, {"customdata": "label"}, {"customdata": [7, 3]}]}}
    assert selected_customdata(event) == 7  # the marker (no customdata) and a text one are skipped
    assert selected_customdata({"selection": {"points": [{"customdata": 4.0}]}}) == 4

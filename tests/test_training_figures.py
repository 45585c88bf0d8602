"""The Train page's loss curves: three panels (reconstruction, KL, −ELBO), train and test per epoch, one legend entry
per series, and the epoch in progress as its own marker."""
from ui.training import CURVES, loss_curves_figure


def history(n: int, test_every: int = 1) -> list[dict]:
    out = []
    for e in range(1, n + 1):
        h = {"epoch": e, "train_neg_elbo": 200.0 - e, "train_recon": 180.0 - e, "train_kl": 20.0 + e}
        if e % test_every == 0:
            h.update(test_neg_elbo=201.0 - e, test_recon=181.0 - e, test_kl=20.0 + e)
        out.append(h)
    return out


def test_three_panels_with_train_test_and_the_epoch_in_progress():
    fig = loss_curves_figure(history(4, test_every=2), {"recon": 150.0, "kl": 30.0, "neg_elbo": 180.0}, epoch=5)
    assert [a.text for a in fig.layout.annotations] == [title for _, title in CURVES]
    domains = [fig.layout[f"xaxis{s}"].domain for s in ("", "2", "3")]
    assert all(0 <= lo < hi <= 1 for lo, hi in domains)
    assert domains[0][1] < domains[1][0] and domains[1][1] < domains[2][0]  # side by side, not overlapping
    assert [(t.xaxis, t.yaxis) for t in fig.data] == [(x, y) for x, y in (("x", "y"), ("x2", "y2"), ("x3", "y3"))
                                                     for _ in range(3)]
    assert [t.name for t in fig.data if t.showlegend] == ["train", "test", "this epoch so far"]
    for (key, _), panel in zip(CURVES, range(3)):
        train, test, now = fig.data[3 * panel: 3 * panel + 3]
        assert list(train.x) == [1, 2, 3, 4] and list(train.y) == [h[f"train_{key}"] for h in history(4)]
        assert list(test.x) == [2, 4]  # test figures only where the epoch was evaluated
        assert list(now.x) == [5] and list(now.y) == [{"recon": 150.0, "kl": 30.0, "neg_elbo": 180.0}[key]]


def test_no_test_figures_and_no_epoch_in_progress_draw_only_the_train_curves():
    fig = loss_curves_figure(history(3, test_every=10))
    assert [t.name for t in fig.data] == ["train"] * 3


def test_the_replay_shows_each_epoch_on_axes_fixed_over_all_epochs():
    import numpy as np

    from conftest import typed_array_values
    from ui.training import replay_figure
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 20)
    frames = [0.01 * rng.standard_normal((200, 2)), rng.standard_normal((200, 2)), 2 * rng.standard_normal((200, 2))]
    frames = [f.astype(np.float32) for f in frames]
    figs = [replay_figure([0, 1, 2], frames, labels, index=i) for i in range(3)]
    assert not figs[0].frames and not figs[0].layout.sliders and not figs[0].layout.updatemenus  # nothing animates
    for fig, points, epoch in zip(figs, frames, (0, 1, 2)):
        assert fig.layout.title.text == f"Epoch {epoch}"
        trace = fig.data[3]  # class 3: rows 60-79
        np.testing.assert_array_equal(typed_array_values(trace.x), points[60:80, 0])
        assert fig.layout.xaxis.range == figs[0].layout.xaxis.range  # the same axes for every epoch
    lo, hi = figs[0].layout.xaxis.range
    assert lo < np.percentile(frames[2][:, 0], 1) and hi > np.percentile(frames[2][:, 0], 99)  # the widest epoch fits
    assert replay_figure([0, 1, 2], frames, labels).layout.title.text == "Epoch 2"  # the last by default


def test_the_replay_shows_only_the_chosen_digits_each_named_at_its_centre():
    import numpy as np

    from ui.training import replay_figure
    labels = np.repeat(np.arange(10), 20)
    centres = np.repeat(np.stack([np.arange(10) * 3.0, np.zeros(10)], 1), 20, axis=0)
    points = (centres + 0.1 * np.random.default_rng(1).standard_normal((200, 2))).astype(np.float32)
    fig = replay_figure([0], [points], labels, classes=[2, 7])
    assert [t.name for t in fig.data] == ["2", "7"]
    tags = {a.text: (a.x, a.y) for a in fig.layout.annotations}
    assert set(tags) == {"<b>2</b>", "<b>7</b>"}
    assert abs(tags["<b>7</b>"][0] - 21.0) < 0.2 and abs(tags["<b>7</b>"][1]) < 0.2

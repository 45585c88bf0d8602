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
    assert all(0 <= lo < hi <= 1 for lo, hi in domains) and domains[0][1] < domains[1][0] < domains[1][1] < domains[2][0]
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

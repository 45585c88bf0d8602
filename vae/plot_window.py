"""The window a latent map is drawn in: one rule for the Explore and Reconstruct maps, the beta dial and the Train
page's replay (ui/components/plane_geometry.js is its JavaScript twin, tested against this file in node)."""
from __future__ import annotations

import numpy as np


def percentiles(values, qs) -> np.ndarray:
    """np.percentile(values, qs) (its default, linear interpolation) over all the values. np.percentile and
    np.quantile import numpy.ma on their first call, ~50 ms of the Explore page's first visit after a server start;
    a sort of 20,000 numbers takes well under a millisecond."""
    v = np.sort(np.asarray(values, np.float64), axis=None)
    pos = np.asarray(qs, np.float64) / 100.0 * (v.size - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, v.size - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def plot_window(values, *, cover: float | None = 3.0, pad: float = 0.05, q: tuple[float, float] = (0.5, 99.5),
                symmetric: bool = False) -> tuple[float, float]:
    """(lo, hi), rounded to 2 decimals: the q-th percentiles of all the values (the middle 99 %: a few far codes
    do not shrink the map), widened to hold [-cover, cover] (the prior's +-3 sigma; None: no such floor), then by
    `pad` of the width on each side. symmetric: centred on 0, its half-width the q[1]-th percentile of |values|.
    No values: [-3, 3] padded."""
    v = np.asarray(values, np.float64)
    if v.size == 0:
        lo, hi = -3.0, 3.0
    elif symmetric:
        hi = float(percentiles(np.abs(v), [q[1]])[0])
        lo = -hi
    else:
        lo, hi = map(float, percentiles(v, q))
    if cover is not None:
        lo, hi = min(-cover, lo), max(cover, hi)
    margin = pad * max(hi - lo, 1e-3)
    return round(lo - margin, 2), round(hi + margin, 2)

"""What the KL lab and the Train page tell a class it will see, built from numbers computed on the models (and runs)
shown (vae.analysis) so that every sentence holds for them. A sentence whose condition fails for the models at hand
is left out, never bent; tests/test_claims.py checks each one against the bundled models with an independent judge."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # annotations only: the Train page imports this module, and vae.analysis imports torch
    from vae.analysis import MapFacts

RARE_SHARE = 0.02  # a class gets "hardly any" prior samples below this share (a uniform share is 10 %)
LINED_UP_DEGREES = 30  # two maps "line up" when one is turned against the other by less than this, unmirrored


def rare_classes(facts: MapFacts) -> list[int]:
    return [c for c, share in enumerate(facts.prior_share) if share < RARE_SHARE]


def what_to_notice(facts: dict[float, MapFacts], metrics: dict[float, dict]) -> list[str]:
    """Sentences for the separately trained models side by side. facts and metrics keyed by beta; metrics hold the
    test "neg_elbo" and "recon" (nats, at beta = 1 weighting, as `vae evaluate`)."""
    out = []
    if 0.0 in facts and facts[0.0].outside_3sigma > 0.2:
        f = facts[0.0]
        rare = rare_classes(f)
        sentence = (f"**β = 0** (no KL term): nothing holds the codes together, so they spread far past the prior: "
                    f"{f.outside_3sigma:.0%} lie outside its 3σ circle, the farthest at distance {f.max_radius:.0f}. "
                    "Samples from N(0, I) reach only the middle of that cloud")
        if rare:
            shares = " and ".join(f"{f.prior_share[c]:.1%} near the {c}s" for c in rare)
            sentence += (f": of 1,000 prior samples only {shares} (an even share would be 10 %), so the prior "
                         "hardly ever generates those digits")
        out.append(sentence + ".")
    if metrics:
        best = min(metrics, key=lambda b: metrics[b]["neg_elbo"])
        sharpest = min(metrics, key=lambda b: metrics[b]["recon"])
        sentence = f"**β = {best:g}** has the best test −ELBO ({metrics[best]['neg_elbo']:.1f} nats)"
        if sharpest == best:
            sentence += (f" and also the lowest reconstruction cost ({metrics[best]['recon']:.1f}): with these "
                         "models the KL term did not cost sharpness")
        out.append(sentence + ".")
    if 1.0 in facts and 16.0 in facts and 1.0 in metrics and 16.0 in metrics:
        lo, hi = facts[1.0], facts[16.0]
        if hi.outside_3sigma <= lo.outside_3sigma and hi.median_sigma > lo.median_sigma \
                and metrics[16.0]["recon"] > metrics[1.0]["recon"]:
            out.append(f"From **β = 1 to 16** the codes are pulled inside the prior ({lo.outside_3sigma:.1%} → "
                       f"{hi.outside_3sigma:.1%} outside 3σ), each posterior widens (median σ {lo.median_sigma:.3f} "
                       f"→ {hi.median_sigma:.3f}) and reconstructions blur: their cost rises from "
                       f"{metrics[1.0]['recon']:.1f} to {metrics[16.0]['recon']:.1f} nats.")
    return out


def window_caption(mu: np.ndarray, limit: float) -> str:
    """Under a latent map drawn over ±limit: how many codes (of all of mu) it leaves out. Says "all" only when none
    is outside (β = 0's map at ±50 left 32 of 10,000 out, while the caption said "all codes inside")."""
    outside = int(np.sum(np.abs(np.asarray(mu)[:, :2]).max(1) > limit))
    if outside == 0:
        return f"all {len(mu):,} codes inside the window"
    share = outside / len(mu)
    return (f"{share:.0%} of the codes lie outside ±{limit:g}" if share >= 0.01 else
            f"{outside} of the {len(mu):,} codes lie outside ±{limit:g}")


def alignment_caption(turns: dict[tuple[float, float], tuple[float, bool]], seeds: set[int]) -> str:
    """Under the separately trained maps: whether they line up, from vae.analysis.map_turn of each pair (keyed by
    the two betas) and the training seeds. Says what the maps show, and why, for any number of maps."""
    if not turns:
        return ""
    worst = max(turns, key=lambda pair: (turns[pair][1], abs(turns[pair][0])))
    angle, mirrored = turns[worst]
    a, b = worst
    why = ("a rotated or mirrored latent plane fits the data just as well, so nothing in the loss makes two "
           "separately trained maps agree")
    if not mirrored and abs(angle) < LINED_UP_DEGREES:
        same = (" Each was trained on its own, but every one started from the same random weights (training "
                f"seed {next(iter(seeds))}). Otherwise " if len(seeds) == 1 else " Otherwise ")
        return (f"These maps line up: the most any of them is turned against another is {abs(angle):.0f}° "
                f"(β = {a:g} against β = {b:g}).{same}{why}. The β dial on the first tab is one network, so its "
                "map moves continuously.")
    turned = f"mirrored and turned by {abs(angle):.0f}°" if mirrored else f"turned by {abs(angle):.0f}°"
    return (f"Not every map lines up: β = {b:g}'s is {turned} against β = {a:g}'s. Each network was trained on its "
            f"own, and {why}. The β dial on the first tab is one network, so its map moves continuously.")


def training_story(history: list[dict]) -> str:
    """What the loss curves of a run show, from its per-epoch history (train_recon, train_kl): how the
    reconstruction term and the KL moved, with the numbers, and where the KL turned if it did. Empty before the
    second epoch."""
    rows = [h for h in history if "train_recon" in h and "train_kl" in h]
    if len(rows) < 2:
        return ""
    recon = [float(h["train_recon"]) for h in rows]
    kl = [float(h["train_kl"]) for h in rows]
    if not all(math.isfinite(v) for v in recon + kl):
        return ""
    n = len(rows)
    r_word = "fell" if recon[-1] < recon[0] else "rose"
    out = f"Over {n} epochs the reconstruction term {r_word} from {recon[0]:.1f} to {recon[-1]:.1f} nats, and the KL "
    # a turn: an epoch inside the run where the KL peaked (or bottomed) clearly above (below) both ends
    peak, low = int(np.argmax(kl)), int(np.argmin(kl))
    turns = [t for t in (peak, low) if 0 < t < n - 1 and min(abs(kl[t] - kl[0]), abs(kl[t] - kl[-1])) > _MOVE]
    turn = max(turns, key=lambda t: abs(kl[t] - kl[0]) + abs(kl[t] - kl[-1])) if turns else -1
    if turn > 0:
        first, then = ("rose", "fell") if kl[turn] > kl[0] else ("fell", "rose")
        out += (f"first {first} from {kl[0]:.1f} to {kl[turn]:.1f} (epoch {rows[turn].get('epoch', turn + 1)}), "
                f"then {then} to {kl[-1]:.1f}")
    elif abs(kl[-1] - kl[0]) <= _MOVE:
        out += f"stayed near {kl[0]:.1f}"
    else:
        out += f"{'rose' if kl[-1] > kl[0] else 'fell'} from {kl[0]:.1f} to {kl[-1]:.1f}"
    if kl[-1] > kl[0] + _MOVE:
        out += ": the code carries more information about each digit"
    return out + "."


_MOVE = 0.05  # nats: a KL change smaller than this is "stayed"

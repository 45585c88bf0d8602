"""What the KL lab tells a class it will see, built from numbers computed on the models shown (vae.analysis) so that
every sentence holds for them. A sentence whose condition fails for the models at hand is left out, never bent;
tests/test_claims.py checks each one against the bundled models with an independent judge."""
from __future__ import annotations

from vae.analysis import MapFacts

RARE_SHARE = 0.02  # a class gets "hardly any" prior samples below this share (a uniform share is 10 %)


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

"""Is a simulation-based calibration's rank distribution uniform? Rank ECDFs against simultaneous
bands (Säilynoja, Bürkner & Vehtari 2022), a verdict per parameter and the central 90%
intervals' coverage with its binomial probability, and the ECDF-difference plot, one panel per
parameter. Reads the Dataset of model/validation/sbc.py.

Multiple testing: a band of simultaneous level 95% is crossed by a calibrated parameter's ECDF
with probability 5%, so with 13 parameters some crossing is likely by chance alone. The family
verdict therefore uses bands at level 1 - 0.05 / (number of parameters) (Bonferroni): the
chance that any calibrated parameter crosses its band is then at most 5%, whatever the
dependence between the parameters' ranks. Both are reported; the plot shows the 95% band and
the wider family band.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats
from scipy.special import bdtr

BAND_PROB = 0.95
FAMILY_ERROR = 0.05
INTERVAL_PROB = 0.90  # the coverage count's interval: central 90% of the posterior
BAND_SIMULATIONS = 10_000
BAND_SEED = 214  # the bands are simulated once with a fixed seed: the same verdict every time


@dataclass(frozen=True)
class Band:
    """Simultaneous band of the ECDF of `n` uniform values at `x` = 1/n .. (n-1)/n: the ECDF
    (as a count k of values <= x) lies within [lower, upper] at every x with probability
    `prob`. `a` is the pointwise tail probability the band keeps."""

    x: np.ndarray
    lower: np.ndarray  # counts
    upper: np.ndarray
    prob: float
    a: float


@lru_cache(maxsize=16)
def simultaneous_band(n: int, prob: float) -> Band:
    """The band for `n` replications at simultaneous level `prob`: arviz-stats' simulation of
    the smallest pointwise binomial tail probability of uniform samples (Säilynoja et al. 2022,
    the simulation method), turned into count limits with the same binomial tails, so a sample
    is inside exactly when its smallest tail probability is above the simulated quantile."""
    from arviz_stats.ecdf_utils import simulate_confidence_bands

    x = np.arange(1, n) / n
    gamma = simulate_confidence_bands(n, 1, x, prob, BAND_SIMULATIONS,
                                      np.random.default_rng(BAND_SEED))
    a = (1.0 - gamma) / 2.0
    k = np.arange(n + 1)[:, None]
    cdf = bdtr(k, n, x)  # P(K <= k)
    survival = 1.0 - bdtr(k - 1, n, x)  # P(K >= k); bdtr(-1) = 0
    lower = np.argmax(cdf >= a, axis=0)
    upper = n - np.argmax((survival >= a)[::-1], axis=0)
    return Band(x, lower, upper, prob, a)


def ecdf_counts(pit: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Number of the values `pit` at or below each x."""
    return np.searchsorted(np.sort(pit), x, side="right")


def inside(pit: np.ndarray, band: Band) -> bool:
    """Does the ECDF of `pit` stay inside `band` everywhere?"""
    counts = ecdf_counts(pit, band.x)
    return bool(np.all((counts >= band.lower) & (counts <= band.upper)))


def family_prob(n_parameters: int) -> float:
    """Simultaneous level of each parameter's band for a family-wise error of FAMILY_ERROR."""
    return 1.0 - FAMILY_ERROR / n_parameters


def rank_verdicts(ds: xr.Dataset) -> pd.DataFrame:
    """Per parameter: replications, ECDF inside its 95% band and inside the family band, the
    truth inside the central 90% interval (count, expected, P(at most that many) and the
    two-sided binomial test's p), and the share of truths above the posterior median. Failed
    replications (`failed` not empty) are left out."""
    ds = ds.isel(replication=ds["failed"].to_numpy() == "")
    pit = ds["pit"].transpose("parameter", "replication").to_numpy()
    n = pit.shape[1]
    band, family = simultaneous_band(n, BAND_PROB), simultaneous_band(
        n, family_prob(pit.shape[0]))
    covered = ((ds["q05"] <= ds["truth"]) & (ds["truth"] <= ds["q95"])).sum("replication")
    above = (ds["rank"] >= ds["n_ranked"] / 2).mean("replication")
    rows = []
    for i, name in enumerate(ds["parameter"].to_numpy()):
        k = int(covered.sel(parameter=name))
        rows.append({
            "parameter": str(name),
            "replications": n,
            "ecdf_in_95_band": inside(pit[i], band),
            "ecdf_in_family_band": inside(pit[i], family),
            "in_90_interval": k,
            "expected_in_90": round(INTERVAL_PROB * n, 1),
            "p_at_most": float(stats.binom.cdf(k, n, INTERVAL_PROB)),
            "p_two_sided": float(stats.binomtest(k, n, INTERVAL_PROB).pvalue),
            "share_above_median": float(above.sel(parameter=name)),
        })
    return pd.DataFrame(rows).set_index("parameter")


def plot_rank_ecdf(ds: xr.Dataset, title: str = "", file=None):
    """ECDF of each parameter's PIT minus the uniform CDF, with the 95% simultaneous band
    (shaded) and the family band (dashed); a panel per parameter, red when outside the family
    band. Saved as PNG to `file` if given; returns the figure. Failed replications are left
    out (`rank_verdicts`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ds = ds.isel(replication=ds["failed"].to_numpy() == "")
    pit = ds["pit"].transpose("parameter", "replication").to_numpy()
    names = [str(p) for p in ds["parameter"].to_numpy()]
    n = pit.shape[1]
    band, family = simultaneous_band(n, BAND_PROB), simultaneous_band(
        n, family_prob(len(names)))
    verdicts = rank_verdicts(ds)
    cols = 4
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), sharex=True,
                             sharey=True, squeeze=False)
    for ax, name, values in zip(axes.flat, names, pit, strict=False):
        v = verdicts.loc[name]
        ax.fill_between(band.x, band.lower / n - band.x, band.upper / n - band.x,
                        step="mid", color="0.85", label=f"{BAND_PROB:.0%} band")
        ax.step(family.x, family.lower / n - family.x, "k--", lw=0.7, where="mid")
        ax.step(family.x, family.upper / n - family.x, "k--", lw=0.7, where="mid",
                label="family band")
        ok = bool(v["ecdf_in_family_band"])
        ax.step(band.x, ecdf_counts(values, band.x) / n - band.x, where="mid",
                color="C0" if ok else "C3")
        ax.axhline(0.0, color="0.5", lw=0.5)
        ax.set_title(f"{name}\n90% cover {v['in_90_interval']}/{n}", fontsize=8,
                     color="black" if ok else "C3")
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6, loc="lower left")
    for ax in axes[-1]:
        ax.set_xlabel("PIT (fractional rank)", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("ECDF - uniform", fontsize=8)
    fig.suptitle(title or "simulation-based calibration: rank ECDF differences", fontsize=10)
    fig.tight_layout()
    if file is not None:
        fig.savefig(file, format="png", dpi=110)
        plt.close(fig)
    return fig

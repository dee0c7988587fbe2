"""The Gaussian local-level likelihood of a record's ln paces between splits, with the cramp's
step and at most one other pace step (a "fade"), for model/hazard/onset_location.py (its
docstring says why the fade is there and what it changed).

z_k, the ln pace of interval k (L_k km) minus the population profile, is

    z = level + drift + delta * h_t + g * h_s + noise,   Cov(level + drift + noise) = S,

with h_t (interval) the share of each interval's km run after a step in segment t (the cramp's,
delta known) and h_s after the fade's in segment s (any segment reached, uniform, with
probability p; absent with 1 - p), its size g ~ Normal(mu, v). Given t and s the fade is a known
regressor with a Gaussian prior, a rank-one addition v h_s h_s' to S, and with
q_s = h_s' S^-1 z, Q_ts = h_t' S^-1 h_s, u_ts = q_s - delta Q_ts (Sherman-Morrison):

    ln P(z | t, s) = C + delta q_t - delta^2/2 Q_tt
                     + (v u_ts^2 + 2 mu u_ts - mu^2 Q_ss) / (2 (1 + v Q_ss)) - ln(1 + v Q_ss) / 2,
    ln P(z | t, no fade) = C + delta q_t - delta^2/2 Q_tt,

C = -z'S^-1 z / 2 - ln det S / 2 + const, the same for every (t, s) of a record. One solve
S^-1 [z, h_1..h_T] per record gives every (t, s) pair, since cramp and fade positions run over the
same segments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LEVEL_PRIOR_SD = 10.0  # ln pace: each runner-race's own level, effectively unknown
N_BANDS = 10  # fade position bands: tenths of the race distance (the profile's bands)
FADE_EM_ITERATIONS = 60
FADE_SD_START = 0.05  # ln pace: EM's starting fade (half of the records, any band, mean 0)
FADE_SD_FLOOR = 1e-3  # ln pace: keeps the EM off a zero-width size prior


@dataclass(frozen=True)
class Fade:
    """A non-cramp step in a record's pace: in profile band b (a tenth of the race distance,
    uniform per km within it) with probability band_probability[b], absent with 1 - their sum;
    its size ~ Normal(mu, sd^2) in ln pace, either sign."""

    band_probability: tuple[float, ...] = ()
    mean_ln_pace: float = 0.0
    sd_ln_pace: float = 0.0

    @property
    def probability(self) -> float:
        return float(sum(self.band_probability))

    def log_prior(self, position: FadePositions) -> np.ndarray:
        """ln P(fade in segment s) (record, s); -inf where no fade can be seen."""
        with np.errstate(divide="ignore"):
            return np.log(np.asarray(self.band_probability)[position.band]) + position.log_share


@dataclass(frozen=True)
class FadePositions:
    """Where a record's fade can be seen: each segment's profile band and ln(share of its band's
    km in the segment), -inf past the km reached (a fade after a stop is no fade in the splits)."""

    band: np.ndarray  # (record, segment) int
    log_share: np.ndarray  # (record, segment)

    def __getitem__(self, rows) -> FadePositions:
        return FadePositions(self.band[rows], self.log_share[rows])


@dataclass(frozen=True)
class StepSystem:
    """What q and Q need that does not depend on the drift SD, for a block of records: made
    once and solved at every candidate drift (model/hazard/onset_location.py tries 11)."""

    steps: np.ndarray  # (record, step, interval) h, 0 on invalid intervals
    rhs: np.ndarray  # (record, interval, 1 + step) [z, h_1..h_T]
    shared_km: np.ndarray  # (record, interval, interval) km of drift two valid intervals share
    both_valid: np.ndarray  # (record, interval, interval)
    noise_var: np.ndarray  # (record, interval) split noise variance; 1 on invalid intervals

    def projections(self, drift_sd: float, *, full: bool = True
                    ) -> tuple[np.ndarray, np.ndarray]:
        """q = h' S^-1 z (record, step) and Q = h' S^-1 h (record, step, step; only its
        diagonal (record, step) unless `full`) at drift SD `drift_sd` [ln pace per sqrt(km)]."""
        cov = np.multiply(drift_sd**2, self.shared_km)
        np.add(cov, LEVEL_PRIOR_SD**2, out=cov, where=self.both_valid)
        k = np.arange(cov.shape[1])
        cov[:, k, k] += self.noise_var
        solved = np.linalg.solve(cov, self.rhs)  # (record, interval, 1 + step)
        q = np.einsum("rtk,rk->rt", self.steps, solved[:, :, 0])
        if full:
            return q, self.steps @ solved[:, :, 1:]
        return q, np.einsum("rtk,rkt->rt", self.steps, solved[:, :, 1:])


def step_system(z: np.ndarray, valid: np.ndarray, length_km: np.ndarray, steps: np.ndarray,
                split_sd: float) -> StepSystem:
    """The ln paces less the profile `z` (record, interval) and step regressors `steps`
    (record, step, interval) as a StepSystem, for q = h' S^-1 z and Q = h' S^-1 h with S the
    covariance of the level (prior SD LEVEL_PRIOR_SD), a random-walk drift in km and each
    interval's noise (SD `split_sd` / sqrt(L_k), L_k its km). Invalid (empty) intervals get unit
    variance, no covariance and z = h = 0: they add nothing."""
    h = np.where(valid[:, None, :], steps, 0.0)
    length = np.where(valid, length_km, 1.0)
    mid_km = np.cumsum(np.where(valid, length_km, 0.0), axis=1) - 0.5 * length
    both = valid[:, :, None] & valid[:, None, :]
    shared = np.where(both, np.minimum(mid_km[:, :, None], mid_km[:, None, :]), 0.0)
    rhs = np.concatenate([np.where(valid, z, 0.0)[:, :, None], np.transpose(h, (0, 2, 1))],
                         axis=2)
    return StepSystem(h, rhs, shared, both, np.where(valid, split_sd**2 / length, 1.0))


def _fade_terms(u: np.ndarray, q_ss: np.ndarray, fade: Fade):
    """ln[P(z | fade in s) / P(z | no fade)] and the size's posterior mean and variance."""
    v, mu = fade.sd_ln_pace**2, fade.mean_ln_pace
    denominator = 1.0 + v * q_ss
    term = ((v * u**2 + 2.0 * mu * u - mu**2 * q_ss) / (2.0 * denominator)
            - 0.5 * np.log(denominator))
    return term, (mu + v * u) / denominator, v / denominator


def _mixture(term: np.ndarray, log_prior: np.ndarray):
    """ln[(1 - sum_s P(s)) + sum_s P(s) e^term_s] over the last axis, and P(s | z)."""
    joint = term + log_prior
    top = np.maximum(joint.max(axis=-1), 0.0)
    with np.errstate(invalid="ignore"):
        visible = np.exp(joint - top[..., None])
    none = np.maximum(1.0 - np.exp(log_prior).sum(axis=-1), 0.0)
    total = visible.sum(axis=-1) + none * np.exp(-top)
    return top + np.log(total), visible / total[..., None]


def fade_log_mixture(u: np.ndarray, q_ss: np.ndarray, log_prior: np.ndarray,
                     fade: Fade) -> np.ndarray:
    """ln of the fade's factor, summed over its positions s (last axis) and its absence, from
    u (..., s), Q_ss and the fade's log prior (broadcast like u)."""
    if fade.probability <= 0.0:
        return np.zeros(u.shape[:-1])
    return _mixture(_fade_terms(u, q_ss, fade)[0], log_prior)[0]


def onset_log_lik(q: np.ndarray, big_q: np.ndarray, slowdown: float, position: FadePositions,
                  fade: Fade) -> np.ndarray:
    """ln P(z | cramp step in t) up to a constant per record, (record, t), the fade summed out."""
    diagonal = np.diagonal(big_q, axis1=1, axis2=2)
    cramp = slowdown * q - 0.5 * slowdown**2 * diagonal
    if fade.probability <= 0.0:
        return cramp
    u = q[:, None, :] - slowdown * big_q  # (record, t, s)
    return cramp + fade_log_mixture(u, diagonal[:, None, :],
                                    fade.log_prior(position)[:, None, :], fade)


def fit_fade(u: np.ndarray, q_ss: np.ndarray, position: FadePositions, start: Fade | None = None,
             iterations: int = FADE_EM_ITERATIONS) -> Fade:
    """The fade of highest marginal likelihood of records of known onset status (empirical
    Bayes), from u = h_s' S^-1 (z - delta h_onset) and Q_ss (record, s), by EM from `start`: the
    positions' posterior P(s | z) gives each band's probability, the size's posterior moments
    its mean and SD. (A stop cuts the km a fade could be seen in; the band probabilities'
    update ignores that, a small bias with few drop-outs.)"""
    fade = start or Fade((0.5 / N_BANDS,) * N_BANDS, 0.0, FADE_SD_START)
    in_band = position.band[..., None] == np.arange(N_BANDS)  # (record, s, band)
    for _ in range(iterations):
        term, mean, var = _fade_terms(u, q_ss, fade)
        posterior = _mixture(term, fade.log_prior(position))[1]  # (record, s)
        weight = posterior.sum()
        mu = float((posterior * mean).sum() / weight)
        sd = float(np.sqrt((posterior * (var + (mean - mu) ** 2)).sum() / weight))
        band = np.einsum("rs,rsb->b", posterior, in_band) / len(u)
        fade = Fade(tuple(float(b) for b in band), mu, max(sd, FADE_SD_FLOOR))
    return fade

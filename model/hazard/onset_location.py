"""Where an unrecorded cramp onset happened, from the slowdown it leaves in the splits.

Why this exists: a segment's pace feature comes from the splits before it. For a cramp with an
unknown onset the model sums over the possible onset segments t; for every t after the true
onset, the splits in between already carry the cramp's own slowdown, so the cramper looks slower
than they ran before cramping. Treating those splits as a cause pulled the pace effect ~50%
towards zero in simulation-based calibration. After the onset the splits are an outcome of the
cramp, so their likelihood belongs in the model:

    P(cramp, splits) = sum_t P(first cramp in segment t | pace up to t) * P(splits | onset in t)

P(splits | onset in t) comes from a model of ln pace over the intervals between splits:

    y_k = a_r + m_k + delta * f_k(t) + level noise,

- y_k: ln(seconds per km) over interval k (L_k km) of runner-race r; a_r: the runner-race's own
  level;
- m_k: the population's pacing profile, one level per tenth of the race distance, averaged over
  the interval's km (most runners slow late in a race whether they cramp or not);
- f_k(t): the share of the interval's km run after an onset in segment t (segments after t in
  full, the onset segment half, since the onset is somewhere inside it);
- delta: the cramp's slowdown in ln pace.

The onset is located with a Gaussian local-level model of those ln paces: each runner-race has
its own level, which drifts as a random walk in km (SD tau per sqrt(km): a runner tiring, the
course), around which each interval's pace scatters (SD sigma / sqrt(L_k)): hills, wind, drink
stations. A cramp is a step of delta in the level at its onset. Besides the cramp, each record
may have one other step, a "fade" (a fast start paid back, the wall): in profile band b with
probability p_b (uniform per km within it), absent with 1 - sum p_b, of size ~ Normal(mu, s^2)
of either sign, summed out over its position for every onset hypothesis (model/hazard/
onset_steps.py: a rank-one term of the covariance, all (t, s) pairs from one solve per record).
Why: without it a fast starter's fade, a step as large as a cramp's, was read as the cramp: on
synthetic cohorts (40% of runners 3-12% too fast over the first 40%, a step there of 5-20% in ln
pace) their unknown onsets were placed ~5 km early (0.28 of the weight more than 2 km before
the true segment; weight on the true segment 0.45 against 0.60 for even starters), which
biased the pace coefficient's score over 400 cohorts of three_races_600 to z = +4.9
(bench/score_check.py). With the fade: 0.02 of the weight early, 0.65 on the true segment for
fast and even starters alike, pace z -0.6. A uniform position alone is not enough (0.14-0.21
early with the generator's true fade sizes): a fade and a cramp of about the same size can
swap places, and only where fades usually happen tells them apart.

The drift decides how sharply the step is located: with little, an unmodelled step is taken
for the cramp; with too much, the step is lost in the drift. tau is chosen from a grid by how
well the model locates the onsets that *were* recorded, treated as unknown (the mean ln of the
normalised weight on the true segment, a proper score, so it rewards neither over- nor
under-confidence). On synthetic cohorts (seeds 11, 12) with 1 km splits the true segment lies
inside the central 90% of the weights in 93-95% of cramps (slightly cautious; 88-91% before
the fade), and the best segment is within 1 km of the truth in 98% (89-91% before); the mean
ln weight on the true segment is -0.7 to -0.8 (-1.1 before). With 5 km splits: 95-98% inside,
92-93% within 1 km, mean ln weight -1.15 (-1.5 before, the limit then set by not knowing which
km of a 5 km interval held the onset). The first version scored each change between
consecutive splits on its own (Student-t): by ignoring that the level stays shifted after a
cramp, it spread the weights (mean ln weight on the true segment -1.8, truth inside the central
90% in 99%, best segment within 1 km in 71-75%).

delta and the profile are fitted by weighted least squares of the levels within records, sigma
as the median absolute deviation of the standardised changes (floored at SPLIT_SD_FLOOR), all
from the records whose onset status is known (no cramp: f = 0; known onset); the fade (p_b, mu,
s) by maximum marginal likelihood (EM) of those records, at each candidate tau; tau as above.
The profile keeps the population's average fade, so the fade is a runner's own step around it
(on the synthetic cohorts: all its probability, 0.63, in band 3, mu +3.5%, s 7.6%). Fitting
with the fade costs ~2.4 s on 10,000 records with 1 km splits (1.1 s before it; bench/
onset_weights.py), half of it the LU solves, one per record and drift: each block's regressors
are made once for all 11 drifts (onset_steps.StepSystem).
These are plugged in (empirical Bayes); their uncertainty, small with hundreds of records
against the hazard's, is not propagated. The weights w_t are stored as ln w_t with maximum 0
per record. Uniform weights (all 0) give back the plain 1 - prod(1 - h): records without at
least two intervals between splits, and every record when the cohort has no known onset with
splits on both sides to estimate delta from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from model.hazard.onset_steps import N_BANDS as N_PROFILE_BANDS
from model.hazard.onset_steps import (
    Fade,
    FadePositions,
    StepSystem,
    fit_fade,
    onset_log_lik,
    step_system,
)

UNREACHABLE_LOG_WEIGHT = -1000.0  # onset segments past the km reached: weight exp(-1000) = 0
RECORD_CHUNK = 128  # records per vectorised block (memory ~ chunk x segments^2)
# candidate drift SDs [ln pace per sqrt(km)]: 0.25% to 8% per sqrt(km), chosen by how well each
# locates the known onsets (`_choose_drift_sd`)
DRIFT_SD_GRID = tuple(np.geomspace(0.0025, 0.08, 11))
FADE_EM_WARM_ITERATIONS = 15  # from the neighbouring drift's fade
DRIFT_SELECTION_RECORDS = 2000  # known onsets scored, records the fade is fitted to (at most)
# records (evenly spread) whose least squares fit the slowdown, profile and noise, at most:
# population numbers that 20,000 pin; 10^6 records with 1 km splits would need ~20 GB
SPLIT_MODEL_RECORDS = 20_000
# a runner's pace varies more than 0.5% from one km to the next on any course; below that the
# splits' rounding, not the runner, would set how sharply an onset is located
SPLIT_SD_FLOOR = 0.005


@dataclass(frozen=True)
class SplitModel:
    """The fitted pace model of the splits (ln seconds per km)."""

    slowdown_ln_pace: float  # delta: ln pace after an onset minus before
    split_sd_ln_pace: float  # sigma: SD of the ln pace of a 1 km split
    profile_ln_pace: np.ndarray  # (band,) population pacing profile, band 0 at 0
    n_records: int  # records the fit used
    n_intervals: int
    drift_sd_ln_pace: float = DRIFT_SD_GRID[-1]  # tau: a runner's own pace drift per sqrt(km)
    onset_log_score: float = float("nan")  # mean ln(normalised weight) of known onsets' segment
    fade: Fade = Fade()  # one non-cramp pace step per record (model/hazard/onset_steps.py)

    def attrs(self) -> dict:
        return {
            "onset_slowdown_ln_pace": self.slowdown_ln_pace,
            "split_sd_ln_pace_per_km": self.split_sd_ln_pace,
            "split_drift_sd_ln_pace_per_sqrt_km": self.drift_sd_ln_pace,
            "onset_location_log_score": self.onset_log_score,
            "split_model_records": self.n_records,
            "split_fade_probability": self.fade.probability,
            "split_fade_mean_ln_pace": self.fade.mean_ln_pace,
            "split_fade_sd_ln_pace": self.fade.sd_ln_pace,
        }


@dataclass(frozen=True)
class Intervals:
    """Segments grouped into the intervals between observed splits, per record."""

    index: np.ndarray  # (record, segment) interval of each segment (0-based)
    length_km: np.ndarray  # (record, interval)
    ln_pace: np.ndarray  # (record, interval) ln(s per km); NaN where the interval is empty
    profile_x: np.ndarray  # (record, interval, band) share of the interval's km in each band
    valid: np.ndarray  # (record, interval)
    fade_positions: FadePositions  # (record, segment)

    @property
    def n_valid(self) -> np.ndarray:
        return self.valid.sum(axis=1)


def intervals(
    elapsed_at_end_s: np.ndarray,
    observed_end: np.ndarray,
    length_km: np.ndarray,
    start_km: np.ndarray,
    distance_km: np.ndarray,
) -> Intervals:
    """Group each record's segments into intervals between observed times (the start, each
    split, and the finish or stop count as observed), with each interval's ln pace."""
    n_rec, n_seg = length_km.shape
    reached = length_km > 0
    # a segment belongs to the interval opened by the last observed end before it
    index = np.concatenate(
        [np.zeros((n_rec, 1), int), np.cumsum(observed_end[:, :-1] & reached[:, :-1], axis=1)],
        axis=1,
    )
    seg_time = np.diff(np.nan_to_num(elapsed_at_end_s), axis=1, prepend=0.0)
    flat = (np.arange(n_rec)[:, None] * n_seg + index).ravel()
    size = n_rec * n_seg
    weights = np.where(reached, length_km, 0.0).ravel()
    length = np.bincount(flat, weights, size).reshape(n_rec, n_seg)
    time_s = np.bincount(flat, np.where(reached, seg_time, 0.0).ravel(), size)
    time_s = time_s.reshape(n_rec, n_seg)
    mid_fraction = (start_km + 0.5 * length_km) / np.asarray(distance_km, float)[:, None]
    band = np.clip((mid_fraction * N_PROFILE_BANDS).astype(int), 0, N_PROFILE_BANDS - 1)
    profile = np.zeros((size, N_PROFILE_BANDS))
    np.add.at(profile, (flat, band.ravel()), weights)
    valid = (length > 0) & (time_s > 0)
    profile_x = profile.reshape(n_rec, n_seg, -1)  # the largest array here: divided in place
    with np.errstate(divide="ignore", invalid="ignore"):
        ln_pace = np.where(valid, np.log(time_s / length), np.nan)
        np.divide(profile_x, length[..., None], out=profile_x)
        log_share = np.log(length_km / (np.asarray(distance_km, float)[:, None] / N_PROFILE_BANDS))
    return Intervals(index, length, ln_pace, np.nan_to_num(profile_x, copy=False), valid,
                     FadePositions(band, np.where(reached, log_share, -np.inf)))


def onset_share(onset_segment: np.ndarray, n_seg: int) -> np.ndarray:
    """(t, segment) or (record, segment): share of each segment run after an onset in segment
    t (1-based): 1 after it, 1/2 in it, 0 before."""
    t = np.asarray(onset_segment)[..., None]
    seg = np.arange(1, n_seg + 1)
    return (seg > t) + 0.5 * (seg == t)


def _interval_means(iv: Intervals, segment_values: np.ndarray, length_km: np.ndarray, *,
                    per_hypothesis: bool = False):
    """Length-weighted mean over each interval's segments of `segment_values`: per record
    (record, segment) -> (record, interval), or per hypothesis shared by all records
    (t, segment) -> (t, record, interval). Sums by bincount: memory stays ~ the input's."""
    n_rec, n_seg = length_km.shape
    weighted = np.where(length_km > 0, length_km, 0.0)
    flat = np.arange(n_rec)[:, None] * n_seg + iv.index  # (record, segment) -> (record, interval)
    if per_hypothesis:
        n_t = len(segment_values)
        index = np.arange(n_t)[:, None, None] * (n_rec * n_seg) + flat
        values = segment_values[:, None, :] * weighted
        totals = np.bincount(index.ravel(), values.ravel(), n_t * n_rec * n_seg)
        totals = totals.reshape(n_t, n_rec, n_seg)
    else:
        totals = np.bincount(flat.ravel(), (segment_values * weighted).ravel(), n_rec * n_seg)
        totals = totals.reshape(n_rec, n_seg)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(iv.length_km > 0, totals / iv.length_km, 0.0)


def fit_split_model(
    iv: Intervals, status_known: np.ndarray, onset_segment: np.ndarray, length_km: np.ndarray
) -> SplitModel | None:
    """delta and the profile by weighted least squares within records, and sigma from the
    residuals' changes between consecutive intervals (robust: median absolute deviation), from
    SPLIT_MODEL_RECORDS at most of the records whose onset status is known (`status_known`: no
    cramp, or onset segment `onset_segment` > 0) and which have two or more intervals (the drift
    and fade: from all); None when delta cannot be estimated (no known onset between splits)."""
    use = status_known & (iv.n_valid >= 2)
    if not use.any():
        return None
    usable = np.flatnonzero(use)
    rec = _spread(usable, SPLIT_MODEL_RECORDS)
    n_seg = length_km.shape[1]
    onset = onset_segment[rec]
    share = np.where(onset[:, None] > 0, onset_share(onset, n_seg), 0.0)
    sub = _subset(iv, rec)
    after = _interval_means(sub, share, length_km[rec])  # (record, interval)
    # columns: bands 1.. (band 0 is absorbed by the record's level), then the post-onset share
    x = np.concatenate([sub.profile_x[..., 1:], after[..., None]], axis=-1)
    w = np.where(sub.valid, sub.length_km, 0.0)
    y = np.nan_to_num(sub.ln_pace)
    y_within = y - _weighted_mean(y, w)[:, None]
    x_within = x - _weighted_mean(x, w[..., None])[:, None, :]
    root = np.sqrt(w)[sub.valid]
    design = x_within[sub.valid] * root[:, None]
    if np.sum(design[:, -1] ** 2) < 1e-9 or sub.valid.sum() <= len(rec) + design.shape[1]:
        return None
    coef, *_ = np.linalg.lstsq(design, y_within[sub.valid] * root, rcond=None)
    profile, slowdown = np.r_[0.0, coef[:-1]], float(coef[-1])
    residual = y - sub.profile_x @ profile - slowdown * after
    change, pair, scale = _changes(residual, sub)
    spread = 1.4826 * np.median(np.abs(change[pair] / scale[pair]))
    model = SplitModel(slowdown, max(float(spread), SPLIT_SD_FLOOR), profile, len(rec),
                       int(sub.valid.sum()))
    return _choose_drift_sd(model, iv, usable, onset_segment, length_km)


def _choose_drift_sd(model: SplitModel, iv: Intervals, status_known: np.ndarray,
                     onset_segment: np.ndarray, length_km: np.ndarray) -> SplitModel:
    """The drift SD from DRIFT_SD_GRID that best locates the known onsets when they are treated
    as unknown: the highest mean ln(normalised weight) of the true segment (a proper score, so
    neither over- nor under-confident weights win), each candidate with its own fade fitted to
    the records `status_known` (`_fit_fades`). Known onsets are a random-enough sample of all
    onsets for this: whether an onset km was recorded does not depend on the pace."""
    known_onset = status_known[onset_segment[status_known] > 0]
    rows = _spread(known_onset, DRIFT_SELECTION_RECORDS)
    fade_rows = _spread(status_known, DRIFT_SELECTION_RECORDS)
    fades = _fit_fades(iv, model, fade_rows, onset_segment, length_km)
    scores = _onset_log_scores(iv, model, fades, rows, onset_segment[rows] - 1, length_km)
    best = None
    for drift, fade, score in zip(DRIFT_SD_GRID, fades, scores, strict=True):
        if best is None or score > best.onset_log_score:
            best = replace(model, drift_sd_ln_pace=float(drift), fade=fade, onset_log_score=score)
    return best


def _spread(rows: np.ndarray, at_most: int) -> np.ndarray:
    """At most `at_most` of `rows`, evenly spread (a fixed, pace-blind subsample)."""
    return rows[np.linspace(0, len(rows) - 1, min(len(rows), at_most)).astype(int)]


def _blocks(iv: Intervals, rows: np.ndarray, length_km: np.ndarray):
    """`rows` in blocks of at most RECORD_CHUNK: (the block's slice of `rows`, its records, their
    intervals, the onset hypotheses' regressors (record, t, interval))."""
    n_seg = length_km.shape[1]
    hypotheses = onset_share(np.arange(1, n_seg + 1), n_seg)  # (t, segment)
    for lo in range(0, len(rows), RECORD_CHUNK):
        rec = rows[lo : lo + RECORD_CHUNK]
        sub = _subset(iv, rec)
        after = _interval_means(sub, hypotheses, length_km[rec], per_hypothesis=True)
        yield slice(lo, lo + len(rec)), rec, sub, np.transpose(after, (1, 0, 2))


def _fit_fades(iv: Intervals, model: SplitModel, rows: np.ndarray, onset_segment: np.ndarray,
               length_km: np.ndarray) -> list[Fade]:
    """For each drift SD of DRIFT_SD_GRID, the fade of highest marginal likelihood of the
    records `rows` (onset status known: onset segment, or 0 for no cramp) under `model`'s
    profile and slowdown; EM from scratch at the first drift, then from the neighbouring
    drift's fade (fewer iterations). Each block's regressors are made once for all drifts."""
    n_seg = length_km.shape[1]
    u = np.empty((len(DRIFT_SD_GRID), len(rows), n_seg))
    q_ss = np.empty_like(u)
    for block, rec, sub, after in _blocks(iv, rows, length_km):
        onset = onset_segment[rec]
        known = np.where(onset[:, None] > 0, onset_share(onset, n_seg), 0.0)
        z = _profile_residual(sub, model) - model.slowdown_ln_pace * _interval_means(
            sub, known, length_km[rec])
        system = step_system(z, sub.valid, sub.length_km, after, model.split_sd_ln_pace)
        for i, drift in enumerate(DRIFT_SD_GRID):
            u[i, block], q_ss[i, block] = system.projections(float(drift), full=False)
    position = iv.fade_positions[rows]
    fades = [fit_fade(u[0], q_ss[0], position)]
    for i in range(1, len(DRIFT_SD_GRID)):
        fades.append(fit_fade(u[i], q_ss[i], position, fades[-1], FADE_EM_WARM_ITERATIONS))
    return fades


def _onset_log_scores(iv: Intervals, model: SplitModel, fades: list[Fade], rows: np.ndarray,
                      truth: np.ndarray, length_km: np.ndarray) -> list[float]:
    """For each drift SD of DRIFT_SD_GRID with its fade (`fades`), the mean ln(normalised
    weight) of the true onset segment `truth` (0-based) of the records `rows`."""
    values = np.empty((len(DRIFT_SD_GRID), len(rows)))
    for block, rec, sub, after in _blocks(iv, rows, length_km):
        system = step_system(_profile_residual(sub, model), sub.valid, sub.length_km, after,
                             model.split_sd_ln_pace)
        for i, (drift, fade) in enumerate(zip(DRIFT_SD_GRID, fades, strict=True)):
            candidate = replace(model, drift_sd_ln_pace=float(drift), fade=fade)
            log_w = _block_log_weights(system, sub, candidate, length_km[rec] > 0)
            norm = log_w - np.log(np.exp(log_w).sum(axis=1, keepdims=True))
            values[i, block] = norm[np.arange(len(rec)), truth[block]]
    return [float(v.mean()) for v in values]


def _profile_residual(sub: Intervals, model: SplitModel) -> np.ndarray:
    """(record, interval) ln pace minus the population profile; 0 where empty."""
    return np.where(sub.valid, np.nan_to_num(sub.ln_pace) - sub.profile_x @ model.profile_ln_pace,
                    0.0)


def _subset(iv: Intervals, rec: np.ndarray) -> Intervals:
    return Intervals(iv.index[rec], iv.length_km[rec], iv.ln_pace[rec], iv.profile_x[rec],
                     iv.valid[rec], iv.fade_positions[rec])


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean over axis 1 (intervals) weighted by `weights`."""
    return np.sum(values * weights, axis=1) / np.maximum(np.sum(weights, axis=1), 1e-300)


def _changes(values: np.ndarray, iv: Intervals):
    """Change of `values` (..., interval) from each interval to the next, whether both are
    valid, and the change's SD in units of the 1 km split SD: sqrt(1/L_k + 1/L_k-1)."""
    pair = iv.valid[:, 1:] & iv.valid[:, :-1]
    with np.errstate(divide="ignore"):
        scale = np.sqrt(1.0 / iv.length_km[:, 1:] + 1.0 / iv.length_km[:, :-1])
    return values[..., 1:] - values[..., :-1], pair, np.where(pair, scale, 1.0)


def onset_log_weights(
    iv: Intervals, model: SplitModel | None, onset_unknown: np.ndarray, length_km: np.ndarray
) -> np.ndarray:
    """ln w_t (record, segment): how well each onset segment t explains a record's splits,
    maximum 0 per record; 0 everywhere except for cramps of unknown onset (`onset_unknown`) with
    two or more intervals, and UNREACHABLE_LOG_WEIGHT past the km reached."""
    log_w = np.where(length_km > 0, 0.0, UNREACHABLE_LOG_WEIGHT)
    if model is None:
        return log_w
    located = np.flatnonzero(onset_unknown & (iv.n_valid >= 2))
    log_w[located] = _located_log_weights(iv, model, located, length_km)
    return log_w


def _located_log_weights(iv: Intervals, model: SplitModel, rows: np.ndarray,
                         length_km: np.ndarray) -> np.ndarray:
    """ln w_t (row, segment) of the records `rows`, maximum 0, under the local-level model."""
    out = np.empty((len(rows), length_km.shape[1]))
    for block, rec, sub, after in _blocks(iv, rows, length_km):
        system = step_system(_profile_residual(sub, model), sub.valid, sub.length_km, after,
                             model.split_sd_ln_pace)
        out[block] = _block_log_weights(system, sub, model, length_km[rec] > 0)
    return out


def _block_log_weights(system: StepSystem, sub: Intervals, model: SplitModel,
                       reached: np.ndarray) -> np.ndarray:
    """ln w_t (record, segment) of one block's records, maximum 0, floored at
    UNREACHABLE_LOG_WEIGHT (so past the km `reached`)."""
    q, big_q = system.projections(model.drift_sd_ln_pace)
    ll = np.where(reached, onset_log_lik(q, big_q, model.slowdown_ln_pace, sub.fade_positions,
                                         model.fade), -np.inf)
    return np.maximum(ll - ll.max(axis=1, keepdims=True), UNREACHABLE_LOG_WEIGHT)


def summary(n_unknown: int, n_located: int, attrs: dict) -> str:
    """One line for a fit's log: how the cramps of unknown onset entered the likelihood."""
    if n_unknown == 0:
        return "cramps of unknown onset: none"
    line = f"cramps of unknown onset: {n_unknown}, located by their splits: {n_located}"
    slowdown = attrs.get("onset_slowdown_ln_pace")
    if isinstance(slowdown, float):
        return (f"{line} (pace after a cramp {np.expm1(slowdown):+.1%}, split-to-split SD "
                f"{attrs['split_sd_ln_pace_per_km']:.1%} per km, drift "
                f"{attrs['split_drift_sd_ln_pace_per_sqrt_km']:.1%} per sqrt(km), another pace "
                f"step (a fast start paid back, the wall) in {attrs['split_fade_probability']:.0%}"
                f" of runner-races, of {np.expm1(attrs['split_fade_mean_ln_pace']):+.1%} (SD "
                f"{attrs['split_fade_sd_ln_pace']:.1%}); from {attrs['split_model_records']} "
                "records of known onset status)")
    return f"{line} (no known onset with splits to learn the slowdown from: onset uniform)"


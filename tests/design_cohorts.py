"""Cohorts of realistic study designs, drawn from design.md's definitions alone.

Written independently of the project's generator (model/validation/synth.py) and of its model
code: a plain loop over kilometres, vectorised over runner-races, that applies the hazard as
design.md states it, and writes race records (and splits) as a researcher's CSV would hold them.
The project reads them through its own loader, so its features, likelihood and sampler are checked
against data they did not make.

The design dimensions are those of real studies: one race (a cohort study) to a hundred (a
registry); every runner seen once or several times; per-km splits or none; WBGT constant per race
(one value per race day, as most studies record it) or per runner-race (waves, finish times);
CK measured for most runners or for few; onset km recorded for most cramps or for few.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MARATHON = 42.195
HALF_MARATHON = 21.0975

TRUTH = {
    "log_hazard_per_km": -6.6,
    "distance_shape": 1.3,
    "beta": {"relative_pace": 0.7, "excess_distance": 0.4, "muscle_damage": 0.4, "taper": -0.25,
             "heat": 0.15, "cramp_history": 0.9},
    "runner_sd": 0.5,
    "race_sd": 0.25,
    "ck_log_mean": 4.4,
    "ck_log_sd": 0.6,
    "ck_taper_effect": -0.15,
}


@dataclass(frozen=True)
class Design:
    """One study design. `races_per_runner` 1 is a cohort where every runner is seen once."""

    n_races: int
    n_records: int
    races_per_runner: int = 1
    splits: bool = False
    heat: str = "per_race"  # or "per_record"
    ck_measured_share: float = 0.7
    onset_known_share: float = 0.7
    distance_km: float = MARATHON
    #: speed after a cramp, relative to before. Without splits the project reads pace from the
    #: finish time, which then includes this slowdown (see `draw_cohort`)
    speed_after_cramp: float | None = None
    #: timing mats at these km only (any km, e.g. (28.0,) on a 56 km race) instead of every km;
    #: implies splits
    split_marks_km: tuple[float, ...] | None = None
    #: everyone's natural late-race fade besides a cramp's slowdown: speed falls linearly from
    #: half distance by about this share at the finish (0.5x to 1.5x of it per runner)
    late_fade: float = 0.0
    truth: dict = field(default_factory=lambda: TRUTH)

    @property
    def has_splits(self) -> bool:
        return self.splits or self.split_marks_km is not None

    @property
    def label(self) -> str:
        marks = ("" if self.split_marks_km is None
                 else "@" + "+".join(f"{km:g}" for km in self.split_marks_km))
        fade = f"-fade{round(100 * self.late_fade)}" if self.late_fade else ""
        return (f"{self.n_races}r-{self.n_records}n-{self.races_per_runner}x"
                f"-{'splits' + marks if self.has_splits else 'nosplits'}-heat_{self.heat}"
                f"-ck{round(100 * self.ck_measured_share)}{fade}")


def draw_cohort(design: Design, seed: int) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Race records (and per-km splits if the design has them) for `design`."""
    rng = np.random.default_rng(seed)
    truth = design.truth
    beta = truth["beta"]
    n = design.n_records
    n_runners = max(1, n // design.races_per_runner)
    runner = np.arange(n) % n_runners
    race = _races_of(runner, design, rng)
    race_wbgt = rng.uniform(6.0, 27.0, design.n_races)
    wbgt = race_wbgt[race]
    if design.heat == "per_record":
        wbgt = wbgt + rng.normal(0.0, 2.5, n)  # start waves and time on course
    race_effect = rng.normal(0.0, truth["race_sd"], design.n_races)
    runner_effect = rng.normal(0.0, truth["runner_sd"], n_runners)
    marathon_s = np.exp(rng.normal(np.log(4 * 3600), 0.17, n_runners))
    ref_time = marathon_s[runner] * (HALF_MARATHON / MARATHON) ** 1.06
    ref_time = ref_time * np.exp(rng.normal(0.0, 0.03, n))
    distance = np.full(n, design.distance_km)
    ability_s = ref_time * (distance / HALF_MARATHON) ** 1.06
    longest = np.clip(rng.normal(30.0, 5.0, n), 12.0, None)
    taper_days = rng.integers(3, 22, n).astype(float)
    history = (rng.random(n_runners) < 0.3)[runner]
    log_ck = rng.normal(truth["ck_log_mean"] + truth["ck_taper_effect"] * (taper_days - 7) / 7,
                        truth["ck_log_sd"])
    # planned speed relative to ability: some go out too fast and fade
    overall = rng.normal(-0.01, 0.05, n)
    fast_start = np.where(rng.random(n) < 0.4, rng.uniform(0.03, 0.10, n), 0.0)

    record_eta = (truth["log_hazard_per_km"] + race_effect[race] + runner_effect[runner]
                  + beta["muscle_damage"] * (log_ck - np.log(70)) / np.log(2)
                  + beta["taper"] * (taper_days - 7) / 7
                  + beta["heat"] * (wbgt - 15) / 5
                  + beta["cramp_history"] * history)
    # With splits, the slowdown after a cramp is what locates an unknown onset. Without splits a
    # study has only the finish time, from which the project reads the pace of the whole race:
    # a slowdown after the cramp would then look like slower pacing of the runners who cramped
    # (an outcome leaking into a cause). The default keeps it out of split-less designs so that
    # they test the sampler; `speed_after_cramp` sets it explicitly to test that bias.
    slowdown = design.speed_after_cramp or (0.85 if design.has_splits else 1.0)
    # drawn only for designs with a fade, so that the other designs' draws stay as they were
    fade = design.late_fade * rng.uniform(0.5, 1.5, n) if design.late_fade else np.zeros(n)
    n_km = int(np.ceil(distance.max() - 1e-9))
    elapsed = np.zeros((n, n_km + 1))
    cramp_km = np.full(n, np.nan)
    for k in range(n_km):
        start = float(k)
        length = np.clip(distance - start, 0.0, 1.0)
        running = length > 0
        mid = start + length / 2
        so_far = elapsed[:, k]
        # relative pace over the race so far, 10% units (design.md): ability's time for the km
        # covered over the time taken; on ability in the first km
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(so_far > 0, ability_s * start / distance / so_far, 1.0)
        eta = (record_eta + truth["distance_shape"] * np.log(np.maximum(mid, 0.05) / 10)
               + np.log(np.where(running, length, 1.0))
               + beta["relative_pace"] * (ratio - 1) / 0.1
               + beta["excess_distance"] * np.maximum(0.0, mid - longest) / 10)
        at_risk = running & np.isnan(cramp_km)
        hit = at_risk & (rng.random(n) < -np.expm1(-np.exp(eta)))
        cramp_km[hit] = start + rng.random(hit.sum()) * length[hit]
        speed = 1 + overall + np.where(start < 0.4 * distance, fast_start,
                                       -fast_start * 0.4 / 0.6)
        speed = speed * np.exp(rng.normal(0.0, 0.03, n))
        speed = speed * (1 - fade * np.clip(mid / distance * 2 - 1, 0.0, 1.0))
        # after a cramp the runner slows (what locates an onset from the splits)
        speed = np.where(np.isfinite(cramp_km) & ~hit, speed * slowdown, speed)
        elapsed[:, k + 1] = so_far + np.where(running, ability_s / distance * length / speed, 0)
    race_time = elapsed[np.arange(n), np.ceil(distance - 1e-9).astype(int)]
    cramped = np.isfinite(cramp_km)
    measured = rng.random(n) < design.ck_measured_share
    known = rng.random(n) < design.onset_known_share
    records = pd.DataFrame({
        "runner_id": [f"r{i}" for i in runner],
        "race_id": [f"race{j}" for j in race],
        "distance_km": distance,
        "race_time_s": race_time.round(1),
        "ref_distance_km": HALF_MARATHON,
        "ref_time_s": ref_time.round(1),
        "longest_run_km": longest.round(1),
        "cramped": cramped.astype(int),
        "cramp_km": np.where(cramped & known, cramp_km.round(2), np.nan),
        "ck_pre_u_per_l": np.where(measured, np.exp(log_ck).round(1), np.nan),
        "taper_days": taper_days,
        "wbgt_c": wbgt.round(2),
        "cramp_history": history.astype(int),
    })
    if not design.has_splits:
        return records, None
    if design.split_marks_km is None:
        km = np.arange(1, n_km)
        inside = km[None, :] < distance[:, None]
        rows, cols = np.nonzero(inside)
        marks_km, marks_s = km[cols].astype(float), elapsed[rows, km[cols]]
    else:
        marks_km, marks_s, rows = _timing_mats(design.split_marks_km, elapsed, distance)
    splits = pd.DataFrame({
        "runner_id": records["runner_id"].to_numpy()[rows],
        "race_id": records["race_id"].to_numpy()[rows],
        "km": marks_km,
        "elapsed_s": marks_s.round(1),
    })
    return records, splits


def _timing_mats(marks_km: tuple[float, ...], elapsed: np.ndarray, distance: np.ndarray):
    """Elapsed time at each mat before the finish: the pace is even within each km of the loop
    above, so the time at a mat inside km k is linear between the times at its ends."""
    kms, times, rows = [], [], []
    for mat_km in marks_km:
        k = int(np.floor(mat_km))
        before = np.flatnonzero(mat_km < distance)
        length = np.minimum(distance[before], k + 1) - k
        share = (mat_km - k) / length
        kms.append(np.full(len(before), float(mat_km)))
        times.append(elapsed[before, k] + share * (elapsed[before, k + 1] - elapsed[before, k]))
        rows.append(before)
    return np.concatenate(kms), np.concatenate(times), np.concatenate(rows)


def _races_of(runner: np.ndarray, design: Design, rng: np.random.Generator) -> np.ndarray:
    """Each runner's races are distinct where the design has enough races."""
    n_races = design.n_races
    first = rng.integers(0, n_races, runner.max() + 1)
    visit = np.arange(len(runner)) // (runner.max() + 1)
    return (first[runner] + visit) % n_races


def flat_truth(truth: dict) -> dict:
    """The truth as the posterior names it: beta as a list in the project's factor order."""
    from model.hazard.specification import FACTORS

    out = {k: v for k, v in truth.items() if k != "beta"}
    out["beta"] = [truth["beta"][f] for f in FACTORS]
    return out

"""The notes that come with validated race records: what is assumed where a factor is absent,
what rows without a longest run and post-race cramps mean, and the pace bias of cramped runners
without splits. Each is one line for `cramp check` and `cramp fit` to print."""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.hazard.specification import REGISTRY


def pace_notes(table: pd.DataFrame, splits: pd.DataFrame | None) -> list[str]:
    """Cramped runners without splits: their pace before the cramp is read from the finish
    time, which includes the slowdown after it, so they look slower than they ran and the pace
    effect is pulled towards zero or below (in a cohort drawn with a 15% slowdown after a cramp,
    tests/design_cohorts.py, relative_pace came out -0.75 for a true +0.7)."""
    cramped = table["cramped"].to_numpy(float) == 1
    if splits is not None and not splits.empty:
        keys = pd.MultiIndex.from_frame(splits[["runner_id", "race_id"]].astype(str))
        has = pd.MultiIndex.from_frame(table[["runner_id", "race_id"]].astype(str)).isin(keys)
        cramped &= ~np.asarray(has)
    n = int(cramped.sum())
    if n == 0:
        return []
    return [f"{n} runner-race(s) with a cramp have no splits: their pace is read from the finish "
            "time, which includes the slowdown after the cramp, so the relative_pace effect is "
            "biased towards zero or below; splits (per-km elapsed times) avoid this"]


def missing_factor_notes(table: pd.DataFrame) -> list[str]:
    notes = []
    if {"wbgt_c", "temp_c", "rh_pct"} <= set(table.columns):
        both = int((table["wbgt_c"].notna() & table["temp_c"].notna()
                    & table["rh_pct"].notna()).sum())
        if both:
            notes.append(f"{both} row(s) give both wbgt_c and temp_c + rh_pct: wbgt_c (measured)"
                         " is used; temp_c + rh_pct only where wbgt_c is missing")
    if not {"wbgt_c", "temp_c"} & set(table.columns):
        notes.append(
            "no weather columns (wbgt_c or temp_c + rh_pct): heat set to the reference "
            "15 degC WBGT; its coefficient stays at its prior"
        )
    if "taper_days" not in table.columns:
        notes.append(
            "no taper_days column: taper set to the reference 7 days; its coefficient "
            "stays at its prior"
        )
    if "cramp_history" not in table.columns:
        notes.append("no cramp_history column: every runner treated as without history")
    if "ck_pre_u_per_l" not in table.columns:
        notes.append("no ck_pre_u_per_l column: pre-race damage is latent for every runner")
    worded = {"taper_days", "cramp_history", "ck_pre_u_per_l"}  # said above in their words
    for f in REGISTRY.factors:
        if f.column and f.column not in worded and f.column not in table.columns:
            notes.append(f"no {f.column} column: {f.name} set to its value for a record "
                         f"without it ({f.column} {f.absent:g}); its coefficient stays at its "
                         "prior")
    return notes


def outcome_notes(table: pd.DataFrame) -> list[str]:
    """What the rows without a longest run and the post-race cramps mean for the model."""
    notes = []
    no_long_run = int(table["longest_run_km"].isna().sum())
    if no_long_run:
        notes.append(f"{no_long_run} row(s) without longest_run_km: their excess distance is "
                     "its expected value under the population's longest run for the race "
                     "distance (model/evidence/training_population.toml; regression "
                     "calibration, see model/hazard/features.py)")
    if "cramp_after_finish" in table.columns:
        after = int((table["cramp_after_finish"] == 1).sum())
        if after:
            notes.append(f"{after} runner-race(s) cramped only after the finish: counted as no "
                         "cramp during the race; the model predicts a first cramp during the "
                         "race")
    return notes

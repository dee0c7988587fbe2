"""The race-record columns of design.md (units in the names), named once for the loader and the
column map."""

from __future__ import annotations

# design.md's list, in its order; `longest_run_km` is in it but may be absent or blank
# (MAY_BE_MISSING): published cohorts often did not ask, and the features say how a missing
# longest run is treated
REQUIRED = (
    "runner_id",
    "race_id",
    "distance_km",
    "race_time_s",
    "ref_distance_km",
    "ref_time_s",
    "longest_run_km",
    "cramped",
)
MAY_BE_MISSING = ("longest_run_km",)
MUST_HAVE = tuple(c for c in REQUIRED if c not in MAY_BE_MISSING)
OPTIONAL_NUMERIC = (
    "cramp_km",
    "dnf_km",
    "ck_pre_u_per_l",
    "taper_days",
    "wbgt_c",
    "temp_c",
    "rh_pct",
    "start_hour",
    "cramp_history",
    "cramp_after_finish",
    "age",
)
OPTIONAL_TEXT = ("sex",)
RECORD_COLUMNS = REQUIRED + OPTIONAL_NUMERIC + OPTIONAL_TEXT
NUMERIC_COLUMNS = REQUIRED[2:] + OPTIONAL_NUMERIC

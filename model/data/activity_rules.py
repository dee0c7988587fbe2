"""Which activities a training log keeps: plausibility rules and duplicate matching.

Plausibility (each broken rule is reported with the figure that broke it):

- average speed (distance / moving time) between 1.5 and 25 km/h. 25 km/h is faster than the
  world-record pace for 3000 m (24.7 km/h) and every longer distance, so no training run is
  quicker; above it the file is a ride, a car or a GPS glitch. 1.5 km/h is below the moving speed
  of the steepest vertical-kilometre races (~2-4 km/h); below it the watch was left running.
  Walking speeds (3-6 km/h) pass: a walk is told apart by its sport, not its speed.
- at least 2 min of moving time and at least 0.1 km (a watch started by mistake, a 0 km manual
  entry);
- a start from 2000-01-01 to now (FIT clocks that were never set give 1990; 1901 is a GPX with
  its time zeroed; a date in the future is a wrong clock);
- a GPX/TCX track with at least 10 timed points (a few stray timestamps on an untimed track give
  "4.7 km in 57 s").

Duplicates: the same run exported twice (FIT and GPX, or a file and a summary CSV row) starts
within 2 min and has a distance within 3%. Rows are sorted by start time and each is compared
with the kept rows that start less than 2 min before it, so matching is O(n log n), not O(n^2).
The richer export is kept (FIT, then TCX, then GPX, then CSV).
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from model.data.activity_formats import PREFERENCE, Activity, LeftOut

MIN_KMH, MAX_KMH = 1.5, 25.0
MIN_MOVING_S, MIN_KM = 120.0, 0.1
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
MIN_TIMED_POINTS = 10
DUPLICATE_WINDOW_S = 120.0  # same start within 2 min ...
DUPLICATE_DISTANCE_FRACTION = 0.03  # ... and distance within 3%: the same run exported twice


def implausible(a: Activity, now: dt.datetime) -> str | None:
    """Why activity `a` cannot be a real run recorded by `now` (UTC), or None."""
    if a.start_utc is not None and a.start_utc < EARLIEST:
        return (f"dated {a.start_utc:%Y-%m-%d}, before 2000: the device clock was not set"
                if a.start_utc.year >= 1989 else f"dated {a.start_utc:%Y-%m-%d}, before 2000")
    if a.start_utc is not None and a.start_utc > now + dt.timedelta(days=1):
        return f"dated {a.start_utc:%Y-%m-%d}, in the future"
    if a.timed_points is not None and a.timed_points < MIN_TIMED_POINTS:
        return f"only {a.timed_points} timed track points (at least {MIN_TIMED_POINTS} needed)"
    if not (a.distance_km >= MIN_KM):
        return f"{a.distance_km:.2f} km (at least {MIN_KM} km needed)"
    if not (a.moving_s >= MIN_MOVING_S):
        return f"{a.moving_s:.0f} s of moving time (at least {MIN_MOVING_S / 60:.0f} min needed)"
    kmh = a.distance_km / (a.moving_s / 3600.0)
    if not MIN_KMH <= kmh <= MAX_KMH:
        return (f"{kmh:.1f} km/h average ({a.distance_km:.2f} km in {a.moving_s:.0f} s); a run is "
                f"{MIN_KMH:g}-{MAX_KMH:g} km/h")
    return None


def drop_duplicates(table: pd.DataFrame) -> tuple[pd.DataFrame, list[LeftOut]]:
    """`table` (start_utc, distance_km, fmt, source) without the second copy of any run."""
    order = table.assign(_pref=table["fmt"].map(PREFERENCE)).sort_values(
        ["start_utc", "_pref"], kind="stable")
    starts = [t.timestamp() if not pd.isna(t) else math.nan for t in order["start_utc"]]
    km = order["distance_km"].tolist()
    sources = order["source"].tolist()
    kept: list[int] = []  # positions in `order`, by start time
    first_in_window = 0
    dropped: list[LeftOut] = []
    keep_mask = [False] * len(order)
    for i in range(len(order)):
        if math.isnan(starts[i]):  # a CSV date without a time: nothing to match on
            keep_mask[i] = True
            continue
        while first_in_window < len(kept) and \
                starts[i] - starts[kept[first_in_window]] > DUPLICATE_WINDOW_S:
            first_in_window += 1
        twin = next((k for k in kept[first_in_window:]
                     if abs(km[i] - km[k]) <= DUPLICATE_DISTANCE_FRACTION * km[k]), None)
        if twin is None:
            kept.append(i)
            keep_mask[i] = True
        else:
            dropped.append(LeftOut(sources[i], "duplicate",
                                   f"of {sources[twin]}: same start and distance"))
    return order[keep_mask].drop(columns="_pref"), dropped

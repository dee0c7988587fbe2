"""What a cohort's splits hold (data for `cramp check` to print): how many records have splits,
how many marks each, and at which km the marks sit. Between marks the features interpolate
elapsed time; before the first mark and after the last, pace comes from the next known time
(the finish time after the last mark), so a sparse mark tells the pace so far at that km only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.data.records import RaceRecords

SPARSE_MARKS = 10  # at most this many distinct mark positions are listed by km


@dataclass(frozen=True)
class SplitSummary:
    """Splits per runner-race. `marks_*` count the marks of the records that have any;
    `mark_km` maps each mark's km to the number of records with a mark there, when the cohort
    has at most SPARSE_MARKS distinct positions (None otherwise: per-km splits)."""

    n_records: int
    n_with_splits: int
    marks_min: int
    marks_median: float
    marks_max: int
    mark_km: dict[float, int] | None

    @property
    def none(self) -> bool:
        return self.n_with_splits == 0


def summarise_splits(records: RaceRecords) -> SplitSummary:
    """Counts of the splits of validated `records` (model/data/records.py)."""
    n = len(records.table)
    splits = records.splits
    if splits is None or splits.empty:
        return SplitSummary(n, 0, 0, 0.0, 0, None)
    per_record = splits.groupby(["runner_id", "race_id"]).size().to_numpy()
    positions = pd.Series(np.rint(splits["km"].to_numpy(float) * 1e4) / 1e4)
    counts = positions.value_counts().sort_index()
    mark_km = ({float(k): int(v) for k, v in counts.items()}
               if len(counts) <= SPARSE_MARKS else None)
    return SplitSummary(n, len(per_record), int(per_record.min()),
                        float(np.median(per_record)), int(per_record.max()), mark_km)

"""Wide splits: one column per timing mat (`split_28km`, `split_10km_s`: the elapsed time at that
km, seconds or h:mm:ss), in the race records or in a splits file, turned into the long format
(runner_id, race_id, km, elapsed_s) that model/data/splits.py checks. A missing cell is no mark
for that runner (sparse splits are normal in studies); each long row keeps the place it came
from, so a problem names the file, row and wide column the user wrote."""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.data.cell_formats import missing_mask, wide_split_km
from model.errors import InputError


def wide_columns(table: pd.DataFrame) -> list[str]:
    """The wide split columns of `table`, in file order."""
    return [c for c in table.columns if wide_split_km(str(c)) is not None]


def wide_to_long(label: str, table: pd.DataFrame, extra_missing: tuple[str, ...] = ()
                 ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(`table` without its wide split columns, their given cells as long splits with columns
    runner_id, race_id, km, elapsed_s (text), `row` (the table's row, from 1) and `place` (for
    messages); None when there are no wide columns)."""
    wide = wide_columns(table)
    if not wide:
        return table, None
    kms = [wide_split_km(c) for c in wide]
    if len(set(kms)) < len(kms):
        twice = sorted({c for c, k in zip(wide, kms, strict=True) if kms.count(k) > 1})
        raise InputError(f"{label}: wide split columns {', '.join(twice)} name the same km "
                         "(one column per timing mat)")
    n, k = len(table), len(wide)
    cells = table[wide].to_numpy(dtype=object).ravel()
    rows = np.repeat(np.arange(1, n + 1), k)
    names = np.tile(np.asarray(wide, dtype=object), n)
    long = pd.DataFrame({
        "runner_id": np.repeat(table["runner_id"].to_numpy(dtype=object), k),
        "race_id": np.repeat(table["race_id"].to_numpy(dtype=object), k),
        "km": np.tile(np.asarray([repr(km) for km in kms], dtype=object), n),
        "elapsed_s": cells,
        "row": rows,
        "place": pd.Series(rows).astype(str).radd(f"{label}: row ") + ", column " + names,
    })
    given = ~missing_mask(long["elapsed_s"], extra_missing)
    return table.drop(columns=wide), long[given.to_numpy()].reset_index(drop=True)

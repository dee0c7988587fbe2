"""The comparison in a coach's words: the plans' table with readable headers and units, each
figure with its 95% interval in words, the "baseline" plan called "as planned". Shared by the web
page, the coach's report and the numeric CSV download."""

from __future__ import annotations

import pandas as pd

#: the API table's columns -> headers a coach reads (units in brackets); CSV download
READABLE = {
    "changes": "what changes",
    "risk mean [%]": "risk of a cramp [%]",
    "risk lo [%]": "risk of a cramp, 95% interval from [%]",
    "risk hi [%]": "risk of a cramp, 95% interval to [%]",
    "risk_difference mean [pts]": "change in risk vs as planned [% points]",
    "risk_difference lo [pts]": "change in risk, 95% interval from [% points]",
    "risk_difference hi [pts]": "change in risk, 95% interval to [% points]",
    "relative_risk mean": "risk relative to as planned [x]",
    "relative_risk lo": "risk relative, 95% interval from [x]",
    "relative_risk hi": "risk relative, 95% interval to [x]",
    "P(helps)": "chance the change lowers the risk [0-1]",
    "NNT": "runners changing plan per cramp avoided (NNT)",
    "planned time delta [min]": "planned finish time vs as planned [min]",
    "expected_finish_time_delta_s mean [min]": "expected finish incl. cramps vs as planned [min]",
    "expected_finish_time_delta_s lo [min]": "expected finish, 95% interval from [min]",
    "expected_finish_time_delta_s hi [min]": "expected finish, 95% interval to [min]",
    "median onset [km]": "cramps start, median [km]",
}
AS_PLANNED = "as planned"  # the API's "baseline" plan, in a coach's words


def readable_table(table: pd.DataFrame, comparison: dict) -> pd.DataFrame:
    """The comparison as a coach reads it: one row per plan, each figure with its 95% interval
    in words and its unit in the header; the NNT only where the benefit is clear (its
    interval excludes no effect), as the conclusions say it."""
    nnts = {row["name"]: row["nnt"] for row in comparison["interventions"]}

    def span(row, key: str, unit: str, signed: bool) -> str:
        fmt = "{:+.1f}" if signed else "{:.0f}"
        mean, lo, hi = (row[f"{key} {p} [{unit}]"] for p in ("mean", "lo", "hi"))
        return f"{fmt.format(mean)} ({fmt.format(lo)} to {fmt.format(hi)})"

    rows = []
    for plan, row in table.iterrows():
        base = plan == "baseline"
        nnt = nnts[plan] or {}
        rows.append({
            "plan": plan_label(str(plan)),
            # the form names a plan by its change; only a combination needs the list
            "what changes": "" if row["changes"] == plan or base else row["changes"],
            "risk of a cramp [%]": span(row, "risk", "%", False),
            "change in risk [% points]": "" if base else
            span(row, "risk_difference", "pts", True),
            "chance it lowers the risk": "" if base else f"{row['P(helps)']:.0%}",
            "planned time [min]": "" if base else f"{row['planned time delta [min]']:+.1f}",
            "expected finish incl. cramps [min]": "" if base else
            span(row, "expected_finish_time_delta_s", "min", True),
            "runners per cramp avoided": f"{nnt['mean']:.0f}"
            if nnt.get("kind") == "benefit" and nnt.get("mean") else "",
            "cramps start, median [km]": f"{row['median onset [km]']:.0f}",
        })
    shown = pd.DataFrame(rows).set_index("plan")
    # the plans' names say what changes; an NNT only where a benefit is clear
    empty = [c for c in ("what changes", "runners per cramp avoided") if not shown[c].any()]
    shown = shown.drop(columns=empty)
    return shown


def readable_numbers(table: pd.DataFrame) -> pd.DataFrame:
    """The numeric comparison with readable headers (units in brackets), plans as rows."""
    return table.rename(columns=READABLE, index={"baseline": AS_PLANNED}).rename_axis("plan")


def plan_label(name: str) -> str:
    return AS_PLANNED if name == "baseline" else name

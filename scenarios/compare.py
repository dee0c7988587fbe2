"""Compare interventions from a simulation result: risk, risk difference, relative risk, number
needed to treat, probability of helping, time cost and expected finishing time, each with an
equal-tailed credible interval over the parameter draws; and curves along the course.

Paired comparisons use the same draw under each intervention (common random numbers: the same
parameters, runners and, for a field, the same race day), so their intervals reflect parameter
uncertainty and, for a field, the unknown conditions of the race day (what a field's figures
mean: scenarios/simulate.py), not Monte Carlo noise from the population.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from model.conventions import INTERVAL_KIND, INTERVAL_PROB

ONSET_QUANTILES = (0.10, 0.25, 0.50, 0.75, 0.90)


def interval(x: xr.DataArray, prob: float = INTERVAL_PROB) -> dict[str, float]:
    """Posterior mean and equal-tailed interval over `draw`."""
    lo, hi = np.quantile(x.to_numpy(), [(1 - prob) / 2, (1 + prob) / 2])
    return {"mean": float(x.mean()), "lo": float(lo), "hi": float(hi)}


def onset_probability(result: xr.Dataset) -> xr.DataArray:
    """P(first cramp in each segment), runner average, per draw: S(s-1) - S(s)."""
    survival = result["survival"]
    before = survival.shift(segment=1, fill_value=1.0)
    return before - survival


def course_curves(result: xr.Dataset) -> xr.Dataset:
    """Along the course, per intervention and draw: the share of cramps starting per km and the
    field's hazard per km (cramps per km among runners still without one)."""
    length = result["segment_end_km"] - result["segment_start_km"]
    onset = onset_probability(result)
    before = result["survival"].shift(segment=1, fill_value=1.0)
    return xr.Dataset({
        "onset_share_per_km": onset / result["risk"] / length,
        "hazard_per_km": -np.log(result["survival"] / before) / length,
        "segment_mid_km": 0.5 * (result["segment_start_km"] + result["segment_end_km"]),
    })


def onset_lines(result: xr.Dataset, curves: xr.Dataset | None = None) -> dict[str, object]:
    """What `scenarios.plots.draw_onset` draws, as plain arrays: km (segment midpoints), each
    plan's mean share of cramps starting per km [%], and the baseline's hazard per 1000 runners
    per km (mean and interval). `curves`: `course_curves(result)` when the caller has it."""
    curves = course_curves(result) if curves is None else curves
    share = curves["onset_share_per_km"].mean("draw")
    hazard = curves["hazard_per_km"].sel(intervention="baseline")
    lo, hi = hazard.quantile([(1 - INTERVAL_PROB) / 2, (1 + INTERVAL_PROB) / 2], "draw").to_numpy()
    return {
        "km": curves["segment_mid_km"].to_numpy(),
        "plans": [str(name) for name in result["intervention"].to_numpy()],
        "share_pct": {str(name): 100 * share.sel(intervention=name).to_numpy()
                      for name in result["intervention"].to_numpy()},
        "hazard_per_1000": {"lo": 1000 * lo, "mean": 1000 * hazard.mean("draw").to_numpy(),
                            "hi": 1000 * hi},
    }


def onset_quantiles_km(result: xr.Dataset) -> dict[str, dict[str, float]]:
    """Per intervention, quantiles of the onset km among runners who cramp, over the field and
    the draws (onsets spread evenly within a segment)."""
    onset = onset_probability(result).mean("draw").transpose("intervention", "segment")
    per_segment = onset.to_numpy()
    cdf = np.concatenate([np.zeros((len(per_segment), 1)), np.cumsum(per_segment, axis=1)],
                         axis=1) / per_segment.sum(axis=1, keepdims=True)
    km = np.concatenate([result["segment_start_km"].to_numpy()[:1],
                         result["segment_end_km"].to_numpy()])
    return {str(name): {f"q{round(q * 100)}": float(np.interp(q, row, km))
                        for q in ONSET_QUANTILES}
            for name, row in zip(onset["intervention"].to_numpy(), cdf, strict=True)}


def nnt(risk_difference: xr.DataArray, prob: float = INTERVAL_PROB) -> dict:
    """Number needed to treat to prevent one cramp, 1 / absolute risk reduction (Altman 1998):
    negative values are a number needed to harm. The interval is the inverted interval of the
    risk reduction; when that interval includes no effect the NNT interval runs through infinity
    and its bounds are reported as None."""
    reduction = -risk_difference
    mean = float(reduction.mean())
    lo, hi = np.quantile(reduction.to_numpy(), [(1 - prob) / 2, (1 + prob) / 2])
    point = 1.0 / mean if mean != 0 else None
    if lo > 0 or hi < 0:
        return {"mean": point, "lo": float(1.0 / hi), "hi": float(1.0 / lo),
                "kind": "benefit" if lo > 0 else "harm"}
    return {"mean": point, "lo": None, "hi": None, "kind": "interval includes no effect"}


def comparison(result: xr.Dataset, prob: float = INTERVAL_PROB) -> dict:
    """The comparison table as a JSON-ready dict: ``interval`` (kind, prob) and
    ``interventions``, baseline first."""
    base = result.sel(intervention="baseline")
    expected = result["planned_finish_time_s"] + result["expected_time_lost_s"]
    onset_km = onset_quantiles_km(result)
    rows = []
    for name in result["intervention"].to_numpy():
        r = result.sel(intervention=name)
        is_base = name == "baseline"
        difference = r["risk"] - base["risk"]
        ratio = r["risk"] / base["risk"]
        expected_delta = expected.sel(intervention=name) - expected.sel(intervention="baseline")
        planned_delta = float(r["planned_finish_time_s"] - base["planned_finish_time_s"])
        rows.append({
            "name": str(name),
            "description": str(r["description"].item()),
            "risk": interval(r["risk"], prob),
            "risk_difference": interval(difference, prob),
            "relative_risk": interval(ratio, prob),
            "nnt": None if is_base else nnt(difference, prob),
            "p_better": None if is_base else float((difference < 0).mean()),
            "finish_time_delta_s": {"mean": planned_delta, "lo": planned_delta,
                                    "hi": planned_delta},
            "expected_time_lost_s": interval(r["expected_time_lost_s"], prob),
            "expected_finish_time_s": interval(expected.sel(intervention=name), prob),
            "expected_finish_time_delta_s": interval(expected_delta, prob),
            "p_faster_expected": None if is_base else float((expected_delta < 0).mean()),
            "onset_km": onset_km[str(name)],
        })
    table = {"interval": {"kind": INTERVAL_KIND, "prob": prob}, "interventions": rows,
             "field": "race_day_z" in result}  # a field's risk is one race day's incidence
    if "baseline_risk_without_history" in result:  # the runner's own past races were used
        without = result["baseline_risk_without_history"]
        table["history"] = {
            "past_races": int(result.attrs["past_races_count"]),
            "cramped": int(result.attrs["past_races_cramped"]),
            "risk_without_history": interval(without, prob),
            "risk_with_history": interval(base["risk"], prob),
            "risk_difference": interval(base["risk"] - without, prob)}
    return table


def course_table(result: xr.Dataset, prob: float = INTERVAL_PROB):
    """Per intervention and km: the share of cramps starting per km and the field's hazard per
    km, each as mean and equal-tailed interval over the draws (a long-format DataFrame)."""

    curves = course_curves(result)
    lo, hi = (1 - prob) / 2, (1 + prob) / 2
    frames = []
    for name in ("onset_share_per_km", "hazard_per_km"):
        x = curves[name]
        frames.append(xr.Dataset({
            f"{name}_mean": x.mean("draw"),
            f"{name}_lo": x.quantile(lo, "draw").drop_vars("quantile"),
            f"{name}_hi": x.quantile(hi, "draw").drop_vars("quantile"),
        }))
    table = xr.merge([*frames, result[["segment_start_km", "segment_end_km"]]])
    table = table.reset_coords("description", drop=True).to_dataframe().reset_index()
    return table[["intervention", "segment", "segment_start_km", "segment_end_km",
                  *[c for c in table.columns if c.startswith(("onset", "hazard"))]]]


def _likelihood_words(p: float) -> str:
    """Verbal probability of helping (after the IPCC likelihood scale, coarsened)."""
    if p >= 0.95:
        return "very likely lowers"
    if p >= 0.80:
        return "probably lowers"
    if p > 0.20:
        return "may or may not lower"
    if p > 0.05:
        return "probably raises"
    return "very likely raises"


def _duration(seconds: float) -> str:
    minutes = abs(seconds) / 60
    return f"{minutes:.0f} min" if minutes >= 1 else f"{abs(seconds):.0f} s"


def plain_language(table: dict) -> list[str]:
    """Sentences a coach can read, generated from the comparison table's numbers only."""
    rows = table["interventions"]
    base = rows[0]
    prob = f"{table['interval']['prob']:.0%}"
    r = base["risk"]
    what = ("the share of the field who cramp on the day" if table.get("field")
            else "the chance of a cramp")
    lines = [f"As planned, {what} is {r['mean']:.0%} ({prob} interval "
             f"{r['lo']:.0%} to {r['hi']:.0%}); cramps start at km {base['onset_km']['q50']:.0f} "
             f"on median, half of them between km {base['onset_km']['q25']:.0f} and "
             f"{base['onset_km']['q75']:.0f}."]
    if "history" in table:
        h = table["history"]
        d = h["risk_difference"]
        lines.append(f"The runner's {h['past_races']} past races ({h['cramped']} with a cramp) "
                     f"moved this from {h['risk_without_history']['mean']:.0%} without them "
                     f"({100 * d['mean']:+.1f} percentage points, {prob} interval "
                     f"{100 * d['lo']:+.1f} to {100 * d['hi']:+.1f}).")
    for row in rows[1:]:
        d, nnt = row["risk_difference"], row["nnt"]
        text = (f"{row['name']}: {_likelihood_words(row['p_better'])} the risk "
                f"(probability it helps {row['p_better']:.0%}); risk {row['risk']['mean']:.0%}, "
                f"a change of {100 * d['mean']:+.1f} percentage points ({prob} interval "
                f"{100 * d['lo']:+.1f} to {100 * d['hi']:+.1f}).")
        if nnt["lo"] is not None and nnt["kind"] == "benefit":
            text += f" About one runner in {nnt['mean']:.0f} making this change avoids a cramp."
        planned = row["finish_time_delta_s"]["mean"]
        expected = row["expected_finish_time_delta_s"]
        if planned > 0:
            text += f" It costs {_duration(planned)} of planned time"
            text += (f"; counting time lost to cramps the expected finish is "
                     f"{_duration(expected['mean'])} "
                     f"{'later' if expected['mean'] > 0 else 'earlier'}"
                     f" (probability of finishing sooner on average "
                     f"{row['p_faster_expected']:.0%}).")
        elif expected["mean"] < 0:
            text += (f" It costs no planned time and, counting time lost to cramps, saves "
                     f"{_duration(expected['mean'])} on average.")
        lines.append(text)
    best = min(rows, key=lambda row: row["risk"]["mean"])
    fastest = min(rows, key=lambda row: row["expected_finish_time_s"]["mean"])
    lines.append(f"Lowest risk: {best['name']} ({best['risk']['mean']:.0%}). Fastest expected "
                 f"finish once cramps are counted: {fastest['name']}.")
    return lines


def comparison_frame(table: dict):
    """The comparison table as a flat DataFrame (one row per plan; risks in %, times in min)."""
    import pandas as pd

    records = []
    for row in table["interventions"]:
        flat = {"plan": row["name"], "changes": row["description"]}
        for key, scale, unit in (("risk", 100, "%"), ("risk_difference", 100, "pts"),
                                 ("relative_risk", 1, ""),
                                 ("expected_finish_time_delta_s", 1 / 60, "min")):
            for part in ("mean", "lo", "hi"):
                flat[f"{key} {part}{' [' + unit + ']' if unit else ''}"] = (
                    row[key][part] * scale)
        flat["NNT"] = row["nnt"]["mean"] if row["nnt"] else None
        flat["P(helps)"] = row["p_better"]
        flat["planned time delta [min]"] = row["finish_time_delta_s"]["mean"] / 60
        flat["median onset [km]"] = row["onset_km"]["q50"]
        records.append(flat)
    return pd.DataFrame(records).set_index("plan")

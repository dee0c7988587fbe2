"""How the command line shows results: rich tables and clock times. No computation here; each
function renders numbers the API has computed."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from cramp.cli.app import out
from model.conventions import INTERVAL_KIND, INTERVAL_PROB


def print_comparison(table: dict) -> None:
    i = table["interval"]
    t = Table(title=f"{table['scenario']} ({table['parameters']}); mean and {i['prob']:.0%} "
              f"{'equal-tailed' if i['kind'] == 'eti' else i['kind']} credible interval")
    for column in ("plan", "risk", "risk difference", "relative risk", "NNT", "P(helps)",
                   "planned time", "expected finish incl. cramps", "median onset km"):
        t.add_column(column, overflow="fold")

    def pct(x):
        return f"{100 * x['mean']:.1f}% ({100 * x['lo']:.1f} to {100 * x['hi']:.1f})"

    for row in table["interventions"]:
        base = row["name"] == "baseline"
        nnt = row["nnt"]
        nnt_text = "" if base else (
            f"{nnt['mean']:.0f} ({nnt['lo']:.0f} to {nnt['hi']:.0f})" if nnt["lo"] is not None
            else f"{nnt['mean']:.0f} (interval includes no effect)" if nnt["mean"] else "-")
        e = row["expected_finish_time_s"]
        t.add_row(
            row["name"],
            pct(row["risk"]),
            "" if base else _points(row["risk_difference"]),
            "" if base else f"{row['relative_risk']['mean']:.2f} ({row['relative_risk']['lo']:.2f}"
            f" to {row['relative_risk']['hi']:.2f})",
            nnt_text,
            "" if base else f"{row['p_better']:.0%}",
            _clock(row["finish_time_delta_s"]["mean"], signed=not base) if not base else "",
            f"{_clock(e['mean'])} ({_clock(e['lo'])} to {_clock(e['hi'])})",
            f"{row['onset_km']['q50']:.1f}",
        )
    out.print(t)
    if "history" in table:
        h = table["history"]
        out.print(f"the runner's {h['past_races']} past races ({h['cramped']} with a cramp) moved "
                  f"the risk as planned from {pct(h['risk_without_history'])} to "
                  f"{pct(h['risk_with_history'])}: {_points(h['risk_difference'])}",
                  highlight=False)


def print_plan(plan: dict, conclusions: list[str]) -> None:
    """The plan's answers and a coarse view of its curve (every 4th target)."""
    if plan["fastest_target_time_s"] is None:
        out.print(f"[bold]no target between {_clock(plan['target_range_s']['fastest'])} and "
                  f"{_clock(plan['target_range_s']['slowest'])} keeps the risk within "
                  f"{plan['max_risk']:.0%}[/]")
    t = Table(title=f"{plan['scenario']} ({plan['parameters']}); risk mean and 95% "
              "equal-tailed credible interval")
    for column in ("target", "risk", "expected finish incl. cramps"):
        t.add_column(column)
    marks = {plan["fastest_target_time_s"]: " (fastest within the ceiling)",
             plan["best_expected_finish"]["target_time_s"]: " (best expected finish)"}
    curve = plan["curve"]
    for i, point in enumerate(curve):
        mark = marks.get(point["target_time_s"], "")
        if i % 4 and not mark and i != len(curve) - 1:
            continue
        r = point["risk"]
        t.add_row(_clock(point["target_time_s"]) + mark,
                  f"{100 * r['mean']:.1f}% ({100 * r['lo']:.1f} to {100 * r['hi']:.1f})",
                  _clock(point["expected_finish_s"]))
    out.print(t)
    for line in conclusions:
        out.print(line, highlight=False)


def _points(x: dict) -> str:
    return f"{100 * x['mean']:+.1f} pts ({100 * x['lo']:+.1f} to {100 * x['hi']:+.1f})"


def _clock(seconds: float, signed: bool = False) -> str:
    sign = ("+" if seconds >= 0 else "-") if signed else ""
    total = round(abs(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{sign}{h}:{m:02d}:{s:02d}"


def print_profile(p, log) -> None:
    t = Table(title=f"Runner profile for {p.race_date} ({p.race_distance_km:g} km), "
              f"{p.n_runs} runs from {log.folder}")
    t.add_column("figure")
    t.add_column("value")
    rows = [
        ("longest run, last 8 weeks", f"{p.longest_run_km:.1f} km"),
        ("ability (best recent effort)", f"{p.ref_distance_km:.1f} km in "
         f"{_clock(p.ref_time_s)} on {p.ref_date}"),
        ("predicted race time (Riegel)", _clock(p.predicted_race_time_s)),
        ("weekly km, last 8 weeks (newest first)", ", ".join(f"{w:.0f}" for w in p.weekly_km)),
        ("taper", f"{p.taper_days} days, volume down {p.taper_volume_reduction:.0%}"),
        ("fitness / fatigue / form (CTL / ATL / TSB)", f"{p.ctl:.0f} / {p.atl:.0f} / {p.tsb:+.0f}"),
        ("long-run km in the last 7 days", f"{p.long_run_km_last_7d:.1f}"),
        ("descent in the last 7 days", f"{p.descent_m_last_7d:.0f} m"),
        ("days since the last long run", "none in 180 days" if p.days_since_long_run is None
         else str(p.days_since_long_run)),
    ]
    for row in rows:
        t.add_row(*row)
    out.print(t)




def print_priors(p, detail: bool) -> None:
    table = Table(title=f"Priors ({p.path})", show_lines=False)
    for column in ("section", "name", "prior", "unit", "evidence"):
        table.add_column(column, overflow="fold")
    for row in p.table_rows():
        table.add_row(*row.values())
    out.print(table)
    if detail:
        for entry in p.entries.values():
            out.print(Text.assemble("\n", (f"{entry.section}.{entry.name}", "bold"),
                                    f" ({', '.join(entry.evidence)})"))
            out.print(entry.arithmetic, highlight=False)


def print_exclusion(p) -> None:
    """What leaving evidence out changed (nothing printed when none was left out)."""
    if not p.excluded:
        return
    out.print(f"evidence left out: {', '.join(p.excluded)}", highlight=False)
    for change in p.changes:
        out.print(f"  {change}", highlight=False)


def print_studies(studies, excluded: tuple[str, ...] = ()) -> None:
    """The studies the priors rest on (model.evidence.table.studies_behind), one line each."""
    out.print("the priors rest on these studies (sized: the prior's mean/SD computed from it; "
              "cited: direction or judgement only):", highlight=False)
    for study_id, row in studies.iterrows():
        uses = "; ".join(part for part in (row["sized"] and f"sized {row['sized']}",
                                           row["cited"] and f"cited {row['cited']}") if part)
        out.print(f"  {study_id} {row['study']}: {uses}", highlight=False)
    if excluded:
        out.print(f"  left out: {', '.join(excluded)}", highlight=False)
    else:
        out.print("  re-analysing one of these cohorts? leave its evidence out with "
                  "--exclude-evidence ID (e.g. --exclude-evidence E2)", highlight=False)


def print_posterior(summary) -> None:
    """The fit's summary (mean, sd, equal-tailed interval, R-hat, bulk ESS per parameter) and
    what the data tell (contraction; parameters the data do not inform are marked)."""
    kind = f"{INTERVAL_PROB:.0%} equal-tailed credible interval"
    table = Table(title=f"Posterior ({kind}); contraction = 1 - posterior var / prior var")
    has_data = "data" in summary.columns
    columns = ["parameter", "mean", "sd", "lower", "upper", "R-hat", "ESS bulk"]
    for column in columns + (["contraction", "data"] if has_data else []):
        # the parameter's name stays whole (it is what a reader greps for); the others fold
        table.add_column(column, justify="left" if column in ("parameter", "data") else "right",
                         overflow="fold", no_wrap=column == "parameter")
    lower, upper = [c for c in summary.columns if c.startswith(INTERVAL_KIND)][:2]
    for name, row in summary.iterrows():
        cells = [str(name), f"{row['mean']:.3f}", f"{row['sd']:.3f}",
                 f"{row[lower]:.3f}", f"{row[upper]:.3f}", f"{row['r_hat']:.3f}",
                 f"{row['ess_bulk']:.0f}"]
        if has_data:
            informed = row["data"] == "informs"
            cells += [f"{row['contraction']:.2f}", "informs" if informed else "NOT INFORMED"]
        table.add_row(*cells)
    out.print(table)
    if has_data:
        for name, row in summary[summary["data"] != "informs"].iterrows():
            out.print(f"not informed by the data: {name}: "
                      f"{row['data'].removeprefix('NOT INFORMED: ')}", highlight=False)


def print_diagnostics(d, attempts: list[str] | None = None,
                      advice: list[str] | None = None) -> None:
    """The convergence verdict; with the sampler's `attempts` when a second, longer run was
    needed, and the advice when it still fails."""
    if attempts and len(attempts) > 1:
        out.print(f"sampler: the first run did not converge ({attempts[0]}); "
                  f"sampled again with {attempts[-1]}", highlight=False)
    out.print(
        f"diagnostics: max R-hat {d.rhat_max:.3f}, min ESS bulk {d.ess_bulk_min:.0f} / tail "
        f"{d.ess_tail_min:.0f}, {d.divergences} divergences: "
        + ("OK" if d.ok else "NOT OK (" + "; ".join(d.problems()) + ")"), highlight=False)
    for line in advice or []:
        out.print(f"  {line}", highlight=False)


def print_prior_check(summary: dict, figures=None) -> None:
    """The fields' incidence and onsets, and each published figure next to its prediction."""
    table = Table(title=f"Prior predictive (literature prior; median and {INTERVAL_PROB:.0%} "
                  "equal-tailed interval over prior draws)")
    for column in ("field", "incidence", "median onset km", "lower quartile km",
                   "onsets in 2nd half"):
        table.add_column(column)
    for field, s in summary.items():
        table.add_row(
            field,
            f"{s['incidence_median']:.1%} ({s['incidence_lo']:.1%}-{s['incidence_hi']:.1%})",
            f"{s['onset_median_km']:.1f}",
            f"{s['onset_q25_km']:.1f}",
            f"{s['onset_second_half_median']:.0%} ({s['onset_second_half_lo']:.0%}-"
            f"{s['onset_second_half_hi']:.0%})",
        )
    out.print(table)
    if figures is None or figures.empty:
        return
    prob = figures.attrs.get("prob", 0.9)
    t = Table(title=f"Published figures vs the prior's prediction for each study's field "
              f"(median, {prob:.0%} interval of what a study of that size would report)")
    for column in ("study", "figure", "n", "published", "predicted", "inside", "use"):
        t.add_column(column, overflow="fold")
    for row in figures.itertuples():
        fmt = "{:.1f}" if "km" in row.figure and "after" not in row.figure else "{:.1%}"
        t.add_row(f"{row.study} {row.label}", row.figure,
                  "" if row.n != row.n or row.n is None else f"{row.n:.0f}",
                  fmt.format(row.published),
                  f"{fmt.format(row.predicted)} ({fmt.format(row.lo)}-{fmt.format(row.hi)})",
                  "yes" if row.inside else "NO", "fitted" if row.use == "likelihood"
                  else "context")
    out.print(t)


def print_calibration(result) -> None:
    """The calibrated baseline next to the priors file's, and how far the factor priors move."""
    cal = result.calibration
    t = Table(title=f"Baseline calibrated on {', '.join(cal.evidence)} (seed {cal.seed})")
    for column in ("prior", "in the file (mu, sigma)", "calibrated (mu, sigma)"):
        t.add_column(column)
    current, new = result.current(), result.baseline()
    for name in new:
        t.add_row(name, f"{current[name][0]:g}, {current[name][1]:g}",
                  f"{new[name][0]:g}, {new[name][1]:g}")
    out.print(t)
    out.print(f"posterior correlation of the two: {cal.correlation:.2f} (written as independent "
              f"priors); effective draws of the other priors: {cal.nuisance_ess:.0f}")
    moved = [f"{k} {cal.nuisance_prior_mean[k]:.2f} -> {cal.nuisance_posterior_mean[k]:.2f}"
             for k in cal.nuisance_prior_mean]
    out.print("other priors' means, prior -> given the figures (not written): "
              + "; ".join(moved), highlight=False)

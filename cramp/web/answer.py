"""What the page shows for one submit, made through the public API (`import cramp`) from the
form's values: the scenario (and its TOML file), the run, the headline, the conclusions, the
tables with readable headers and units, the plots as PNG and the downloads.

No Streamlit here (the page caches `answer`), and no model logic: the numbers are the
`SimulationResult`'s; this module only chooses words, units and formats for them.
"""

from __future__ import annotations

import io
import json
import tomllib
from dataclasses import dataclass, field

import pandas as pd

import cramp
from cramp.web.form import SOURCE, FormValues, scenario_document, to_toml

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


@dataclass(frozen=True)
class Answer:
    """One submit's answer, ready to show: numbers are the SimulationResult's."""

    risk: dict[str, float]  # the plan as written: mean, lo, hi (probabilities)
    conclusions: list[str]
    table: pd.DataFrame  # display: one row per plan, readable text
    csv: str  # comparison, numeric, readable headers with units
    json: str  # the API's comparison JSON (`cramp simulate --json`)
    toml: str  # the scenario file `cramp simulate` reproduces this answer from
    pace_plans: dict[str, str]  # plan -> per-km pace plan CSV
    figures: dict[str, bytes]  # "risk", "time", "onset" -> PNG
    provenance: dict[str, str]
    comparison: dict = field(repr=False)


def shipped_courses() -> dict[str, dict]:
    """The shipped scenarios' hilly courses by a label a coach reads (name, distance, climb):
    their [race] table without the start time."""
    found = {}
    for stem in cramp.Scenario.catalogue():
        race = cramp.Scenario.load(stem).document["race"]
        points = race.get("elevation_m")
        if not points:
            continue
        climb = sum(max(0.0, b[1] - a[1]) for a, b in zip(points, points[1:], strict=False))
        label = f"{stem.replace('_', ' ')}: {race['distance_km']:g} km, {climb:.0f} m climb"
        found[label] = {k: v for k, v in race.items() if k != "start_time"}
    return found


def command_line(draws: int, posterior: str | None) -> str:
    """The command that reproduces the page's numbers from the downloaded file."""
    model = f" --posterior {posterior}" if posterior else ""
    return f"uv run cramp simulate what_if.toml --draws {draws}{model}"


def build(values: FormValues, courses: dict[str, dict], posterior: str | None = None
          ) -> tuple[cramp.Scenario, str]:
    """The scenario the form describes and its TOML text; InputError (every problem at once)
    when the form or the scenario breaks a rule. The scenario is read back from that text, so
    the page runs exactly what the downloaded file holds."""
    document = scenario_document(values, courses)
    header = ("A scenario made on the cramp-risk web page (cramp app). The page's numbers are\n"
              f"  {command_line(values.draws, posterior)}")
    text = to_toml(document, header)
    return cramp.Scenario.from_dict(tomllib.loads(text), name=SOURCE), text


def answer(scenario: cramp.Scenario, toml: str, draws: int, fit=None, priors=None) -> Answer:
    """Run `scenario` at `draws` parameter draws (the literature prior - `priors`, default the
    shipped ones - or `fit`: a posterior DataTree from `cramp fit`) with the scenario's seed, and
    prepare everything the page shows."""
    result = scenario.run(fit, draws=draws, priors=priors)
    table = result.table()
    base = result.comparison["interventions"][0]["risk"]
    return Answer(
        risk={k: float(base[k]) for k in ("mean", "lo", "hi")},
        conclusions=result.conclusions(),
        table=display_table(table, result.comparison),
        csv=table.rename(columns=READABLE, index={"baseline": AS_PLANNED})
                 .rename_axis("plan").to_csv(float_format="%.4g"),
        json=result.to_json(),
        toml=toml,
        pace_plans={_plan_label(name): scenario.pace_plan(name).to_csv(index=False)
                    for name in scenario.plans().index},
        figures={"risk": _png(result.plot_risk()), "time": _png(result.plot_risk_vs_time()),
                 "onset": _png(result.plot_onset())},
        provenance=provenance(result),
        comparison=result.comparison)


def display_table(table: pd.DataFrame, comparison: dict) -> pd.DataFrame:
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
            "plan": _plan_label(str(plan)),
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


def provenance(result) -> dict[str, str]:
    """The provenance footer: model (prior or posterior with hashes), version, seed, draws."""
    attrs = result.dataset.attrs
    packages = json.loads(attrs.get("cramp_risk_packages", "{}") or "{}")
    out = {"model": result.parameters,
           "cramp-risk": packages.get("cramp-risk", "?"),
           "git commit": str(attrs.get("git_commit", ""))[:12],
           "seed": str(attrs.get("seed", "")), "draws": str(attrs.get("draws", "")),
           "priors sha256": str(attrs.get("priors_sha256", ""))[:16],
           "scenario sha256": str(attrs.get("scenario_sha256", ""))[:16]}
    if attrs.get("data_sha256"):
        out["fitted data sha256"] = str(attrs["data_sha256"])[:16]
    return out


def _plan_label(name: str) -> str:
    return AS_PLANNED if name == "baseline" else name


def _png(figure) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)  # the plots lay themselves out
    plt.close(figure)
    return buffer.getvalue()

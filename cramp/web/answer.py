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
    table = result.readable_table()
    label = dict(zip(result.table().index, table.index, strict=True))  # "baseline": as planned
    base = result.comparison["interventions"][0]["risk"]
    return Answer(
        risk={k: float(base[k]) for k in ("mean", "lo", "hi")},
        conclusions=result.conclusions(),
        table=table,
        csv=result.readable_numbers().to_csv(float_format="%.4g"),
        json=result.to_json(),
        toml=toml,
        pace_plans={label[name]: scenario.pace_plan(name).to_csv(index=False)
                    for name in scenario.plans().index},
        figures={"risk": _png(result.plot_risk()), "time": _png(result.plot_risk_vs_time()),
                 "onset": _png(result.plot_onset())},
        provenance=provenance(result),
        comparison=result.comparison)


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


def _png(figure) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)  # the plots lay themselves out
    plt.close(figure)
    return buffer.getvalue()

"""A coach's plan for one runner: the fastest target within a cramp-risk ceiling, the target that
minimises the expected finish once time lost to cramps counts, and the curve behind both.

    >>> import cramp
    >>> plan = cramp.Scenario.load("goal_marathon_runner").plan(max_risk=0.3, draws=200)
    >>> plan.fastest_target_time_s is None or plan.risk["mean"] <= 0.3
    True

The search is exact (scenarios/plan.py): `cramp simulate` of the scenario re-targeted at the
answer, with the same draws and seed, gives the same risk.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from model.output_claim import OutputClaim
from model.provenance import provenance_attrs, provenance_frame
from scenarios.plan import Outcome, PlanSearch, interval

if TYPE_CHECKING:
    import pandas as pd

    from cramp.simulation import Scenario

OUTPUT_FILES = {"json": "plan.json", "curve": "curve.csv", "plot": "plan.png",
                "pace": "pace_plan.csv", "band": "pace_band.png", "fit": "workout.fit",
                "manifest": "provenance.json"}


@dataclass
class PlanResult:
    """What `Scenario.plan` found. Times in s, risks as probabilities (0-1). `history` compares
    the risk at the answer with and without the runner's past races (None without them);
    `attrs` record how the result was made (as `SimulationResult.provenance`)."""

    scenario: Scenario
    search: PlanSearch
    parameters: str
    attrs: dict
    history: dict | None = None

    @property
    def fastest_target_time_s(self) -> int | None:
        """The fastest whole-second target [s] within the ceiling; None if none in range is."""
        return None if self.search.fastest is None else self.search.fastest.target_time_s

    @property
    def risk(self) -> dict[str, float] | None:
        """Risk at the fastest target: mean and 95% equal-tailed interval."""
        return None if self.search.fastest is None else interval(self.search.fastest.risk)

    @property
    def best_expected_finish(self) -> dict[str, float]:
        """The target [s] with the smallest expected finish incl. time lost to cramps [s]."""
        best = self.search.best
        return {"target_time_s": best.target_time_s, "expected_finish_s": best.expected_finish_s}

    def as_dict(self) -> dict:
        """The plan as a JSON-ready dict (the keys `cramp plan --json` prints)."""
        s = self.search
        return {
            "fastest_target_time_s": self.fastest_target_time_s,
            "risk": self.risk,
            "max_risk": s.max_risk,
            "confidence": s.confidence,
            "best_expected_finish": self.best_expected_finish,
            "curve": [_point(o) for o in s.curve],
            "target_range_s": {"fastest": s.bounds.fastest_s, "slowest": s.bounds.slowest_s,
                               "fastest_reason": s.bounds.fastest_reason,
                               "slowest_reason": s.bounds.slowest_reason},
            "history": self.history,
            "scenario": self.scenario.name,
            "parameters": self.parameters,
            "provenance": {k: v for k, v in self.attrs.items() if k not in ("priors", "scenario")},
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def table(self) -> pd.DataFrame:
        """The curve, one row per target: target [h:mm:ss] and [s], risk mean and 95% interval
        [%], expected finish incl. cramps [h:mm:ss] and [s]."""
        import pandas as pd

        rows = [_point(o) for o in self.search.curve]
        return pd.DataFrame({
            "target": [_duration(r["target_time_s"]) for r in rows],
            "target_time_s": [r["target_time_s"] for r in rows],
            "risk mean [%]": [100 * r["risk"]["mean"] for r in rows],
            "risk lo [%]": [100 * r["risk"]["lo"] for r in rows],
            "risk hi [%]": [100 * r["risk"]["hi"] for r in rows],
            "expected finish": [_duration(r["expected_finish_s"]) for r in rows],
            "expected_finish_s": [r["expected_finish_s"] for r in rows],
        })

    def conclusions(self) -> list[str]:
        """Sentences for a coach, from the numbers only."""
        s, what = self.search, self._ceiling_text()
        if s.fastest is None:
            lines = [f"No target between {_duration(s.bounds.fastest_s)} and "
                     f"{_duration(s.bounds.slowest_s)} keeps {what}; even the slowest has a risk "
                     f"of {interval(s.curve[-1].risk)['mean']:.0%}."]
        else:
            r = interval(s.fastest.risk)
            lines = [f"The fastest target that keeps {what} is {_duration(s.fastest.target_time_s)}"
                     f" (risk {r['mean']:.0%}, 95% interval {r['lo']:.0%} to {r['hi']:.0%})."]
            if s.fastest.target_time_s == s.bounds.fastest_s:
                lines.append(f"That is the fastest plausible target ({s.bounds.fastest_reason}).")
        best = s.best
        lines.append(f"The expected finish incl. time lost to cramps is shortest at a target of "
                     f"{_duration(best.target_time_s)} ({_duration(best.expected_finish_s)}).")
        if self.history:
            h = self.history
            lines.append(f"The runner's {h['past_races']} past races ({h['cramped']} with a "
                         f"cramp) move the risk at {_duration(h['target_time_s'])} from "
                         f"{h['risk_without_history']['mean']:.0%} to "
                         f"{h['risk_with_history']['mean']:.0%}.")
        return lines

    def _ceiling_text(self) -> str:
        s = self.search
        if s.confidence is None:
            return f"the mean cramp risk at or below {s.max_risk:.0%}"
        return f"the cramp risk at or below {s.max_risk:.0%} with {s.confidence:.0%} probability"

    def scenario_at(self, target_time_s: int | None = None) -> Scenario:
        """The scenario re-targeted (default: at the fastest target within the ceiling; the
        best expected finish if there is none) - what `cramp simulate` of the answer runs."""
        from cramp.simulation import Scenario
        from model.errors import InputError

        target = target_time_s or self.fastest_target_time_s or self.search.best.target_time_s
        document = copy.deepcopy(self.scenario.document)
        pacing = {k: v for k, v in document.get("pacing", {}).items()
                  if k not in ("target_time", "target_pace")}
        document["pacing"] = {**pacing, "target_time": _duration(target)}
        try:  # the other plans too, when the forecast covers them at this target
            return Scenario(document, source=self.scenario.source)
        except InputError:
            document.pop("intervention", None)
            return Scenario(document, source=self.scenario.source)

    def plot(self, ax=None):
        """Risk (mean and 95% interval) and expected finish against the target; returns the
        figure (draws into `ax` if given)."""
        from scenarios.plan_outputs import plot_plan

        return plot_plan(self.table(), self.as_dict(), self.scenario.name, ax=ax)

    def provenance(self) -> pd.DataFrame:
        """How the result was made: package versions, scenario and data hashes, seed, priors."""
        return provenance_frame(self.attrs)

    def save(self, folder: str | Path | None = None, *, force: bool = False,
             claim: OutputClaim | None = None) -> dict[str, Path]:
        """Write plan.json, curve.csv and plan.png, and for the answer's target the per-km pace
        plan (pace_plan.csv), a printable pace band (pace_band.png), a Garmin FIT workout
        (workout.fit) and provenance.json (the run's id and each file's sha256) into `folder`
        (default results/plan/<scenario file stem>), as one set renamed into place (an
        interrupted save leaves the old set or the new one); refuses to overwrite without
        `force`. `claim`: one taken before the work with `PlanResult.claim_output`. Returns the
        paths."""
        files, rid = self.output_files()
        if claim is not None:
            paths = claim.commit_folder(files, rid)
        else:
            with self.claim_output(self.scenario, folder, force=force) as own:
                paths = own.commit_folder(files, rid)
        return {key: paths[name] for key, name in OUTPUT_FILES.items()}

    def output_files(self) -> tuple[dict[str, bytes], str]:
        """(file name -> content, run id): the set `save` writes, built in memory first."""
        from cramp.result_files import png_bytes, with_manifest
        from model.provenance import run_id
        from scenarios.plan_outputs import fit_workout_bytes, plot_pace_band, plot_plan

        rid = run_id(self.attrs)
        at = self.scenario_at()
        per_km = at.spec  # the re-targeted spec the pace plan follows
        name = self.scenario.name
        plan = {**self.as_dict(), "run_id": rid}
        files = {
            OUTPUT_FILES["json"]: json.dumps(plan, indent=2).encode(),
            OUTPUT_FILES["curve"]: self.table().to_csv(index=False).encode(),
            OUTPUT_FILES["plot"]: png_bytes(
                lambda f: plot_plan(self.table(), self.as_dict(), name, path=f), rid),
            OUTPUT_FILES["pace"]: at.pace_plan().to_csv(index=False).encode(),
            OUTPUT_FILES["band"]: png_bytes(lambda f: plot_pace_band(per_km, name, f), rid),
            OUTPUT_FILES["fit"]: fit_workout_bytes(per_km, name),
        }
        return with_manifest(files, rid, self.attrs), rid

    @staticmethod
    def output_paths(scenario: Scenario, folder: str | Path | None = None) -> dict[str, Path]:
        """The files `save` writes (nothing is checked or created: `claim_output` does that)."""
        stem = Path(scenario.source).stem if scenario.source.endswith(".toml") else "scenario"
        folder = Path(folder) if folder else Path("results/plan") / stem
        return {key: folder / name for key, name in OUTPUT_FILES.items()}

    @staticmethod
    def claim_output(scenario: Scenario, folder: str | Path | None = None, *,
                     force: bool = False) -> OutputClaim:
        """An exclusive claim on the plan's output folder, taken before the work (as
        `Scenario.claim_output`): a second run on the same folder is refused while this one
        holds it, an existing plan without `force`."""
        target = PlanResult.output_paths(scenario, folder)["json"].parent
        return OutputClaim(target, force=force, folder=True, names=tuple(OUTPUT_FILES.values()))

    def __repr__(self) -> str:
        t = self.fastest_target_time_s
        return (f"PlanResult({self.scenario.name!r}: fastest target "
                f"{'none' if t is None else _duration(t)} for {self._ceiling_text()})")


def plan_scenario(scenario: Scenario, max_risk: float, *, confidence: float | None = None,
                  fit=None, draws: int = 2000, seed: int | None = None,
                  priors=None) -> PlanResult:
    """`Scenario.plan`: draws as `Scenario.run` takes them (same seed, same draws), then the
    exact search of scenarios/plan.py."""
    from dataclasses import replace

    from cramp.simulation import parameter_draws
    from model.errors import InputError
    from scenarios.plan import retargeted, search
    from scenarios.simulate import simulate

    if draws < 2:
        raise InputError(f"draws must be >= 2, got {draws}")
    spec = scenario.spec if seed is None else replace(scenario.spec, seed=seed)
    parameters = parameter_draws(fit, priors, draws, spec.seed)
    found = search(spec, parameters.values, max_risk, confidence)
    history = None
    past = spec.runners.past_races
    if past is not None:
        target = (found.fastest or found.best).target_time_s
        plain = retargeted(replace(spec, runners=replace(spec.runners, past_races=None)), target)
        without = simulate(plain, parameters.values)["risk"].isel(intervention=0).to_numpy()
        with_history = (found.fastest or found.best).risk
        history = {"past_races": len(past.table), "cramped": int(past.table["cramped"].sum()),
                   "target_time_s": target, "risk_without_history": interval(without),
                   "risk_with_history": interval(with_history),
                   "risk_difference": interval(with_history - without)}
    attrs = provenance_attrs(
        seed=spec.seed, priors=parameters.priors, data_sha256=parameters.data_sha256,
        data_source=parameters.data_source,
        extra={"scenario_path": scenario.source, "scenario_sha256": spec.sha256,
               "scenario": spec.text, "parameters": parameters.description,
               "draws": int(parameters.values.sizes["draw"]), "max_risk": max_risk,
               "confidence": -1 if confidence is None else confidence,
               "past_races_sha256": "" if past is None else past.sha256,
               "target_evaluations": found.evaluations})
    return PlanResult(scenario, found, parameters.description, attrs, history)


def _point(o: Outcome) -> dict:
    return {"target_time_s": o.target_time_s, "risk": interval(o.risk),
            "expected_finish_s": o.expected_finish_s}


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"

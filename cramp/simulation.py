"""Scenarios as objects: load one, change it, run it, and get a result that owns the comparison,
its plain-language conclusions, the curves along the course, the plots and the saved outputs.

    >>> import cramp
    >>> result = cramp.Scenario.load("goal_marathon_runner").run(draws=200)
    >>> result.table().index[0]
    'baseline'

Nothing here imports PyMC, nutpie or ArviZ: a simulation needs parameter draws, not a sampler.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace as replace_fields
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from model.errors import InputError
from model.evidence.priors import Priors, load_priors
from model.output_claim import OutputClaim
from model.provenance import provenance_attrs, provenance_frame
from scenarios import spec as scenario_spec
from scenarios.interventions import Intervention

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

    from cramp.fitting import Fit
    from cramp.planning import PlanResult

DEFAULT_DRAWS = 2000
OUTPUT_FILES = {"nc": "result.nc", "json": "comparison.json", "course": "course.csv",
                "risk": "risk.png", "time": "risk_vs_time.png", "onset": "onset.png",
                "manifest": "provenance.json"}


class Scenario:
    """A race, a runner or a field, a pacing plan and the plans (interventions) to compare.

    Make one with `Scenario.load` (a scenario TOML file, or a shipped scenario's name) or
    `Scenario.from_dict` (the same keys as the file); change it with `replace` (validated again)
    or `with_intervention`; run it with `run`. The file format is in scenarios/README.md."""

    def __init__(self, document: dict, *, source: str = "<dict>", text: str | None = None,
                 added: tuple[tuple[str, Intervention], ...] = ()):
        self.document = document
        self.source = source
        changed = text is None and source.endswith(".toml")
        spec = scenario_spec.parse_scenario(document, f"{source} with changes" if changed
                                            else source)
        for name, intervention in added:
            spec = replace_fields(spec, interventions={**spec.interventions, name: intervention})
        self._added = added
        text = json.dumps(document, sort_keys=True, default=str) if text is None else text
        self.spec = replace_fields(spec, path=source, text=text,
                                   sha256=hashlib.sha256(text.encode()).hexdigest())

    @classmethod
    def load(cls, name_or_path: str | Path) -> Scenario:
        """A scenario file, or the name of a shipped one (`Scenario.shipped()` lists them)."""
        path, text, document = scenario_spec.read_scenario_document(name_or_path)
        return cls(document, source=str(path), text=text)

    @classmethod
    def from_dict(cls, document: dict, name: str = "<dict>") -> Scenario:
        """A scenario from a dict with the scenario file's keys (validated the same way)."""
        return cls(copy.deepcopy(document), source=name)

    @staticmethod
    def shipped() -> dict[str, Scenario]:
        """The shipped scenarios by name (the file stem `Scenario.load` takes)."""
        return {path.stem: Scenario.load(path)
                for path in sorted(scenario_spec.LIBRARY.glob("*.toml"))}

    @staticmethod
    def catalogue() -> dict[str, tuple[str, list[str]]]:
        """The shipped scenarios' names, titles and plan names, read without validating them
        (instant; `shipped()` validates each)."""
        found = {}
        for path in sorted(scenario_spec.LIBRARY.glob("*.toml")):
            _, _, doc = scenario_spec.read_scenario_document(path)
            found[path.stem] = (str(doc.get("name", path.stem)),
                                [str(i.get("name", "")) for i in doc.get("intervention", [])])
        return found

    def replace(self, **changes) -> Scenario:
        """A copy with top-level keys replaced; a table (dict) is merged into the existing one,
        e.g. ``replace(runner={"taper_days": 14}, seed=3)``. The result is validated again."""
        document = copy.deepcopy(self.document)
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(document.get(key), dict):
                document[key] = {**document[key], **copy.deepcopy(value)}
            else:
                document[key] = copy.deepcopy(value)
        return Scenario(document, source=self.source, added=self._added)

    def with_intervention(self, name: str, intervention: Intervention) -> Scenario:
        """A copy with one more plan to compare, e.g.
        ``with_intervention("slower", cramp.SlowerPace(5) + cramp.TaperDays(14))``."""
        if name in self.spec.interventions:
            raise InputError(f"{self.source}: a plan named {name!r} already exists")
        return Scenario(self.document, source=self.source, text=self.spec.text,
                        added=(*self._added, (name, intervention)))

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def description(self) -> str:
        return self.spec.description.strip()

    @property
    def seed(self) -> int:
        return self.spec.seed

    @property
    def single_runner(self) -> bool:
        return self.spec.runners.single

    def plans(self) -> pd.DataFrame:
        """The plans to compare, baseline first, with what each one changes."""
        import pandas as pd

        return pd.DataFrame({"plan": list(self.spec.interventions),
                             "changes": [i.describe() for i in self.spec.interventions.values()]}
                            ).set_index("plan")

    def pace_plan(self, plan: str = "baseline") -> pd.DataFrame:
        """One runner's planned race per km under `plan` (a name from `plans()`): km from/to,
        split [s], pace [min/km], elapsed time [h:mm:ss] and clock time at the km's end, and the
        WBGT met there [degC] - the pacing the simulation assumes (hills and split included)."""
        import pandas as pd

        from scenarios.course import pace_plan

        if not self.single_runner:
            raise InputError(f"{self.source}: a pace plan is for a single [runner]")
        if plan not in self.spec.interventions:
            raise InputError(f"{self.source}: no plan named {plan!r} (plans: "
                             f"{', '.join(self.spec.interventions)})")
        p = pace_plan(self.spec, plan)
        return pd.DataFrame({
            "from [km]": p["from_km"].round(3), "to [km]": p["to_km"].round(3),
            "split [s]": p["segment_time_s"].round(1),
            "pace [min/km]": [_clock_text(s / 60, seconds=False) for s in p["pace_s_per_km"]],
            "elapsed [h:mm:ss]": [_clock_text(s / 3600) for s in p["elapsed_s"]],
            "clock time": [f"{_clock_text(h, seconds=False):0>5}" for h in p["clock_h"]],
            "WBGT [degC]": p["wbgt_c"].round(1)})

    def output_paths(self, folder: str | Path | None = None, *, force: bool = False
                     ) -> dict[str, Path]:
        """The files a run of this scenario saves into `folder` (default
        results/simulate/<file stem>). Nothing is checked or created here: `claim_output` does
        that before the work. (`force` is accepted for compatibility.)"""
        folder = Path(folder) if folder else Path("results/simulate") / (
            Path(self.source).stem if self.source.endswith(".toml") else "scenario")
        return {key: folder / name for key, name in OUTPUT_FILES.items()}

    def claim_output(self, folder: str | Path | None = None, *, force: bool = False,
                     need_bytes: int = 0) -> OutputClaim:
        """An exclusive claim on the output folder, taken before the work (use it in a `with`
        block and pass it to `SimulationResult.save`): the folder's parent is created, the
        place checked for writing and `need_bytes` of free space, an existing output refused
        without `force`, and a second run on the same folder refused while this one holds it."""
        target = self.output_paths(folder)["nc"].parent
        return OutputClaim(target, force=force, folder=True, names=tuple(OUTPUT_FILES.values()),
                           need_bytes=need_bytes)

    def __repr__(self) -> str:
        who = "one runner" if self.single_runner else f"{self.spec.runners.count} runners"
        return (f"Scenario({self.name!r}: {self.spec.course.distance_km:g} km, {who}, "
                f"{len(self.spec.interventions)} plans)")

    def run(self, fit: Fit | str | Path | xr.DataTree | None = None, *,
            draws: int = DEFAULT_DRAWS, seed: int | None = None,
            priors: Priors | str | Path | None = None, backend: str = "threads",
            progress: Callable[[int, int], None] | None = None) -> SimulationResult:
        """Simulate every plan for each parameter draw: exact probabilities, the same runners,
        draws and (for a field) race day under every plan.

        `fit`: a `Fit`, a FIT.nc path or its DataTree; None uses the literature prior (`priors`,
        default the shipped priors). `draws`: prior draws, or the posterior thinned to at most
        this. `seed` (default the scenario's) seeds the prior draws and the simulated runners.
        `backend`: "threads" here, or "dask" on the active dask client. `progress(done, total)`
        is called as blocks finish."""
        from scenarios.simulate import simulate

        if draws < 2:
            raise InputError(f"draws must be >= 2, got {draws}")
        spec = self.spec if seed is None else replace_fields(self.spec, seed=seed)
        parameters = parameter_draws(fit, priors, draws, spec.seed)
        dataset = simulate(spec, parameters.values, backend=backend, progress=progress)
        dataset.attrs.update(provenance_attrs(
            seed=spec.seed, priors=parameters.priors, data_sha256=parameters.data_sha256,
            data_source=parameters.data_source,
            extra={"scenario_path": self.source, "scenario_sha256": spec.sha256,
                   "scenario": spec.text, "parameters": parameters.description,
                   "draws": int(parameters.values.sizes["draw"]),
                   "added_interventions": [f"{n}: {i.describe()}" for n, i in self._added]}))
        return SimulationResult(dataset, self, parameters.description)

    def plan(self, max_risk: float, *, confidence: float | None = None,
             fit: Fit | str | Path | xr.DataTree | None = None, draws: int = DEFAULT_DRAWS,
             seed: int | None = None, priors: Priors | str | Path | None = None) -> PlanResult:
        """One runner's fastest target time within a cramp-risk ceiling `max_risk` (0-1; the
        mean risk, or with `confidence` P the target where P(risk <= max_risk) >= P), the target
        with the best expected finish incl. cramps, and the curve; draws as `run` takes them."""
        from cramp.planning import plan_scenario

        return plan_scenario(self, max_risk, confidence=confidence, fit=fit, draws=draws,
                             seed=seed, priors=priors)


@dataclass(frozen=True)
class ParameterDraws:
    """Parameter draws (a Dataset with a `draw` dim) and where they came from."""

    values: xr.Dataset
    priors: Priors
    description: str
    data_source: str = ""
    data_sha256: str = ""


def parameter_draws(fit, priors, draws: int, seed: int) -> ParameterDraws:
    """Draws from the literature prior (fit None) or thinned from a posterior."""
    from model.data.records import file_sha256
    from model.hazard.forward import prior_draws
    from model.inference.posterior import open_posterior, posterior_params

    p = load_priors(priors)
    if fit is None:
        return ParameterDraws(prior_draws(p, draws, seed), p,
                              f"literature prior ({p.path}), {draws} prior draws")
    if isinstance(fit, str | Path):
        path = Path(fit)
        params = posterior_params(open_posterior(path), draws)
        return ParameterDraws(params, p, f"posterior {path}, {params.sizes['draw']} draws",
                              str(path), file_sha256([path]))
    import xarray as xr

    tree = fit if isinstance(fit, xr.DataTree) else fit.posterior
    params = posterior_params(tree, draws)
    source = tree.attrs.get("data_source", "")
    return ParameterDraws(params, p, f"posterior of a fit to {source or 'data'}, "
                          f"{params.sizes['draw']} draws", source,
                          tree.attrs.get("data_sha256", ""))


@dataclass
class SimulationResult:
    """A scenario's simulated plans: `dataset` holds per draw the risk, the survival along the
    course, the expected time lost and, for a field, the draw's race day (`race_day_z`), with
    provenance in its attrs; everything else is derived from it."""

    dataset: xr.Dataset
    scenario: Scenario
    parameters: str

    @cached_property
    def comparison(self) -> dict:
        """The comparison as a JSON-ready dict: interval convention, then one entry per plan
        (baseline first) with risk, risk difference, relative risk, NNT, P(helps), time cost,
        expected finish and onset quantiles; `scenario` and `parameters` name the run."""
        from scenarios.compare import comparison

        table = comparison(self.dataset)
        table["scenario"] = self.scenario.name
        table["parameters"] = self.parameters
        return table

    def table(self) -> pd.DataFrame:
        """One row per plan, baseline first: risk, risk difference, relative risk (mean and
        interval), NNT, P(helps), time cost and median onset km; risks in %, times in min."""
        from scenarios.compare import comparison_frame

        return comparison_frame(self.comparison)

    def readable_table(self) -> pd.DataFrame:
        """The comparison as a coach reads it: readable headers with units, intervals in words,
        "as planned" for the baseline (scenarios/readable.py; the web page shows the same)."""
        from scenarios.readable import readable_table

        return readable_table(self.table(), self.comparison)

    def readable_numbers(self) -> pd.DataFrame:
        """The numeric comparison (`table`) with readable headers and units."""
        from scenarios.readable import readable_numbers

        return readable_numbers(self.table())

    def conclusions(self) -> list[str]:
        """Sentences a coach can read, generated from the comparison's numbers only."""
        from scenarios.compare import plain_language

        return plain_language(self.comparison)

    def onset_curves(self) -> xr.Dataset:
        """Per plan, draw and km: the share of cramps starting there and the field's hazard."""
        return self._curves.copy(deep=True)

    @cached_property
    def _curves(self) -> xr.Dataset:
        # computed once for the onset plot, the saved set and the caller
        from scenarios.compare import course_curves

        return course_curves(self.dataset)

    def course_table(self) -> pd.DataFrame:
        """The onset share and hazard per plan and km, mean and interval (long format)."""
        from scenarios.compare import course_table

        return course_table(self.dataset)

    def provenance(self) -> pd.DataFrame:
        """How the result was made: package versions, scenario and data hashes, seed, priors."""
        return provenance_frame(self.dataset.attrs)

    def to_json(self) -> str:
        return json.dumps(self.comparison, indent=2)

    def plot_risk(self, ax=None):
        """Risk per plan with its interval; returns the figure (draws into `ax` if given)."""
        from scenarios.plots import plot_risk

        return plot_risk(self.comparison, self.scenario.name, ax=ax)

    def plot_risk_vs_time(self, axes=None):
        """Change in risk against time cost, planned and expected (two axes)."""
        from scenarios.plots import plot_risk_vs_time

        return plot_risk_vs_time(self.comparison, self.scenario.name, axes=axes)

    def plot_onset(self, axes=None):
        """Where cramps start along the course, and the field's hazard per km (two axes)."""
        from scenarios.plots import plot_onset

        return plot_onset(self.dataset, self.scenario.name, axes=axes, curves=self._curves)

    def save(self, folder: str | Path | None = None, *, force: bool = False,
             claim: OutputClaim | None = None,
             pngs: Callable[[], dict[str, bytes] | None] | None = None) -> dict[str, Path]:
        """Write result.nc (with provenance), comparison.json, course.csv, the three plots and
        provenance.json (the run's id and each file's sha256) into `folder` (default
        results/simulate/<scenario>), as one set: written into a temporary sibling folder and
        renamed into place, so an interrupted save leaves the old set or the new one. Refuses
        to overwrite without `force`. `claim`: one taken before the work with
        `Scenario.claim_output` (then `folder` and `force` are the claim's). `pngs`: the plots
        drawn by another process (cramp/plot_process.py), or None to draw them here. Returns
        the paths."""
        from cramp.result_files import output_files

        files, run_id = output_files(self, OUTPUT_FILES, pngs)
        if claim is not None:
            paths = claim.commit_folder(files, run_id)
        else:
            with self.scenario.claim_output(folder, force=force) as own:
                paths = own.commit_folder(files, run_id)
        return {key: paths[name] for key, name in OUTPUT_FILES.items()}

    def __repr__(self) -> str:
        base = self.comparison["interventions"][0]["risk"]
        return (f"SimulationResult({self.scenario.name!r}: {len(self.comparison['interventions'])}"
                f" plans, baseline risk {base['mean']:.1%}; {self.parameters})")


def _clock_text(units: float, *, seconds: bool = True) -> str:
    """`units` hours as 'H:MM:SS'; with seconds=False, `units` minutes (or hours) as 'M:SS'
    (or 'H:MM'), zero-padded to two digits in front when it is a clock time (>= 1 h)."""
    if seconds:
        minutes, secs = divmod(round(units * 3600), 60)
        return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"
    whole, rest = divmod(round(units * 60), 60)
    return f"{whole}:{rest:02d}"


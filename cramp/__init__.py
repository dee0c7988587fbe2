"""cramp-risk: a Bayesian model of exercise-associated muscle cramp risk in endurance races, and
a scenario runner that compares interventions.

    import cramp
    result = cramp.Scenario.load("goal_marathon_runner").run()   # literature prior
    result.table(); result.plot_risk(); result.save("results/my_run")

    records = cramp.load_records(dataframe_or_path, splits=...)  # validated
    fit = cramp.fit(records)                                      # -> cramp.Fit
    fit.summary(); fit.diagnostics; fit.save("fit.nc")
    cramp.Scenario.load("road_ultra_56km").run(fit=fit)

Names are imported on first use (PEP 562), so `import cramp` is light and PyMC, nutpie and ArviZ
load only when a fit is run or diagnosed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# public name -> module that defines it
_EXPORTS = {
    # scenarios and simulation results
    "Scenario": "cramp.simulation",
    "SimulationResult": "cramp.simulation",
    "PlanResult": "cramp.planning",
    "course_from_gpx": "model.data.course_profile",
    # interventions (combine with +)
    "Intervention": "scenarios.interventions",
    "Baseline": "scenarios.interventions",
    "SlowerPace": "scenarios.interventions",
    "Split": "scenarios.interventions",
    "EvenPacing": "scenarios.interventions",
    "LongerTaper": "scenarios.interventions",
    "TaperDays": "scenarios.interventions",
    "LongerLongRuns": "scenarios.interventions",
    "LongestRun": "scenarios.interventions",
    "EarlierStart": "scenarios.interventions",
    "StartAt": "scenarios.interventions",
    "Combined": "scenarios.interventions",
    # data and fitting
    "load_records": "model.data.records",
    "RaceRecords": "model.data.records",
    "load_column_map": "model.data.column_map",
    "ColumnMap": "model.data.column_map",
    "summarise_splits": "model.data.split_summary",
    "SplitSummary": "model.data.split_summary",
    "fit": "cramp.fitting",
    "Fit": "cramp.fitting",
    "open_posterior": "model.inference.posterior",
    "synthesize": "model.validation.synth",
    # priors and what they imply
    "load_priors": "model.evidence.priors",
    "Priors": "model.evidence.priors",
    "evidence": "cramp.prior_analysis",
    "priors_table": "cramp.prior_analysis",
    "prior_check": "cramp.prior_analysis",
    "PriorCheck": "cramp.prior_analysis",
    "prior_sensitivity": "cramp.prior_analysis",
    "calibrate_priors": "cramp.calibration",
    "CalibratedPriors": "cramp.calibration",
    # training logs -> runner profile
    "read_training_log": "model.data.activities",
    "TrainingLog": "model.data.activities",
    "runner_profile": "model.data.training_load",
    "RunnerProfile": "model.data.training_load",
    "profiles_table": "model.data.training_load",
    # errors
    "InputError": "model.errors",
    "Problems": "model.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cramp' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # for type checkers and IDEs; not executed at run time
    from cramp.calibration import CalibratedPriors, calibrate_priors
    from cramp.fitting import Fit, fit
    from cramp.planning import PlanResult
    from cramp.prior_analysis import (
        PriorCheck,
        evidence,
        prior_check,
        prior_sensitivity,
        priors_table,
    )
    from cramp.simulation import Scenario, SimulationResult
    from model.data.activities import TrainingLog, read_training_log
    from model.data.course_profile import course_from_gpx
    from model.data.records import RaceRecords, load_records
    from model.data.training_load import RunnerProfile, profiles_table, runner_profile
    from model.errors import InputError, Problems
    from model.evidence.priors import Priors, load_priors
    from model.validation.synth import synthesize
    from scenarios.interventions import (
        Baseline,
        Combined,
        EarlierStart,
        EvenPacing,
        Intervention,
        LongerLongRuns,
        LongerTaper,
        LongestRun,
        SlowerPace,
        Split,
        StartAt,
        TaperDays,
    )

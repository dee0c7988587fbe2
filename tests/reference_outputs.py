"""Reference outputs of the model and the simulator, stored before a refactor so that the refactor
can show it gives the same numbers (issue 14): every shipped scenario simulated, a fixed-seed fit,
the checks (per-runner likelihoods, cramp probabilities, onset check) and LOO at fixed parameters.

`compute()` makes them with the code as it is; `tests/test_same_numbers.py` compares against the
stored file. To store anew (only when a change is *meant* to change the numbers, and say why in
the commit):  uv run python tests/reference_outputs.py --write
When only the simulator's numbers are meant to change, recompute the scenarios alone and keep the
stored fit and checks:  uv run python tests/reference_outputs.py --write --only simulate
When only the sampler's parametrisation changes (the posterior does not), recompute the log density
at the sampler's points alone, and keep the stored fit to show that the posterior is the same:
--write --only logp
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import xarray as xr

STORED = Path(__file__).with_name("reference") / "outputs.nc"
SCENARIO_DRAWS = 60
SURVIVAL_EVERY_KM = 5  # survival stored at every 5th segment (the file stays small)
FIT = {"runners": 300, "seed": 3, "draws": 100, "tune": 150}
CHECK_DRAWS = (2, 50)  # (chain, draw) of prior draws for the checks and LOO
STORED_UNITS = 40  # runners / records whose check values are stored one by one
LOGP_POINTS = 3  # points at which the log density and its gradient are stored


def scenario_outputs() -> dict[str, xr.Dataset]:
    import cramp

    out = {}
    for name in sorted(cramp.Scenario.catalogue()):
        result = cramp.Scenario.load(name).run(draws=SCENARIO_DRAWS)
        ds = result.dataset
        out[f"simulate_{name}"] = xr.Dataset({
            "risk": ds["risk"],
            "expected_time_lost_s": ds["expected_time_lost_s"],
            "planned_finish_time_s": ds["planned_finish_time_s"],
            "survival": ds["survival"].isel(segment=slice(None, None, SURVIVAL_EVERY_KM)),
        }).reset_coords(drop=True)
    return out


def cohort():
    import cramp

    table, splits = cramp.synthesize(FIT["runners"], FIT["seed"])
    return cramp.load_records(table, splits=splits)


def logp_outputs(records) -> dict:
    """The model's log density and its gradient at fixed points of the sampler's space
    (deterministic arithmetic)."""
    from model.evidence.priors import load_priors
    from model.hazard.features import build_features
    from model.inference.hazard_model import build_model, ieee_arithmetic

    model = build_model(build_features(records), load_priors())
    with ieee_arithmetic():  # as every fit compiles (hazard_model.ieee_arithmetic)
        logp, dlogp = model.compile_logp(), model.compile_dlogp()
    start = model.initial_point()
    rng = np.random.default_rng(FIT["seed"])
    values, gradients = [], []
    for _ in range(LOGP_POINTS):
        point = {k: v + rng.normal(0.0, 0.1, np.shape(v)) for k, v in start.items()}
        values.append(float(logp(point)))
        gradients.append(np.asarray(dlogp(point)))
    return {"logp": ("point", values), "dlogp": (("point", "value"), np.stack(gradients))}


def fit_outputs(records) -> xr.Dataset:
    """`logp_outputs`, and a fixed-seed fit's posterior mean and sd per parameter (compared
    within Monte Carlo error: HMC trajectories amplify last-bit differences, e.g. between
    CPUs)."""
    import cramp

    summary = cramp.fit(records, draws=FIT["draws"], tune=FIT["tune"], seed=FIT["seed"]).summary()
    return xr.Dataset({
        **logp_outputs(records),
        **{column: ("parameter", summary[column].to_numpy(float))
           for column in ("mean", "sd", "ess_bulk")},
    }, coords={"parameter": summary.index.to_numpy(str)})


def check_params(records) -> xr.Dataset:
    """Prior draws reshaped to (chain, draw), with race effects, as the checks take them."""
    from model.evidence.priors import load_priors
    from model.hazard.forward import prior_draws

    chains, draws = CHECK_DRAWS
    flat = prior_draws(load_priors(), chains * draws, FIT["seed"])
    races = sorted(records.table["race_id"].unique())
    rng = np.random.default_rng(FIT["seed"])
    effect = flat["race_sd"].to_numpy()[:, None] * rng.standard_normal((chains * draws,
                                                                         len(races)))
    flat["race_effect"] = (("draw", "race"), effect)
    index = xr.Coordinates.from_pandas_multiindex(
        __import__("pandas").MultiIndex.from_product([range(chains), range(draws)],
                                                    names=["chain", "sample"]), "draw")
    return flat.assign_coords(index).unstack("draw").rename(sample="draw")


def check_outputs(records) -> xr.Dataset:
    from model.hazard.features import build_features
    from model.validation.checks import (
        cramp_probability_by_record,
        loo_binary,
        onset_check,
        runner_log_likelihood,
    )

    features = build_features(records)
    params = check_params(records)
    stacked = params.stack(sample=("chain", "draw")).reset_index("sample", drop=True).rename(
        sample="draw")
    full = runner_log_likelihood(features, params).transpose("chain", "draw", "runner")
    binary = runner_log_likelihood(features, params, kind="binary").transpose(
        "chain", "draw", "runner")
    probability = cramp_probability_by_record(features, stacked)
    onsets = onset_check(features, stacked)
    loo = loo_binary(full, binary, "hazard model")
    first = {"runner": slice(0, STORED_UNITS)}
    return xr.Dataset({
        # every unit enters the totals; the first STORED_UNITS are stored one by one
        "runner_ll_full": full.isel(first).reset_coords(drop=True),
        "runner_ll_full_total": full.sum("runner").reset_coords(drop=True),
        "runner_ll_binary": binary.isel(first).reset_coords(drop=True),
        "runner_ll_binary_total": binary.sum("runner").reset_coords(drop=True),
        "cramp_probability": probability.isel(record=slice(0, STORED_UNITS)).reset_coords(
            drop=True).rename(draw="sample"),
        "cramp_probability_total": probability.sum("record").reset_coords(drop=True).rename(
            draw="sample"),
        "loo_elpd_pointwise": ("runner", np.asarray(loo.elpd_i).ravel()[:STORED_UNITS]),
        "loo_pareto_k": ("runner", np.asarray(loo.pareto_k).ravel()[:STORED_UNITS]),
        "loo_elpd": float(loo.elpd),
        **{f"onset_check_{k}": v.reset_coords(drop=True) for k, v in onsets.data_vars.items()},
    })


def compute() -> xr.DataTree:
    records = cohort()
    nodes = {**scenario_outputs(), "fit": fit_outputs(records), "checks": check_outputs(records)}
    return xr.DataTree.from_dict({f"/{k}": v for k, v in nodes.items()})


def compute_only(part: str) -> xr.DataTree:
    """Only `part` recomputed ("simulate": the shipped scenarios; "logp": the log density and
    gradient at the sampler's points, after a reparametrisation), the other stored outputs kept
    as they are."""
    with xr.open_datatree(STORED, engine="h5netcdf") as stored:
        nodes = {name: stored[name].to_dataset().load() for name in stored.children
                 if not (part == "simulate" and name.startswith("simulate_"))}
    if part == "simulate":
        nodes.update(scenario_outputs())
    else:
        nodes["fit"] = nodes["fit"].drop_vars(["logp", "dlogp"]).assign(logp_outputs(cohort()))
    return xr.DataTree.from_dict({f"/{k}": v for k, v in nodes.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="store the outputs anew")
    parser.add_argument("--only", choices=["simulate", "logp"],
                        help="recompute only the shipped scenarios, or only the log density at "
                             "the sampler's points (a reparametrisation); keep the rest")
    args = parser.parse_args()
    tree = compute_only(args.only) if args.only else compute()
    if args.write:
        STORED.parent.mkdir(exist_ok=True)
        partial = STORED.with_suffix(".partial.nc")
        tree.to_netcdf(partial, engine="h5netcdf")
        partial.replace(STORED)  # an interrupted write leaves the old file
        print(f"wrote {STORED} ({STORED.stat().st_size / 1e3:.0f} kB)")
    else:
        print(tree)


if __name__ == "__main__":
    main()

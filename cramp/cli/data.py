"""Commands for researchers' data and the priors: check, synth, fit, prior-check."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from cramp.cli.app import (
    EXIT_DIAGNOSTICS,
    ColumnsOpt,
    ForceOpt,
    PriorsOpt,
    SplitsOpt,
    app,
    err,
    guarded,
    out,
    say,
)
from cramp.cli.priors import ExcludeEvidenceOpt
from cramp.cli.render import (
    print_diagnostics,
    print_posterior,
    print_prior_check,
)
from model.conventions import FIT_DRAWS, FIT_TUNE
from model.errors import InputError


@app.command()
@guarded
def check(
    data: Path,
    splits: SplitsOpt = None,
    columns: ColumnsOpt = None,
) -> None:
    """Validate race records (and splits) only; report every problem with its row and column,
    the column map applied and what the splits hold."""
    from cramp import load_records
    from model.data.split_summary import summarise_splits

    records = load_records(data, splits, columns=columns)
    for line in records.mapping:
        say(out, f"mapped: {line}")
    n = len(records.table)
    cramped = int(records.table["cramped"].sum())
    out.print(
        f"{data}: {n} runner-race records, {records.table['runner_id'].nunique()} runners,"
        f" {records.table['race_id'].nunique()} races, {cramped} with a cramp: OK"
    )
    s = summarise_splits(records)
    if s.none:
        say(out, "splits: none: pace is read from the finish time (even pacing)")
    else:
        marks = (f"{s.marks_min} split{'s' * (s.marks_min != 1)}" if s.marks_min == s.marks_max
                 else f"{s.marks_min} to {s.marks_max} splits (median {s.marks_median:g})")
        # where sparse marks sit; [n]: records with that mark, when not all of them
        at = "" if s.mark_km is None else " (at " + ", ".join(
            f"{km:g} km" + ("" if c == s.n_with_splits else f" [{c}]")
            for km, c in s.mark_km.items()) + ")"
        say(out, f"splits: {s.n_with_splits} of {s.n_records} records have {marks}{at}: "
            "the pace so far is known at each mark and carried on to the next (on ability "
            "before the first); the finish time is not used for pace")
    for note in records.notes:
        say(out, f"note: {note}")


@app.command()
@guarded
def synth(
    out_path: Annotated[Path, typer.Option("--out", help="records CSV to write")],
    runners: Annotated[int, typer.Option("--runners", help="runner-race records")] = 2000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    distance_km: Annotated[
        list[float] | None, typer.Option("--distance-km", help="race distance(s); repeat for a mix")
    ] = None,
    races: Annotated[int | None, typer.Option("--races", help="number of races")] = None,
    force: ForceOpt = False,
) -> None:
    """Write a synthetic cohort drawn from the model with known true coefficients, plus its
    per-km splits (<out>_splits.csv) and <out>.provenance.json listing both (with the truth)."""
    from model.hazard.specification import MARATHON_KM
    from model.output_claim import OutputSetClaim
    from model.outputs import set_manifest_path
    from model.provenance import git_commit, package_versions, run_id
    from model.validation.synth import DEFAULT_TRUTH, synthesize

    if runners < 1:
        raise InputError(f"--runners must be >= 1, got {runners}")
    splits_path = out_path.with_name(out_path.stem + "_splits.csv")
    distances_km = tuple(distance_km or [MARATHON_KM])
    provenance = {"command": "synth", "runners": runners, "seed": seed,
                  "distance_km": distances_km, "races": races, "truth": DEFAULT_TRUTH,
                  "git_commit": git_commit(), "packages": package_versions()}
    # a CSV has no place for the run id: the manifest's sha256 ties the two files together
    with OutputSetClaim((out_path, splits_path), set_manifest_path(out_path),
                        force=force) as claim:
        records, splits = synthesize(runners, seed, distances_km=distances_km, n_races=races)
        claim.commit({out_path: records.to_csv(index=False).encode(),
                      splits_path: splits.to_csv(index=False).encode()},
                     run_id(provenance), provenance)
    out.print(
        f"wrote {out_path} ({len(records)} records, {int(records['cramped'].sum())} cramps)"
        f" and {splits_path}; true coefficients: {json.dumps(DEFAULT_TRUTH['beta'])}"
    )


@app.command()
@guarded
def fit(
    data: Path,
    splits: SplitsOpt = None,
    columns: ColumnsOpt = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="posterior netCDF (default results/fit.nc)")
    ] = None,
    draws: Annotated[int, typer.Option("--draws")] = FIT_DRAWS,
    tune: Annotated[int, typer.Option("--tune")] = FIT_TUNE,
    chains: Annotated[int, typer.Option("--chains")] = 2,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    priors_path: PriorsOpt = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="exit 3 if R-hat >= 1.01, ESS < 400 or any divergence")
    ] = False,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid", help="exclude invalid rows (each one reported) instead of failing"
        ),
    ] = False,
    adaptation: Annotated[str, typer.Option(
        "--adaptation", help="nutpie mass matrix: auto (low_rank from 5,000 runner-races, "
        "1.8-3x faster there; diag below, more robust on small cohorts), diag or low_rank"
    )] = "auto",
    target_accept: Annotated[float | None, typer.Option(
        "--target-accept", help="NUTS target acceptance rate (default 0.9); higher takes "
        "smaller steps, for divergences")] = None,
    backend: Annotated[str, typer.Option(
        "--backend", help="likelihood: numba (compiled kernel, fast) or reference (plain "
        "PyTensor definition, automatic gradients)")] = "numba",
    no_extend: Annotated[bool, typer.Option(
        "--no-extend", help="do not sample a second, longer time when the diagnostics fail")
    ] = False,
    exclude_evidence: ExcludeEvidenceOpt = None,
    force: ForceOpt = False,
) -> None:
    """Fit the hazard model to logged race records and write the posterior.

    When the convergence diagnostics fail, the fit is sampled once more, longer (more draws, or
    smaller steps for divergences), and the output says what was done and what to try."""
    import cramp
    from cramp.fitting import claim_fit_output, posterior_bytes
    from model.inference.fit import ADAPTATIONS

    for name, value in (("--draws", draws), ("--tune", tune), ("--chains", chains)):
        if value < 1:
            raise InputError(f"{name} must be >= 1, got {value}")
    if adaptation not in ADAPTATIONS:
        raise InputError(f"--adaptation {adaptation!r}: use auto, diag or low_rank")
    if seed < 0:
        raise InputError(f"--seed must be a whole number >= 0, got {seed}")
    priors = cramp.load_priors(priors_path, exclude_evidence=exclude_evidence)
    records = cramp.load_records(data, splits, skip_invalid=skip_invalid, columns=columns)
    out_path = out_path or Path("results") / "fit.nc"
    need = posterior_bytes(records, draws, chains)
    # the output is claimed before sampling: a read-only folder or a second run fails now
    with claim_fit_output(out_path, force=force, need_bytes=need) as claim:
        result = _sample(records, priors, draws, tune, chains, seed, adaptation, target_accept,
                         no_extend, backend)
        result.save(out_path, claim=claim)
    print_posterior(result.summary())
    diagnostics = result.diagnostics
    print_diagnostics(diagnostics, result.sampler_attempts, result.advice())
    say(out, f"wrote {out_path}")
    if strict and not diagnostics.ok:
        raise typer.Exit(EXIT_DIAGNOSTICS)


def _sample(records, priors, draws, tune, chains, seed, adaptation, target_accept, no_extend,
            backend):
    """The fit command's work: report what is fitted and the studies its priors rest on, then
    sample."""
    import cramp
    from cramp.cli.render import print_exclusion, print_studies
    from model.evidence.table import studies_behind
    from model.hazard import onset_location
    from model.hazard.features import build_features
    from model.hazard.specification import ONSET_UNKNOWN, OUTCOME_DEFINITION
    from model.inference.hazard_model import onset_windows

    for line in records.excluded:
        say(err, line)
    for note in records.notes:
        say(err, f"note: {note}")
    print_studies(studies_behind(priors), priors.excluded)
    print_exclusion(priors)
    features = build_features(records)
    outcome = features["outcome"].to_numpy()
    say(out, f"outcome: {OUTCOME_DEFINITION}")
    say(out, onset_location.summary(int((outcome == ONSET_UNKNOWN).sum()),
                                    int(onset_windows(features)[0].sum()), features.attrs))
    say(out, f"fitting {features.sizes['record']} runner-races ({features.sizes['runner']} "
        f"runners, {features.sizes['race']} races): compiling, then sampling "
        f"{chains} x ({tune} tune + {draws} draws)...")
    return cramp.fit(records, priors=priors, draws=draws, tune=tune, chains=chains, seed=seed,
                     adaptation=adaptation, target_accept=target_accept, extend=not no_extend,
                     backend=backend, progress=sys.stderr.isatty())


@app.command("prior-check")
@guarded
def prior_check(
    priors_path: PriorsOpt = None,
    runners: Annotated[int, typer.Option("--runners")] = 1000,
    draws: Annotated[int, typer.Option("--draws")] = 400,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    out_dir: Annotated[Path, typer.Option("--out", help="output folder")] = Path(
        "results/prior_check"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    exclude_evidence: ExcludeEvidenceOpt = None,
    force: ForceOpt = False,
) -> None:
    """Prior predictive check: cramp incidence and onset positions the literature prior implies
    for a typical marathon and 56 km ultra field (no data needed), and each published figure
    next to the prior's prediction for that study's field."""
    import cramp
    from cramp.prior_analysis import PriorCheck
    from model.conventions import INTERVAL_KIND, INTERVAL_PROB

    priors = cramp.load_priors(priors_path, exclude_evidence=exclude_evidence)
    with PriorCheck.claim_output(out_dir, force=force) as claim:  # before the work
        check = cramp.prior_check(priors, runners=runners, draws=draws, seed=seed)
        paths = check.save(claim=claim)
    nc_path, png_path = paths["nc"], paths["png"]
    summary = check.summary()
    if as_json:
        figures = check.figures.drop(columns=["reason"], errors="ignore")
        print(json.dumps({"interval": {"kind": INTERVAL_KIND, "prob": INTERVAL_PROB},
                          "fields": summary,
                          "figures": {"interval_prob": check.figures.attrs.get("prob"),
                                      "rows": json.loads(figures.to_json(orient="records"))}},
                         indent=2))
        return
    print_prior_check(summary, check.figures)
    out.print(f"wrote {nc_path} and {png_path}")



"""Simulation-based calibration at several runner-effect node counts, paired: replication i
(same prior draw, cohort and sampler seed as `cramp sbc DESIGN --seed S`) is fitted with each
node count in turn, in this process, before replication i + 1, so that a run stopped early
still holds the same replications for every node count. Each result is appended to
results/sbc/quadrature/<design>_seed<S>_nodes<N>.jsonl as it comes (a rerun skips those
done); --summarise turns them into sbc.nc / sbc.png and prints the verdicts (model/validation).
--indices refits chosen replications only (e.g. those with a large true runner_sd): a paired
look at what the node count changes, not a calibration study.

    nice -n 15 uv run python bench/sbc_quadrature.py three_races_600 -n 100 --nodes 9 21
    uv run python bench/sbc_quadrature.py three_races_600 --nodes 9 21 --summarise

The node count is changed for this process only, by building every fit's model with
`n_nodes_runner=N` (model/inference/fit.py builds with the default otherwise).
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path

import numpy as np

OUT = Path("results/sbc/quadrature")


def result_path(design: str, nodes: int, seed: int) -> Path:
    return OUT / f"{design}_seed{seed}_nodes{nodes}.jsonl"


def done_indices(path: Path) -> set[int]:
    if not path.exists():
        return set()
    return {json.loads(line)["index"] for line in path.read_text().splitlines() if line}


def run(design_name: str, indices: list[int], nodes: list[int], seed: int) -> None:
    import model.inference.fit as fit_module
    from model.evidence.priors import load_priors
    from model.inference.hazard_model import build_model
    from model.validation.sbc import design_named, replicate

    design = design_named(design_name)
    priors = load_priors(None)
    OUT.mkdir(parents=True, exist_ok=True)
    done = {n: done_indices(result_path(design_name, n, seed)) for n in nodes}
    for i in indices:
        for n in nodes:
            if i in done[n]:
                continue
            fit_module.build_model = functools.partial(build_model, n_nodes_runner=n)
            result = replicate(design, i, seed, priors)
            row = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in result.items()}
            with result_path(design_name, n, seed).open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"replication {i} nodes {n}: {result['fit_seconds']:.1f} s "
                  f"{result['failed'] or 'ok'}", flush=True)
    fit_module.build_model = build_model


def summarise(design_name: str, nodes: list[int], seed: int) -> None:
    from cramp.cli.sbc import _output_files
    from model.evidence.priors import load_priors
    from model.validation.sbc import PARAMETERS, FitSettings, design_named, sbc_dataset
    from model.validation.sbc_plot import rank_verdicts

    design = design_named(design_name)
    rows = {n: {json.loads(line)["index"]: json.loads(line) for line in
                result_path(design_name, n, seed).read_text().splitlines() if line}
            for n in nodes}
    common = sorted(set.intersection(*(set(r) for r in rows.values())))
    print(f"{len(common)} replications done at every node count")
    runner_sd = PARAMETERS.index("runner_sd")
    for n in nodes:
        results = [{k: (np.array(v) if isinstance(v, list) else v) for k, v in
                    rows[n][i].items()} for i in common]
        ds = sbc_dataset(design, results, seed=seed, priors=load_priors(None),
                         settings=FitSettings(), wall_seconds=float(
                             np.nansum([r["fit_seconds"] for r in results])),
                         scheduler="in-process")
        folder = OUT / f"{design_name}_seed{seed}_nodes{n}"
        folder.mkdir(parents=True, exist_ok=True)
        files, _ = _output_files(ds, f"{design.describe()}; {n} runner-effect nodes")
        for name, content in files.items():
            (folder / name).write_bytes(content)
        table = rank_verdicts(ds)
        ok = ds["failed"].to_numpy() == ""
        truth_sd = ds["truth"].isel(parameter=runner_sd).to_numpy()[ok]
        covered = ((ds["q05"] <= ds["truth"]) & (ds["truth"] <= ds["q95"])).to_numpy()[ok]
        hist = list(PARAMETERS).index("beta[cramp_history]")
        big = truth_sd >= 1.0
        print(f"\n== {n} runner-effect nodes: median fit {np.nanmedian(ds['fit_seconds']):.1f} s, "
              f"worst R-hat {float(ds['rhat_max'].max()):.3f}, fits with divergences "
              f"{int((ds['divergences'] > 0).sum())}")
        print(table[["in_90_interval", "p_two_sided", "ecdf_in_95_band",
                     "ecdf_in_family_band", "share_above_median"]].to_string())
        print(f"cramp_history covered at true runner_sd >= 1: {int(covered[big, hist].sum())}/"
              f"{int(big.sum())}; below 1: {int(covered[~big, hist].sum())}/{int((~big).sum())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("design")
    parser.add_argument("-n", "--replications", type=int, default=100)
    parser.add_argument("--nodes", type=int, nargs="+", default=[9, 21])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--indices", type=int, nargs="+",
                        help="only these replications, in this order (a targeted look, not SBC)")
    parser.add_argument("--summarise", action="store_true")
    args = parser.parse_args()
    if args.summarise:
        summarise(args.design, args.nodes, args.seed)
    else:
        run(args.design, args.indices or list(range(args.replications)), args.nodes, args.seed)


if __name__ == "__main__":
    main()

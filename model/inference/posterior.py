"""A fitted posterior as the rest of the project reads it: the reported parameters, the interval
convention, and loading, saving and thinning a fit's DataTree. Light on purpose (xarray only):
simulating on a posterior must not import the sampler."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from model.errors import InputError
from model.provenance import check_writable, write_atomic

REPORTED = (
    "beta",
    "log_hazard_per_km",
    "distance_shape",
    "runner_sd",
    "race_sd",
    "ck_log_mean",
    "ck_log_sd",
    "ck_taper_effect",
)


#: how a fit's provenance joins its sampler attempts (`sampler_attempts` reads them back)
ATTEMPT_SEPARATOR = " | then "


def sampler_attempts(tree: xr.DataTree) -> list[str]:
    """The sampler runs of a fit, in order: one, or two when the first did not converge (what
    each used and, for the first, why it was not enough)."""
    text = str(tree.attrs.get("sampler_attempts", ""))
    return text.split(ATTEMPT_SEPARATOR) if text else []


def save_fit(tree: xr.DataTree, path: Path, force: bool = False) -> None:
    """Write the fit as netCDF (h5netcdf), atomically, refusing to overwrite without force."""
    check_writable(path, force)
    write_atomic(path, lambda tmp: tree.to_netcdf(tmp, engine="h5netcdf"), force=force)


def load_posterior(path: Path) -> xr.DataTree:
    return xr.open_datatree(path, engine="h5netcdf").load()


def posterior_params(tree: xr.DataTree, max_draws: int | None = None, *,
                     stacked: bool = True) -> xr.Dataset:
    """The posterior's parameters (and the races' `race_effect` when present). `stacked`:
    chain and draw stacked into one `draw` dim, evenly thinned to at most `max_draws`
    (deterministic: every k-th draw); otherwise (chain, draw) as sampled."""
    missing = [name for name in REPORTED if name not in tree["posterior"]]
    if missing:
        raise InputError(f"posterior lacks {', '.join(missing)}: not a `cramp fit` result")
    names = [*REPORTED, *(["race_effect"] if "race_effect" in tree["posterior"] else [])]
    post = tree["posterior"].to_dataset()[names].reset_coords(drop=True)
    if not stacked:
        return post
    stacked_post = post.stack(sample=("chain", "draw")).reset_index("sample", drop=True)
    stacked_post = stacked_post.rename(sample="draw").transpose("draw", ...)
    if max_draws is not None and stacked_post.sizes["draw"] > max_draws:
        step = stacked_post.sizes["draw"] / max_draws
        stacked_post = stacked_post.isel(draw=(np.arange(max_draws) * step).astype(int))
    return stacked_post.assign_coords(draw=np.arange(stacked_post.sizes["draw"]))


def open_posterior(path: str | Path, name: str | None = None) -> xr.DataTree:
    """A `cramp fit` posterior read from `path` (netCDF), loaded into memory; InputError naming
    `name` (default the path) when the file is missing, not netCDF or not a `cramp fit` result."""
    path, name = Path(path), name or str(path)
    if not path.exists():
        raise InputError(f"{name}: no such file")
    try:
        tree = load_posterior(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"{name}: not a netCDF file from `cramp fit` ({exc})") from None
    if "posterior" not in tree.children:
        raise InputError(f"{name}: has no posterior group: not a `cramp fit` result")
    try:
        posterior_params(tree)
    except InputError as exc:
        raise InputError(f"{name}: {exc}") from None
    return tree

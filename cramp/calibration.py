"""Calibrating the baseline priors on published figures: `calibrate_priors` computes the
calibrated baseline (log_hazard_per_km, distance_shape) from the figures file and the factor
priors; `CalibratedPriors.write` puts it into the priors file with its provenance."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from model.errors import InputError
from model.evidence.priors import DEFAULT_PRIORS_PATH, Priors, load_priors

if TYPE_CHECKING:
    from model.evidence.calibration import Calibration


@dataclass
class CalibratedPriors:
    """The calibration's result (`calibration`: posterior mean/SD of each baseline parameter,
    their correlation, how far the factor priors move) and the priors file it was made for."""

    calibration: Calibration
    priors: Priors
    figures_path: str

    def baseline(self) -> dict[str, tuple[float, float]]:
        """(mu, sigma) per baseline entry, as written [log hazard per km at 10 km; exponent]."""
        from model.evidence.calibration import rounded

        return rounded(self.calibration)

    def current(self) -> dict[str, tuple[float, float]]:
        """(mu, sigma) per baseline entry in the priors file now."""
        return {n: (self.priors[n].mu, self.priors[n].sigma) for n in self.baseline()}

    def new_text(self) -> str:
        """The priors file's text with the calibrated baseline entries."""
        from model.evidence.calibration import rewrite_baseline

        text = Path(self.priors.path).read_text(encoding="utf-8")
        return rewrite_baseline(text, self.calibration, self.figures_path)

    def write(self, *, force: bool = False) -> Path:
        """Rewrite the two baseline entries of the priors file atomically (everything else byte
        for byte). Without `force` it refuses to replace entries that were written by hand (not
        by a calibration) or a file changed since it was read."""
        import hashlib

        from model.evidence.calibration import BASELINE, CALIBRATED_MARK
        from model.provenance import write_atomic

        path = Path(self.priors.path)
        if not path.is_file():
            raise InputError(f"{self.priors.path}: not a priors file on disk; cannot write")
        text = self.new_text()
        if not force:
            if hashlib.sha256(path.read_bytes()).hexdigest() != self.priors.sha256:
                raise InputError(f"{path}: changed since it was read (use --force to write)")
            by_hand = [n for n in BASELINE if CALIBRATED_MARK not in self.priors[n].arithmetic]
            if by_hand:
                raise InputError(f"{path}: baseline entry {by_hand[0]} was written by hand, not by "
                                 "a calibration (use --force to replace it)")
        write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), force=True)
        return path


def calibrate_priors(priors: Priors | str | Path | None = None,
                     figures: str | Path | None = None) -> CalibratedPriors:
    """Calibrate the baseline priors on the published figures (default:
    model/evidence/published_figures.toml) given the factor priors of `priors` (default: the
    literature priors file). Deterministic: the seed is in the figures file."""
    from model.evidence.calibration import calibrate
    from model.evidence.figures import load_figures

    p = load_priors(priors if priors is not None else DEFAULT_PRIORS_PATH)
    f = load_figures(figures)
    return CalibratedPriors(calibrate(f, p), p, f.path)

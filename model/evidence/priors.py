"""Literature priors as data: load, check and tabulate the priors file (priors.toml, next to this
module)."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from model.errors import InputError
from model.hazard.specification import FACTORS

DEFAULT_PRIORS_PATH = Path(__file__).with_name("priors.toml")

BASELINE = ("log_hazard_per_km", "distance_shape")
HETEROGENEITY = ("runner_sd", "race_sd")
MEDIATOR = ("ck_log_mean", "ck_log_sd", "ck_taper_effect")
_SECTIONS = {
    "factor": FACTORS,
    "baseline": BASELINE,
    "heterogeneity": HETEROGENEITY,
    "mediator": MEDIATOR,
}


@dataclass(frozen=True)
class Prior:
    """One prior: a normal (mu, sigma) or half-normal (sigma) with its provenance."""

    section: str
    name: str
    dist: str
    mu: float
    sigma: float
    unit: str
    evidence: tuple[str, ...]
    arithmetic: str
    sign: str = ""
    #: correlation with another prior of the same section (only the baseline pair has one)
    correlation: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Priors:
    """All priors of the model, read from one file; `sha256` identifies the file's content."""

    path: str
    sha256: str
    entries: dict[str, Prior]

    def __getitem__(self, name: str) -> Prior:
        return self.entries[name]

    @property
    def baseline_correlation(self) -> float:
        """Prior correlation of log_hazard_per_km and distance_shape (0: independent). The
        calibration on published figures pins the baseline's total but not how it splits
        between level and steepness, so the two are strongly negatively correlated."""
        return dict(self.entries["log_hazard_per_km"].correlation).get("distance_shape", 0.0)

    def factor_mu(self) -> list[float]:
        return [self.entries[f].mu for f in FACTORS]

    def factor_sigma(self) -> list[float]:
        return [self.entries[f].sigma for f in FACTORS]

    def with_prior(self, name: str, *, mu: float | None = None,
                   sigma: float | None = None) -> Priors:
        """A copy with one prior changed (for sensitivity analyses); its `path` and `sha256`
        say it was changed, so outputs made with it are not mistaken for the file's."""
        old = self.entries[name]
        new = replace(old, mu=old.mu if mu is None else float(mu),
                      sigma=old.sigma if sigma is None else float(sigma))
        label = f"{name}={new.mu:g}+-{new.sigma:g}"
        return Priors(f"{self.path} [{label}]", hashlib.sha256(
            f"{self.sha256}:{label}".encode()).hexdigest(), {**self.entries, name: new})

    def table_rows(self) -> list[dict[str, str]]:
        """One row per prior, for printing and for the provenance stored with every output."""
        rows = []
        for p in self.entries.values():
            dist = (
                f"Normal({p.mu:g}, {p.sigma:g})"
                if p.dist == "normal"
                else f"HalfNormal({p.sigma:g})"
            ) + "".join(f", correlation {r:g} with {other}" for other, r in p.correlation)
            rows.append(
                {
                    "section": p.section,
                    "name": p.name,
                    "prior": dist,
                    "unit": p.unit,
                    "evidence": ", ".join(p.evidence),
                }
            )
        return rows


def load_priors(path: Priors | str | Path | None = None) -> Priors:
    """Read and check a priors file (None: the literature priors; a `Priors` is returned as it
    is); a malformed file raises InputError naming the key."""
    if isinstance(path, Priors):
        return path
    path = Path(path) if path is not None else DEFAULT_PRIORS_PATH
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read priors file ({exc.strerror})") from None
    try:
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a valid TOML priors file ({exc})") from None
    entries: dict[str, Prior] = {}
    for section, names in _SECTIONS.items():
        table = raw.get(section)
        if not isinstance(table, dict):
            raise InputError(f"{path}: missing table [{section}]")
        for name in names:
            entries[name] = _read_prior(path, section, name, table.get(name))
    return Priors(str(path), hashlib.sha256(raw_bytes).hexdigest(), entries)


def _read_prior(path: Path, section: str, name: str, spec: object) -> Prior:
    key = f"{section}.{name}"
    if not isinstance(spec, dict):
        raise InputError(f"{path}: missing prior [{key}]")
    dist = spec.get("dist")
    if dist not in ("normal", "halfnormal"):
        raise InputError(f"{path}: [{key}] dist must be 'normal' or 'halfnormal', got {dist!r}")
    if section in ("heterogeneity",) or name == "ck_log_sd":
        if dist != "halfnormal":
            raise InputError(f"{path}: [{key}] is a standard deviation: dist must be 'halfnormal'")
    sigma = spec.get("sigma")
    mu = spec.get("mu", 0.0) if dist == "normal" else 0.0
    for field, value in (("sigma", sigma), ("mu", mu)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"{path}: [{key}] {field} must be a number, got {value!r}")
    if not sigma > 0:
        raise InputError(f"{path}: [{key}] sigma must be > 0, got {sigma}")
    correlation = _read_correlation(path, key, spec.get("correlation"))
    evidence = spec.get("evidence", [])
    if not evidence or not all(isinstance(e, str) for e in evidence):
        raise InputError(f"{path}: [{key}] evidence must list the study ids it rests on")
    return Prior(
        section,
        name,
        dist,
        float(mu),
        float(sigma),
        str(spec.get("unit", "")),
        tuple(evidence),
        str(spec.get("arithmetic", "")).strip(),
        str(spec.get("sign", "")),
        correlation,
    )


#: the correlations a priors file may state: entry -> the entries it may be correlated with
_CORRELATIONS = {"baseline.log_hazard_per_km": ("distance_shape",)}


def _read_correlation(path: Path, key: str, spec: object) -> tuple[tuple[str, float], ...]:
    if spec is None:
        return ()
    allowed = _CORRELATIONS.get(key, ())
    if not isinstance(spec, dict) or not allowed:
        raise InputError(f"{path}: [{key}] correlation: only [baseline.log_hazard_per_km] may "
                         "have one, as a table such as {{ distance_shape = -0.8 }}")
    out = []
    for other, value in spec.items():
        if other not in allowed:
            raise InputError(f"{path}: [{key}] correlation.{other}: may only be with "
                             f"{', '.join(allowed)}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not -1 < value < 1:
            raise InputError(f"{path}: [{key}] correlation.{other} must be a number strictly "
                             f"between -1 and 1, got {value!r}")
        out.append((other, float(value)))
    return tuple(out)

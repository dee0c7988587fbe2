"""Literature priors as data: load, check and tabulate the priors file (priors.toml, next to this
module), and rebuild them without one study's evidence (`load_priors(exclude_evidence=...)`).

Leaving a study out (a researcher re-analysing that very cohort must not count it twice): each
prior names in `source` the rows its mu/sigma were computed from, and a `fallback` (mu, sigma,
why) used when any of them is excluded. Rows cited in `evidence` but not in `source` only agree
in direction or motivate a judgement, so leaving them out does not change the prior (a
direction-only row is no effect size to remove). A prior with no `source` is a stated
judgement and never changes."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from model.errors import InputError, Problems
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
    #: the evidence rows mu/sigma were computed from (empty: a judgement, see the module doc)
    source: tuple[str, ...] = ()
    #: (mu, sigma, why) used instead when a `source` row is excluded
    fallback: tuple[float, float, str] | None = None

    def describe(self) -> str:
        """The distribution as text, e.g. Normal(0.6, 0.35) or HalfNormal(0.75)."""
        return (f"Normal({self.mu:g}, {self.sigma:g})" if self.dist == "normal"
                else f"HalfNormal({self.sigma:g})")


@dataclass(frozen=True)
class PriorChange:
    """A prior changed by leaving evidence out: before and after, and why."""

    name: str
    before: str
    after: str
    why: str

    @property
    def changed(self) -> bool:
        return self.after != "unchanged"

    def __str__(self) -> str:
        arrow = f" -> {self.after}" if self.changed else " unchanged"
        return f"{self.name}: {self.before}{arrow} ({self.why})"


@dataclass(frozen=True)
class Priors:
    """All priors of the model, read from one file; `sha256` identifies the file's content."""

    path: str
    sha256: str
    entries: dict[str, Prior]
    #: evidence rows left out (`load_priors(exclude_evidence=...)`) and what that changed
    excluded: tuple[str, ...] = ()
    changes: tuple[PriorChange, ...] = ()

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
            f"{self.sha256}:{label}".encode()).hexdigest(), {**self.entries, name: new},
            self.excluded, self.changes)

    def studies(self) -> dict[str, list[str]]:
        """Evidence id -> the priors citing it, in the file's order (ids sorted E1, E2, ...)."""
        citing: dict[str, list[str]] = {}
        for p in self.entries.values():
            for e in p.evidence:
                citing.setdefault(e, []).append(p.name)
        return dict(sorted(citing.items(), key=lambda kv: _id_order(kv[0])))

    def without(self, evidence_ids: str | list[str] | tuple[str, ...]) -> Priors:
        """These priors rebuilt without the given evidence rows (see the module docstring):
        a prior computed from an excluded row takes its `fallback`; `changes` lists each change
        (before -> after, why). Unknown ids raise InputError listing the known ones."""
        ids = parse_evidence_ids(evidence_ids)
        if not ids:
            return self
        known = known_evidence_ids(self)
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise InputError(f"exclude_evidence: unknown evidence id(s) {', '.join(unknown)} "
                             f"(known: {', '.join(sorted(known, key=_id_order))})")
        entries, changes = dict(self.entries), []
        for name, p in self.entries.items():
            cited = [e for e in p.evidence if e in ids]
            if not cited:
                continue
            kept = tuple(e for e in p.evidence if e not in ids)
            hit = [e for e in p.source if e in ids]
            if not hit or p.fallback is None:  # direction or judgement only: mu/sigma stay
                entries[name] = replace(p, evidence=kept)
                changes.append(PriorChange(name, p.describe(), "unchanged", (
                    f"{', '.join(cited)} cited for direction or judgement only, not its size")))
                continue
            mu, sigma, why = p.fallback
            entries[name] = new = replace(p, mu=mu if p.dist == "normal" else 0.0, sigma=sigma,
                                          correlation=(), evidence=kept)
            changes.append(PriorChange(name, p.describe(), new.describe(),
                                       f"{', '.join(hit)} excluded: {why}"))
        moved = [c.name for c in changes if c.changed and entries[c.name].section != "baseline"]
        for name in BASELINE if moved and not any(
                c.changed and c.name in BASELINE for c in changes) else ():
            changes.append(PriorChange(name, self.entries[name].describe(), "unchanged", (
                f"calibrated integrating over the former {', '.join(moved)} priors; `cramp priors "
                f"calibrate --exclude-evidence {','.join(ids)}` shows it recalibrated")))
        # a correlation with an entry that fell back no longer holds
        for name, p in entries.items():
            kept = tuple((o, r) for o, r in p.correlation
                         if (entries[o].mu, entries[o].sigma)
                         == (self.entries[o].mu, self.entries[o].sigma))
            if kept != p.correlation:
                entries[name] = replace(p, correlation=kept)
        label = "without " + ", ".join(ids)
        excluded = tuple(sorted({*self.excluded, *ids}, key=_id_order))
        return Priors(f"{self.path} [{label}]", hashlib.sha256(
            f"{self.sha256}:{label}".encode()).hexdigest(), entries, excluded,
            (*self.changes, *changes))

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


def parse_evidence_ids(ids: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Evidence ids from a list and/or comma-separated text ("E2,E5"), upper-cased, in order,
    without repeats."""
    if ids is None:
        return ()
    items = [ids] if isinstance(ids, str) else list(ids)
    out: list[str] = []
    for item in items:
        for part in str(item).split(","):
            part = part.strip().upper()
            if part and part not in out:
                out.append(part)
    return tuple(out)


def known_evidence_ids(priors: Priors | None = None) -> set[str]:
    """The ids of the evidence table (docs/evidence.md) and any a priors file cites."""
    from model.evidence.table import load_evidence

    known = set(load_evidence()["id"])
    return known | (set(priors.studies()) if priors is not None else set())


def _id_order(evidence_id: str) -> tuple[int, str]:
    digits = evidence_id[1:]
    return (int(digits) if digits.isdigit() else 10**6, evidence_id)


def load_priors(path: Priors | str | Path | None = None, *,
                exclude_evidence: str | list[str] | tuple[str, ...] | None = None) -> Priors:
    """Read and check a priors file (None: the literature priors; a `Priors` is used as it
    is); a malformed file raises InputError naming the key. `exclude_evidence`: evidence ids
    (e.g. ["E2"] or "E2,E5") whose contribution is left out (`Priors.without`)."""
    if isinstance(path, Priors):
        return path.without(exclude_evidence) if exclude_evidence else path
    path = Path(path) if path is not None else DEFAULT_PRIORS_PATH
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read priors file ({exc.strerror})") from None
    try:
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a valid TOML priors file ({exc})") from None
    problems = Problems(str(path))
    entries: dict[str, Prior] = {}
    for section, names in _SECTIONS.items():
        table = raw.get(section)
        if not isinstance(table, dict):
            problems.add(None, f"missing table [{section}]")
            continue
        for name in names:
            prior = _read_prior(problems, section, name, table.get(name))
            if prior is not None:
                entries[name] = prior
    problems.raise_if_any("the priors file", single=True)
    priors = Priors(str(path), hashlib.sha256(raw_bytes).hexdigest(), entries)
    return priors.without(exclude_evidence) if exclude_evidence else priors


def _read_prior(problems: Problems, section: str, name: str, spec: object) -> Prior | None:
    """The prior [section.name], or None with each rule it breaks added to `problems`."""
    key = f"{section}.{name}"
    if not isinstance(spec, dict):
        problems.add(None, f"missing prior [{key}]")
        return None
    found = len(problems)
    dist = spec.get("dist")
    if dist not in ("normal", "halfnormal"):
        problems.add(None, f"[{key}] dist must be 'normal' or 'halfnormal', got {dist!r}")
    elif (section in ("heterogeneity",) or name == "ck_log_sd") and dist != "halfnormal":
        problems.add(None, f"[{key}] is a standard deviation: dist must be 'halfnormal'")
    sigma = spec.get("sigma")
    mu = spec.get("mu", 0.0) if dist == "normal" else 0.0
    if _numbers(problems, key, "", sigma=sigma, mu=mu) and not sigma > 0:
        problems.add(None, f"[{key}] sigma must be > 0, got {sigma}")
    correlation = _read_correlation(problems, key, spec.get("correlation"))
    evidence = spec.get("evidence", [])
    if not evidence or not all(isinstance(e, str) for e in evidence):
        problems.add(None, f"[{key}] evidence must list the study ids it rests on")
        evidence = []
    source = _read_source(problems, key, dist, tuple(evidence), spec)
    if len(problems) > found:
        return None
    return Prior(
        section,
        name,
        str(dist),
        float(mu),
        float(sigma),
        str(spec.get("unit", "")),
        tuple(evidence),
        str(spec.get("arithmetic", "")).strip(),
        str(spec.get("sign", "")),
        correlation,
        *source,
    )


def _numbers(problems: Problems, key: str, prefix: str, **values: object) -> bool:
    """Whether each of `values` is a number (a bool is not); each that is not is a problem."""
    ok = True
    for field, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.add(None, f"[{key}] {prefix}{field} must be a number, got {value!r}")
            ok = False
    return ok


def _read_source(problems: Problems, key: str, dist: object, evidence: tuple[str, ...],
                 spec: dict) -> tuple[tuple[str, ...], tuple[float, float, str] | None]:
    """`source` (rows mu/sigma come from, a subset of `evidence`) and its `fallback`; a file
    without them (an older copy) has priors that no exclusion changes."""
    none: tuple[tuple[str, ...], None] = ((), None)
    found = len(problems)
    source = spec.get("source", [])
    if not isinstance(source, list) or not all(isinstance(e, str) for e in source):
        problems.add(None, f"[{key}] source must list evidence ids, got {source!r}")
        return none
    outside = [e for e in source if e not in evidence]
    if outside and evidence:  # no evidence at all is reported as such
        problems.add(None, f"[{key}] source {', '.join(outside)} is not in its evidence")
    fallback = spec.get("fallback")
    if not source:
        return none
    if not isinstance(fallback, dict):
        problems.add(None, f"[{key}] has a source, so it needs fallback = {{ mu = ..., "
                     "sigma = ..., why = \"...\" } (the prior without that row)")
        return none
    mu, sigma = fallback.get("mu", 0.0), fallback.get("sigma")
    if _numbers(problems, key, "fallback.", sigma=sigma, mu=mu) and (
            not sigma > 0 or (dist == "halfnormal" and mu != 0)):
        problems.add(None, f"[{key}] fallback needs sigma > 0 (and no mu for a half-normal)")
    why = str(fallback.get("why", "")).strip()
    if not why:
        problems.add(None, f"[{key}] fallback.why must say what the fallback rests on")
    if len(problems) > found:
        return none
    return tuple(source), (float(mu), float(sigma), why)  # type: ignore[arg-type]


#: the correlations a priors file may state: entry -> the entries it may be correlated with
_CORRELATIONS = {"baseline.log_hazard_per_km": ("distance_shape",)}


def _read_correlation(problems: Problems, key: str, spec: object
                      ) -> tuple[tuple[str, float], ...]:
    if spec is None:
        return ()
    allowed = _CORRELATIONS.get(key, ())
    if not isinstance(spec, dict) or not allowed:
        problems.add(None, f"[{key}] correlation: only [baseline.log_hazard_per_km] may have "
                     "one, as a table such as { distance_shape = -0.8 }")
        return ()
    out = []
    for other, value in spec.items():
        if other not in allowed:
            problems.add(None, f"[{key}] correlation.{other}: may only be with "
                         f"{', '.join(allowed)}")
        elif isinstance(value, bool) or not isinstance(value, int | float) \
                or not -1 < value < 1:
            problems.add(None, f"[{key}] correlation.{other} must be a number strictly between "
                         f"-1 and 1, got {value!r}")
        else:
            out.append((other, float(value)))
    return tuple(out)

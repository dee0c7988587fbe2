"""Published figures as data: read and check published_figures.toml (next to this module), the
studies the baseline priors are calibrated on and the figures the prior predictive table shows."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from model.errors import InputError
from model.evidence.study_fields import FieldSpec

DEFAULT_FIGURES_PATH = Path(__file__).with_name("published_figures.toml")

USES = ("likelihood", "context")
LINKS = ("in_race", "at_most", "onset_mean_sd")
MEASURES = ("incidence", "onset_km", "onset_share_after_km", "onset_share_last_quarter")
_LINK_MEASURE = {"in_race": "incidence", "at_most": "incidence", "onset_mean_sd": "onset_km"}
_SETTINGS = ("seed", "nuisance_draws", "runners_per_field", "study_effect_nodes",
             "log_hazard_grid", "onset_log_hazard_step", "distance_shape_grid",
             "reference_prior", "predictive_draws", "interval_prob")


@dataclass(frozen=True)
class Figure:
    """One published figure: a count (numerator of denominator), a share (`value`), or an onset
    mean and SD [km] among `denominator` crampers."""

    study: str
    measure: str
    use: str
    link: str
    numerator: int | None
    denominator: int | None
    value: float
    mean_km: float | None
    sd_km: float | None
    km: float | None
    quote: str
    reason: str

    @property
    def label(self) -> str:
        if self.measure == "onset_km":
            return "onset km, mean (SD)"
        if self.measure == "onset_share_after_km":
            return f"share of onsets after {self.km:g} km"
        return {"incidence": "incidence", "onset_share_last_quarter":
                "share of onsets in the last quarter"}[self.measure]


@dataclass(frozen=True)
class Study:
    """A study's evidence row, its typical field and its figures."""

    id: str
    label: str
    field: FieldSpec
    field_notes: str
    figures: tuple[Figure, ...]


@dataclass(frozen=True)
class PublishedFigures:
    """All studies and the calibration settings; `sha256` identifies the file's content."""

    path: str
    sha256: str
    settings: dict
    studies: tuple[Study, ...]

    def used(self) -> list[Study]:
        """The studies with at least one likelihood figure."""
        return [s for s in self.studies if any(f.use == "likelihood" for f in s.figures)]

    def evidence_ids(self) -> list[str]:
        return [s.id for s in self.used()]


def load_figures(path: str | Path | None = None) -> PublishedFigures:
    """Read and check the published figures file; a bad entry raises InputError naming the file,
    the study and the key."""
    path = Path(path) if path is not None else DEFAULT_FIGURES_PATH
    try:
        raw_bytes = path.read_bytes()
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read published figures ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a valid TOML file ({exc})") from None
    settings = raw.get("calibration")
    if not isinstance(settings, dict):
        raise InputError(f"{path}: missing table [calibration]")
    for key in _SETTINGS:
        if key not in settings:
            raise InputError(f"{path}: [calibration] {key} is missing")
    studies = raw.get("study")
    if not isinstance(studies, list) or not studies:
        raise InputError(f"{path}: no [[study]] entries")
    seen: set[str] = set()
    out = []
    for i, spec in enumerate(studies, start=1):
        study = _read_study(path, i, spec)
        if study.id in seen:
            raise InputError(f"{path}: study {i} ({study.id}): id used twice")
        seen.add(study.id)
        out.append(study)
    return PublishedFigures(str(path), hashlib.sha256(raw_bytes).hexdigest(), settings,
                            tuple(out))


def _read_study(path: Path, i: int, spec: dict) -> Study:
    where = f"{path}: study {i}"
    sid = spec.get("id")
    if not isinstance(sid, str) or not sid.startswith("E"):
        raise InputError(f"{where}: id must be an evidence row id such as 'E15', got {sid!r}")
    where = f"{where} ({sid})"
    raw_field = spec.get("field")
    if not isinstance(raw_field, dict):
        raise InputError(f"{where}: missing field = {{...}} (the study's typical field)")
    values = {}
    for f in fields(FieldSpec):
        value = raw_field.get(f.name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"{where}: field.{f.name} must be a number, got {value!r}")
        values[f.name] = float(value)
    for share in ("cramp_history_share", "fast_start_share"):
        if not 0 <= values[share] <= 1:
            raise InputError(f"{where}: field.{share} must be in [0, 1], got {values[share]}")
    for positive in ("distance_km", "marathon_time_median_h", "longest_run_mean_km"):
        if values[positive] <= 0:
            raise InputError(f"{where}: field.{positive} must be > 0, got {values[positive]}")
    figures = spec.get("figure")
    if not isinstance(figures, list) or not figures:
        raise InputError(f"{where}: no [[study.figure]] entries")
    return Study(sid, str(spec.get("label", sid)), FieldSpec(**values),
                 str(spec.get("field_notes", "")).strip(),
                 tuple(_read_figure(f"{where} figure {j}", sid, fig)
                       for j, fig in enumerate(figures, start=1)))


def _read_figure(where: str, sid: str, fig: dict) -> Figure:
    measure, use, link = fig.get("measure"), fig.get("use"), fig.get("link", "")
    if measure not in MEASURES:
        raise InputError(f"{where}: measure must be one of {', '.join(MEASURES)}, got {measure!r}")
    if use not in USES:
        raise InputError(f"{where}: use must be 'likelihood' or 'context', got {use!r}")
    if use == "likelihood" and _LINK_MEASURE.get(link) != measure:
        raise InputError(f"{where}: a likelihood figure needs a link for {measure} "
                         f"({', '.join(k for k, v in _LINK_MEASURE.items() if v == measure)}),"
                         f" got {link!r}")
    if use == "context" and not str(fig.get("reason", "")).strip():
        raise InputError(f"{where}: a context figure must give the reason it is not fitted")
    num, den = fig.get("numerator"), fig.get("denominator")
    for key, value in (("numerator", num), ("denominator", den)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 0):
            raise InputError(f"{where}: {key} must be a whole number >= 0, got {value!r}")
    if measure == "onset_km":
        for key in ("mean_km", "sd_km"):
            if not isinstance(fig.get(key), int | float) or fig[key] <= 0:
                raise InputError(f"{where}: {key} must be a number > 0, got {fig.get(key)!r}")
        if den is None or den < 2:
            raise InputError(f"{where}: denominator (crampers behind the mean) must be >= 2")
        value = float(fig["mean_km"])
    elif num is not None:
        if den is None or den < 1 or num > den:
            raise InputError(f"{where}: needs 0 <= numerator <= denominator, got {num}/{den}")
        value = num / den
    else:
        value = fig.get("value")
        if not isinstance(value, int | float) or not 0 <= value <= 1:
            raise InputError(f"{where}: give numerator/denominator or a share 'value' in [0, 1]")
    km = fig.get("km")
    if measure == "onset_share_after_km" and not isinstance(km, int | float):
        raise InputError(f"{where}: onset_share_after_km needs km (a number), got {km!r}")
    return Figure(sid, measure, use, link, num, den, float(value),
                  fig.get("mean_km"), fig.get("sd_km"), km, str(fig.get("quote", "")),
                  str(fig.get("reason", "")).strip())

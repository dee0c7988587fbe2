"""The evidence table behind the priors (docs/evidence.md, a copy of the team's evidence notes),
as a DataFrame, and which priors cite each study."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pandas as pd

from model.evidence.priors import Priors

# docs/evidence.md is the one copy: a source checkout reads it there; a built wheel carries it as
# package data next to this module (pyproject.toml, force-include).
_IN_CHECKOUT = Path(__file__).resolve().parents[2] / "docs" / "evidence.md"
_IN_WHEEL = resources.files("model.evidence") / "evidence.md"
EVIDENCE_PATH = _IN_CHECKOUT if _IN_CHECKOUT.exists() else Path(str(_IN_WHEEL))


def load_evidence(path: str | Path = EVIDENCE_PATH) -> pd.DataFrame:
    """The studies table (id, study, design, outcome, key figures) of the evidence notes."""
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| E") and len(cells) >= 5:
            rows.append(cells[:4] + [" | ".join(cells[4:])])
    return pd.DataFrame(rows, columns=["id", "study", "design", "outcome", "key_figures"])


def cited_by(evidence: pd.DataFrame, priors: Priors) -> pd.DataFrame:
    """The evidence table with a column naming the priors that cite each study."""
    citing = {row_id: [] for row_id in evidence["id"]}
    for prior in priors.entries.values():
        for e in prior.evidence:
            citing.setdefault(e, []).append(prior.name)
    return evidence.assign(cited_by=[", ".join(citing.get(i, [])) for i in evidence["id"]])


def short_name(study: str) -> str:
    """A study's short name: its citation up to the year ('Schwellnus, Allie, Derman, Collins
    2011'), or its first words when no year is given."""
    match = re.match(r"^(.*?\b(?:19|20)\d\d)\b", study)
    text = match.group(1) if match else study
    text += ")" * (text.count("(") - text.count(")"))
    return text if len(text) <= 60 else text[:57].rstrip() + "..."


def studies_behind(priors: Priors, evidence: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per study the priors rest on: its short name, the priors whose mean/SD were
    computed from it (`sized`), and those citing it for direction or judgement only (`cited`)."""
    evidence = load_evidence() if evidence is None else evidence
    names = dict(zip(evidence["id"], evidence["study"].map(short_name), strict=True))
    rows = []
    for study_id, citing in priors.studies().items():
        sized = [n for n in citing if study_id in priors[n].source]
        rows.append({"id": study_id, "study": names.get(study_id, "(not in the evidence table)"),
                     "sized": ", ".join(sized),
                     "cited": ", ".join(n for n in citing if n not in sized)})
    return pd.DataFrame(rows, columns=["id", "study", "sized", "cited"]).set_index("id")

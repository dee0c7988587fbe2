"""An installed cramp-risk carries what it reads at run time: the priors, the shipped scenarios
and the evidence table the priors cite."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_carries_priors_scenarios_and_evidence(tmp_path):
    uv = shutil.which("uv")
    assert uv, "uv (the README's prerequisite) is not on PATH"
    subprocess.run([uv, "build", "--wheel", "--out-dir", str(tmp_path), str(ROOT)], check=True,
                   capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("cramp_risk-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    carried = {"model/evidence/priors.toml", "model/evidence/evidence.md", "cramp/__init__.py"}
    assert carried <= names
    shipped = {p.name for p in (ROOT / "scenarios" / "library").glob("*.toml")}
    assert {f"scenarios/library/{name}" for name in shipped} <= names
    packaged = zipfile.ZipFile(wheel).read("model/evidence/evidence.md")
    assert packaged == (ROOT / "docs" / "evidence.md").read_bytes()

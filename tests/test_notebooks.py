"""Every notebook executes headless through `cramp report` in a fast smoke mode, and two
executions with the same parameters give the same numbers."""

import os
import subprocess
import sys

import nbformat
import pytest

from cramp.report import NOTEBOOKS

SMOKE = {
    "evidence_to_priors": ["-p", "runners", "200", "-p", "draws", "50"],
    "what_if_coach": ["-p", "draws", "100"],
    "fitting_logged_data": ["-p", "runners", "400", "-p", "draws", "150", "-p", "tune", "150"],
}


def report(name: str, out, *extra, env=None):
    return subprocess.run([sys.executable, "-m", "cramp.cli", "report", name, *SMOKE[name],
                           *extra, "--out", str(out)], capture_output=True, text=True, env=env)


def text_outputs(path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            texts.append(output.get("text", "") + data.get("text/plain", "")
                         + data.get("text/markdown", "") + data.get("text/html", ""))
    return texts


def test_every_notebook_is_covered():
    assert {p.stem for p in NOTEBOOKS.glob("*.py")} == set(SMOKE)


def test_a_report_has_its_plots_whatever_backend_the_caller_set(tmp_path):
    # importing streamlit (the web page) sets MPLBACKEND=Agg process-wide; a report run from
    # such a process must still embed its plots
    result = report("what_if_coach", tmp_path, env={**os.environ, "MPLBACKEND": "Agg"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "<img" in (tmp_path / "what_if_coach.html").read_text()


@pytest.mark.parametrize("name", sorted(SMOKE))
def test_notebook_executes_into_an_html_report(name, tmp_path):
    result = report(name, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    html = (tmp_path / f"{name}.html").read_text()
    for expected in ("git commit", "priors_sha256", "<img"):
        assert expected in html, f"{expected!r} missing from the {name} report"
    assert "Traceback" not in html


def test_same_parameters_same_numbers(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        assert report("what_if_coach", out).returncode == 0
    assert text_outputs(first / "what_if_coach.ipynb") == text_outputs(
        second / "what_if_coach.ipynb")


def test_unknown_parameter_is_refused(tmp_path):
    result = subprocess.run([sys.executable, "-m", "cramp.cli", "report", "what_if_coach", "-p",
                             "dragons", "3", "--out", str(tmp_path)], capture_output=True,
                            text=True)
    assert result.returncode == 2 and "dragons" in result.stderr


@pytest.mark.parametrize("name", sorted(SMOKE))
def test_every_parameter_line_is_a_parameter(name):
    """papermill skips a parameter line whose comment contains '=': each assignment in the
    parameters cell must be one `-p KEY VALUE` can set."""
    from cramp.report import notebook_parameters

    path = NOTEBOOKS / f"{name}.py"
    cell = path.read_text().split('tags=["parameters"]', 1)[1].split("# %%", 1)[0]
    assigned = {line.split("=", 1)[0].strip() for line in cell.splitlines() if "=" in line}
    assert set(notebook_parameters(path)) == assigned


def test_report_paths_are_the_users_not_the_repositorys(tmp_path):
    """A relative path given with -p is read from where the user runs `cramp report`."""
    import shutil

    from scenarios.spec import LIBRARY

    shutil.copy(LIBRARY / "goal_marathon_runner.toml", tmp_path / "my_runner.toml")
    result = subprocess.run([sys.executable, "-m", "cramp.cli", "report", "what_if_coach",
                             "-p", "scenario", "my_runner.toml", "-p", "draws", "50",
                             "--out", "out"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "goal marathon" in (tmp_path / "out" / "what_if_coach.html").read_text()


def test_the_coach_report_reads_like_the_page_and_hides_code_unless_asked(tmp_path):
    result = report("what_if_coach", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    html = (tmp_path / "what_if_coach.html").read_text()
    assert "risk of a cramp [%]" in html and "as planned" in html
    assert "risk_difference lo [pts]" not in html  # the API's column names stay in the notebook
    assert "hl-ipython3" not in html  # code cells (highlighted Python) hidden by default
    shown = report("what_if_coach", tmp_path / "code", "--show-code")
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert "hl-ipython3" in (tmp_path / "code" / "what_if_coach.html").read_text()

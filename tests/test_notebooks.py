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


def real_study(folder, n: int, seed: int, *, one_race: bool):
    """A researcher's files: records (and splits) as CSV in `folder`, without the synthetic
    cohort's onset km; with `one_race`, one race at one WBGT and every runner once."""
    import cramp

    table, splits = cramp.synthesize(n, seed)
    table = table.drop(columns=["cramp_km"])
    if one_race:
        table = table.assign(race_id="study", runner_id=[f"S{i}" for i in range(n)],
                             wbgt_c=21.0)  # one race day, one WBGT reported for it
    table.to_csv(folder / "study.csv", index=False)
    splits.to_csv(folder / "study_splits.csv", index=False)


def test_the_fitting_report_on_real_study_data(tmp_path):
    """One report covers a researcher's case: -p data and -p priors_path as paths relative to
    where `cramp report` runs, one race, n = 50, no onset km, no splits, E2 left out."""
    import shutil

    from model.evidence.priors import DEFAULT_PRIORS_PATH

    real_study(tmp_path, 50, 2, one_race=True)
    shutil.copy(DEFAULT_PRIORS_PATH, tmp_path / "my_priors.toml")
    result = subprocess.run(
        [sys.executable, "-m", "cramp.cli", "report", "fitting_logged_data", "-p", "data",
         "study.csv", "-p", "priors_path", "my_priors.toml", "-p", "exclude_evidence", "E2",
         "-p", "draws", "300", "-p", "tune", "300", "--out", "out"],
        capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    html = (tmp_path / "out" / "fitting_logged_data.html").read_text()
    header = html.split("Data hash, seed and priors", 1)[0]
    assert "study.csv" in header and "runners" not in header  # no synthetic leftovers
    assert "true value" not in html
    assert "Traceback" not in html and "<img" in html
    assert "50 runner-races" in html and "my_priors.toml" in html
    assert "Evidence left out: <strong>E2</strong>" in html
    assert "relative_pace: Normal(0.6, 0.35) -&gt; Normal(0.3, 0.5)" in html
    # what the data cannot tell, and the sections that cannot apply, each in a sentence
    assert "race_sd: one race" in html and "beta[heat]: the same WBGT" in html
    assert "Skipped: no cramp in these records has a recorded onset km" in html
    assert "With 50 runner-races" in html and "With 50 runners the comparison" in html
    assert "power-scaling" in html and ("strong prior" in html or "data-driven" in html)


@pytest.mark.slow
def test_the_fitting_report_reads_a_splits_file(tmp_path):
    real_study(tmp_path, 150, 3, one_race=False)
    result = subprocess.run(
        [sys.executable, "-m", "cramp.cli", "report", "fitting_logged_data", "-p", "data",
         "study.csv", "-p", "splits", "study_splits.csv", "-p", "draws", "200", "-p", "tune",
         "200", "--out", "out"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    html = (tmp_path / "out" / "fitting_logged_data.html").read_text()
    header = html.split("Data hash, seed and priors", 1)[0]
    assert "study_splits.csv" in header and "runners" not in header
    assert "Traceback" not in html and "<img" in html


def test_a_second_report_into_the_same_place_is_refused_before_it_runs(tmp_path):
    from model.output_claim import OutputClaim

    with OutputClaim(tmp_path / "what_if_coach.html"):  # another run is writing this report
        second = report("what_if_coach", tmp_path)
    assert second.returncode == 2 and "in use by another run" in second.stderr
    assert "Traceback" not in second.stderr and list(tmp_path.iterdir()) == []

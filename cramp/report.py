"""Execute a jupytext notebook headless with parameters (papermill) and render it as HTML into
results/reports/, with a header recording how the report was made."""

from __future__ import annotations

import ast
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from cramp.result_files import IPYNB_RUN_ID_KEY, html_with_run_id
from model.errors import InputError
from model.output_claim import OutputSetClaim
from model.outputs import set_manifest_path
from model.provenance import git_commit, package_versions, run_id

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def resolve_notebook(name: str | Path) -> Path:
    """A path to a jupytext .py notebook, or the name of one in notebooks/."""
    path = Path(name)
    if path.exists():
        return path
    candidate = NOTEBOOKS / f"{path.stem}.py"
    if candidate.exists():
        return candidate
    names = ", ".join(sorted(p.stem for p in NOTEBOOKS.glob("*.py")))
    raise InputError(f"{name}: no such notebook (available: {names})")


def parse_value(text: str):
    """A parameter value from the command line: a Python literal (number, bool, list, quoted
    string) or else the text itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_parameters(args: list[str]) -> dict:
    """`-p KEY VALUE` pairs (repeatable) from the command line."""
    parameters, rest = {}, list(args)
    while rest:
        flag = rest.pop(0)
        if flag not in ("-p", "--parameter") or len(rest) < 2:
            raise InputError(f"unexpected {' '.join([flag, *rest])!r}: parameters are given as "
                             "-p KEY VALUE")
        key, value = rest.pop(0), rest.pop(0)
        parameters[key] = parse_value(value)
    return parameters


#: a parameter whose comment starts with this does not apply when the notebook is given `data`
#: (e.g. the size of a synthetic cohort): the report's header leaves it out then
SYNTHETIC_ONLY = "synthetic cohort only"


def notebook_parameters(path: Path, *, with_help: bool = False) -> dict:
    """The names and defaults of the notebook's `parameters` cell (`with_help`: name ->
    (default, the line's comment))."""
    import papermill

    with tempfile.TemporaryDirectory() as tmp:
        ipynb = Path(tmp) / f"{path.stem}.ipynb"
        _write_ipynb(_read_notebook(path), ipynb)
        found = papermill.inspect_notebook(str(ipynb))
    if with_help:
        return {name: (info["default"], info.get("help") or "") for name, info in found.items()}
    return {name: info["default"] for name, info in found.items()}


def run_report(notebook: str | Path, parameters: dict, out_dir: Path, *, force: bool = False,
               progress: bool = False, show_code: bool = False) -> Path:
    """Execute the notebook with `parameters` and write `<out_dir>/<name>.html` (and the executed
    .ipynb next to it, and `<name>.provenance.json` listing both). Unknown parameter names are
    an InputError. The HTML leaves out the code cells unless `show_code`: a reader wants the
    text, tables and plots. The files are claimed before the notebook runs and written as one
    set (model/output_claim.OutputSetClaim), each carrying the run's id."""
    import nbformat
    from nbconvert import HTMLExporter

    path = resolve_notebook(notebook)
    known = notebook_parameters(path, with_help=True)
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise InputError(f"{path}: unknown parameter(s) {', '.join(unknown)} "
                         f"(the notebook's parameters: {', '.join(known)})")
    html_path, ipynb_path = out_dir / f"{path.stem}.html", out_dir / f"{path.stem}.ipynb"
    # both files claimed before the notebook runs: a second report into the same place is
    # refused at once (not overwritten at the end), a read-only place found before the work;
    # the pair shares a manifest, so a run killed between its two renames leaves a set that
    # the next run reports as incomplete
    provenance = {"notebook": path.name, "parameters": parameters, "show_code": show_code,
                  "git_commit": git_commit(), "packages": package_versions()}
    with OutputSetClaim((html_path, ipynb_path), set_manifest_path(html_path),
                        force=force) as claim:
        result = _execute(path, parameters, known, progress)
        rid = run_id({"notebook": path.name, **parameters, **package_versions()})
        result.metadata[IPYNB_RUN_ID_KEY] = rid
        html, _ = HTMLExporter(exclude_input_prompt=True, exclude_output_prompt=True,
                               exclude_input=not show_code).from_notebook_node(result)
        claim.commit({ipynb_path: nbformat.writes(result).encode(),
                      html_path: html_with_run_id(html, rid).encode()}, rid, provenance)
    return html_path


def _execute(path: Path, parameters: dict, known: dict, progress: bool):
    """The notebook executed with `parameters` (a header cell first), as a notebook node."""
    import nbformat
    import papermill

    with tempfile.TemporaryDirectory() as tmp:
        source, executed = Path(tmp) / "in.ipynb", Path(tmp) / "out.ipynb"
        nb = _read_notebook(path)
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(_header(path, parameters, known)))
        _write_ipynb(nb, source)
        try:
            with _inline_plots():
                papermill.execute_notebook(str(source), str(executed), parameters=parameters,
                                           kernel_name="python3", progress_bar=progress,
                                           cwd=str(Path.cwd()))  # paths given are the user's
        except papermill.PapermillExecutionError as exc:
            raise RuntimeError(f"{path}: cell {exc.exec_count} failed: {exc.ename}: "
                               f"{exc.evalue}") from exc
        return nbformat.read(executed, as_version=4)


@contextmanager
def _inline_plots():
    """The kernel inherits this process's environment: an MPLBACKEND set there (importing
    streamlit sets Agg process-wide; a user may have set it) would leave the report without its
    plots. The kernel gets the inline backend; the environment is restored after."""
    before = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = before


def _read_notebook(path: Path):
    import jupytext

    nb = jupytext.read(path)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def _write_ipynb(nb, path: Path) -> None:
    import jupytext

    jupytext.write(nb, path)


def _header(path: Path, parameters: dict, known: dict) -> str:
    """The report's first cell: how it was made. Parameters that do not apply (synthetic-cohort
    ones when `data` is given) are left out, so a report on real data shows none of them."""
    real_data = bool(parameters.get("data"))
    used = {name: parameters.get(name, default) for name, (default, help_text) in known.items()
            if not (real_data and help_text.strip().startswith(SYNTHETIC_ONLY))}
    versions = package_versions()
    return "\n".join([
        f"**Report** `{path.name}` executed by `cramp report` — git commit `{git_commit()}`.",
        "",
        f"Parameters: `{json.dumps(used, default=str)}`",
        "",
        "Packages: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())),
        "",
        "Data hash, seed and priors used are printed in the provenance section at the end.",
    ])

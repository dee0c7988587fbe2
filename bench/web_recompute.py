"""Benchmark the web page's answer time after the first load (issue 21): one runner, 1000 draws,
one input changed per submit, measured through Streamlit's AppTest (the page script rerun on a
submit, the simulation, the tables and the three plots; no browser or network).

Reference, measured in the same run and interleaved: `Scenario.run` + `table()` alone for the same
scenario (the simulation the answer needs), so the ratio says what the page adds on top.
The target is under ~1 s per changed submit. Run:
``uv run python bench/web_recompute.py [--repeats 5]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

from streamlit.testing.v1 import AppTest  # noqa: E402

import cramp  # noqa: E402

PAGE = Path(__file__).resolve().parent.parent / "cramp" / "web" / "page.py"
TARGETS = ["3:29:00", "3:31:00", "3:28:00", "3:32:00", "3:27:00", "3:33:00", "3:26:00",
           "3:34:00", "3:25:00", "3:35:00", "3:24:00", "3:36:00"]


def submit(at: AppTest, target: str) -> float:
    next(w for w in at.text_input if w.key == "target").set_value(target)
    button = next(b for b in at.button if b.label == "Compare the plans")
    start = time.perf_counter()
    button.click().run()
    elapsed = time.perf_counter() - start
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    assert any("Risk of a cramp" in h.value for h in at.header)
    return elapsed


def reference(target: str) -> float:
    scenario = cramp.Scenario.load("goal_marathon_runner").replace(
        pacing={"target_time": target})
    start = time.perf_counter()
    scenario.run(draws=1000).table()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    start = time.perf_counter()
    at = AppTest.from_file(str(PAGE), default_timeout=300)
    at.run()
    submit(at, "3:30:00")  # the first load: imports, priors, first simulation, plot fonts
    first = time.perf_counter() - start
    reference("3:30:00")
    page, ref = [], []
    for target in TARGETS[: args.repeats]:
        page.append(submit(at, target))  # a changed input: a cache miss, a full recompute
        ref.append(reference(target))
    cached = submit(at, TARGETS[0])  # asked before: from st.cache_data
    p, r = statistics.median(page), statistics.median(ref)
    print(f"first load + first answer (AppTest, in-process): {first:.2f} s")
    print(f"changed input, page answer: median {p:.2f} s (min {min(page):.2f}, max "
          f"{max(page):.2f}) over {len(page)} submits")
    print(f"reference Scenario.run(draws=1000) + table(): median {r:.3f} s")
    print(f"page / reference: {p / r:.1f}x; a repeated question (cached): {cached:.2f} s")


if __name__ == "__main__":
    main()

"""The default fit converges on the study designs researchers have, from one race to a hundred,
and recovers the truth: cohorts drawn by tests/design_cohorts.py (independent of the project's
generator), fitted with `cramp fit`'s defaults. Converged means R-hat < 1.01, bulk and tail ESS
>= 400 and no divergences; recovered means every true value inside its 1 - 0.05/k interval."""

from __future__ import annotations

import pytest
from design_grid import FULL, QUICK, run_design


def _check(design, priors) -> None:
    result = run_design(design, seed=1, priors=priors)
    assert result["converged"], result
    assert not result["truth_misses"], result


@pytest.mark.parametrize("design", QUICK, ids=lambda d: d.label)
def test_default_fit_converges_and_recovers_on_few_race_designs(design, priors):
    _check(design, priors)


@pytest.mark.slow
@pytest.mark.parametrize("design", FULL[len(QUICK):], ids=lambda d: d.label)
def test_default_fit_converges_and_recovers_on_the_whole_design_grid(design, priors):
    _check(design, priors)

"""How much work a simulation is, known before it starts: cells (runners x 1 km segments x
parameter draws x plans), the result's size and a rough time, so that a command can show the
estimate and ask for confirmation above a documented limit instead of running for hours."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scenarios.population import N_NODES_CK, N_NODES_EFFECT
from scenarios.scenario import Scenario

# Above either limit `cramp simulate` asks for --yes (documented in scenarios/README.md).
# 5e10 cells take a few minutes on a 2-core laptop (~3e8 cells/s measured); 2 GB is a result
# that no longer fits comfortably in a laptop's memory next to the work.
MAX_CELLS_WITHOUT_CONFIRMATION = 5e10
MAX_RESULT_BYTES_WITHOUT_CONFIRMATION = 2e9
CELLS_PER_SECOND = 3e8  # threads backend, 2 cores (city_marathon_warm, 200 draws)


@dataclass(frozen=True)
class WorkEstimate:
    """A simulation's size: `cells` = runners x segments x draws x plans; `result_bytes` is
    the saved result's size [bytes] (the survival curves dominate)."""

    runners: int
    segments: int
    draws: int
    plans: int

    @property
    def cells(self) -> int:
        return self.runners * self.segments * self.draws * self.plans

    @property
    def result_bytes(self) -> int:
        return 8 * self.plans * self.draws * (self.segments + 4) + 2_000_000

    @property
    def seconds(self) -> float:
        return self.cells / CELLS_PER_SECOND

    @property
    def too_large(self) -> bool:
        return (self.cells > MAX_CELLS_WITHOUT_CONFIRMATION
                or self.result_bytes > MAX_RESULT_BYTES_WITHOUT_CONFIRMATION)

    def describe(self) -> str:
        return (f"{self.cells:.2g} cells ({self.runners:,} runners x {self.segments} km x "
                f"{self.draws:,} draws x {self.plans:,} plans), about {_duration(self.seconds)} "
                f"on 2 cores, a {self.result_bytes / 1e6:,.0f} MB result")


def work_estimate(scenario: Scenario, draws: int) -> WorkEstimate:
    """The work of simulating `scenario` with `draws` parameter draws (an upper bound: a
    posterior with fewer draws is used whole). A single runner counts as its quadrature
    copies (unknown effect x unknown CK)."""
    runners = (N_NODES_EFFECT * N_NODES_CK if scenario.runners.single
               else scenario.runners.count)
    return WorkEstimate(runners, max(1, math.ceil(scenario.course.distance_km - 1e-9)),
                        draws, len(scenario.interventions))


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:,.0f} h"

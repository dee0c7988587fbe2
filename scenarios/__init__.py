"""The simulation: scenario files (spec, library), interventions, the planned race along the
course, the simulated runners, the simulator, the comparison of plans and its plots."""

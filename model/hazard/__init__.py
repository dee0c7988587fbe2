"""The cramp hazard itself: its specification (factors, units, CK mediator, outcomes, quadrature),
the published conversions it rests on, the features computed from race records, where an
unrecorded onset was, and the hazard evaluated forward in numpy/xarray."""

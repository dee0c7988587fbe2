"""The hazard's log-likelihood written plainly in PyTensor, with gradients by automatic
differentiation: the definition that the numba kernel (model/inference/likelihood_kernel.py, the
fast backend with a hand-derived gradient) is tested against, and a backend of its own
(`cramp fit --backend reference`).

PyTensor rather than JAX: the model is a PyMC model, so the reference drops into the same graph
(priors, Potentials, nutpie's compilation) with no second array library, and PyTensor's autodiff
gives the gradient a structural change would need without new hand-written backward code.

The same stages as the kernel, on the same arrays (`KernelData`), records in kernel order:

1. cells -> per record: P_r = sum_s exp(tv_rs), the onset segment's rate E_r, and for a located
   onset the window's rates h_t and their running sums C_t;
2. per record and quadrature point: ln lambda = c_r + s_u z_n + b_d d_r, with d_r measured, at a
   damage node (CK not measured), or, for a runner's only race with CK not measured (SOLO), the
   two normals merged into one of SD sqrt(s_u^2 + (b_d ck_sd / ln 2)^2);
3. the record's log-likelihood by outcome: no cramp -lambda P; onset known -lambda P +
   log(1 - exp(-lambda E)); onset unknown log(1 - exp(-lambda P)); onset located -lambda P +
   log sum_t (w_t - w_t+1)(1 - exp(-lambda C_t));
4. unmeasured CK averaged over its nodes, a runner's records summed at each runner node, and
   log sum_n w_n exp(.) per runner.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from model.hazard.specification import LN2, NO_CRAMP, ONSET_KNOWN, ONSET_UNKNOWN
from model.inference.likelihood import KernelData
from model.inference.likelihood_stages import (
    LOCATED,
    MEASURED,
    N_CODES,
    N_GROUPS,
    SOLO,
)


def reference_loglik(const, b_cell, params, data: KernelData):
    """The log-likelihood as a PyTensor scalar: `const` (record, data order) the records'
    constant log rate, `b_cell` the cell coefficients (distance shape first), `params` the
    runner scale, b_damage and the CK model's mean, SD and taper effect."""
    runner_scale, beta_damage, ck_mean, ck_sd, ck_taper = (params[i] for i in range(5))
    group = np.repeat(np.arange(N_GROUPS), np.diff(data.group_start))
    c = const[data.record_order]
    cell_x = data.cell_x.astype(np.float64)
    pre_sum = pt.exp(data.log_length.astype(np.float64)
                     + pt.tensordot(b_cell, cell_x, axes=[[0], [0]])).sum(axis=0)
    onset_rate = pt.exp(data.onset_log_length + pt.dot(b_cell, data.onset_x))
    window_cum = pt.cumsum(pt.exp(data.window_log_length + pt.tensordot(
        b_cell, data.window_x, axes=[[0], [0]])), axis=0)  # (position, located record)
    located_column = np.cumsum(group % N_CODES == LOCATED) - 1
    z_u = data.z_runner
    mean_damage = data.damage_offset[0] + (ck_mean + ck_taper * data.taper_units) / LN2

    record_loglik = pt.zeros((len(group), z_u.size))
    for g in range(N_GROUPS):
        rec = np.flatnonzero(group == g)
        if rec.size == 0:
            continue
        category, code = divmod(g, N_CODES)
        terms = _Terms(code, pre_sum[rec], onset_rate[rec],
                       window_cum[:, located_column[rec]], data.window_drop[:, located_column[rec]])
        if category == MEASURED:
            log_lam = (c[rec] + beta_damage * data.damage_x[rec])[:, None] + runner_scale * z_u
            value = terms.loglik(log_lam)
        elif category == SOLO:
            spread = pt.sqrt(runner_scale**2 + (beta_damage * ck_sd / LN2) ** 2)
            log_lam = (c[rec] + beta_damage * mean_damage[rec])[:, None] + spread * z_u
            value = terms.loglik(log_lam)
        else:  # UNMEASURED: average over the damage nodes
            damage = mean_damage[rec][:, None] + ck_sd / LN2 * data.z_damage  # (record, m)
            log_lam = (c[rec][:, None, None] + runner_scale * z_u[None, :, None]
                       + beta_damage * damage[:, None, :])
            value = pt.logsumexp(terms.loglik(log_lam) + data.logw_damage, axis=2)
        record_loglik = pt.set_subtensor(record_loglik[rec], value)

    n_runner = int(data.record_runner.max()) + 1
    runner_loglik = pt.zeros((n_runner, z_u.size))
    runner_loglik = pt.inc_subtensor(runner_loglik[data.record_runner], record_loglik)
    return pt.logsumexp(runner_loglik + data.logw_runner, axis=1).sum()


class _Terms:
    """A group's records' log-likelihood at rate multipliers lambda = exp(log_lam), whose
    leading axis is the record (further axes: quadrature nodes)."""

    def __init__(self, code, pre_sum, onset_rate, window_cum, window_drop):
        self.code, self.pre_sum, self.onset_rate = code, pre_sum, onset_rate
        self.window_cum, self.window_drop = window_cum, window_drop

    def loglik(self, log_lam):
        extra = (None,) * (log_lam.ndim - 1)
        lam = pt.exp(log_lam)
        x = lam * self.pre_sum[(slice(None), *extra)]
        if self.code == NO_CRAMP:
            return -x
        if self.code == ONSET_KNOWN:
            return -x + pt.log1mexp(-lam * self.onset_rate[(slice(None), *extra)])
        if self.code == ONSET_UNKNOWN:
            return pt.log1mexp(-x)
        # located: (position, record, nodes...)
        cum = self.window_cum[(slice(None), slice(None), *extra)]
        drop = self.window_drop[(slice(None), slice(None), *extra)]
        return -x + pt.log(pt.sum(drop * -pt.expm1(-lam[None] * cum), axis=0))

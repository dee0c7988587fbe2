"""The hazard model's log-likelihood and its exact gradient in one compiled numba pass.

NUTS evaluates the log-density and its gradient some 10^4 times per fit, so this is where a fit
spends its time. Generic automatic differentiation of the same formulas (the model's first
version) walked ~20 intermediate arrays of 10^5-10^6 elements per evaluation; here one numba
loop per stage keeps everything in registers and vectorises exp/log (model/vector_math.py),
with fused multiply-adds (vm.fma) in the polynomials and the cell sums.

The model (see model/inference/hazard_model.py for its statement): record r has cumulative hazard
lambda_r * P_r over its at-risk cells and rate lambda_r * E_r in its onset segment, where

    P_r = sum_s exp(tv_rs),  tv_rs = ln len_rs + sum_j b_j x_jrs  (time-varying terms, per cell)
    ln lambda_r = c_r + s_u z_n + b_d d_r                         (per record and quadrature node)

c_r is the record's constant part (race intercept + record-level factors), z_n the runner-effect
node, d_r the (centred) muscle damage: measured, or at damage node m when CK was not measured
(d = offset + (ck_mean + ck_taper * taper + ck_sd * z_m) / ln 2). Per record and node:

    no cramp:       log L = -x                        x = lambda P
    onset known:    log L = -x + log(1 - e^-y)        y = lambda E
    onset unknown:  log L = log(1 - e^-x)
    onset located:  log L = -x + log sum_t w_t exp(-lambda C_t-1) (1 - exp(-lambda h_t))
                          = -x + log sum_t (w_t - w_t+1) (1 - exp(-lambda C_t))   (by parts)

A located onset is a cramp of unknown onset whose splits say where it was (model/
onset_location.py): t runs over the window of onset segments the splits allow, w_t is how well
an onset in t explains the splits, h_t = exp(tv_rt) and C_t the sum of h over the window's
segments up to t (w past the window is 0); P sums the cells before the window. The exp of each
position's term also gives its derivatives, to ln lambda and (through C_t) to the cell
coefficients b_j, in the forward pass (`located_cramps`).

Unmeasured damage is averaged over its nodes, a runner's records multiply at each runner node,
and the runner's log-likelihood is log sum_n w_n prod_r S_rn (log-sum-exp with shifts). The
gradient is the same computation run backwards: each node's posterior weight times
d log L / d ln lambda, chained to c_r, s_u, b_d, the CK parameters, and through P_r and E_r to
the cell coefficients b_j (per-record moments sum_s x_jrs exp(tv_rs), gathered in the same sweep
over the cells as P_r).

A record whose CK was not measured and whose runner has no other race (SOLO) needs no grid of
runner x damage nodes: both effects are normal on ln lambda and reach no other record, so they
are one normal of SD sqrt(s_u^2 + (b_d ck_sd / ln 2)^2), integrated at the runner nodes (exact
algebra, 9 points instead of 45; see `loglik_and_gradient`).
"""

from __future__ import annotations

import numba
import numpy as np

from model.hazard.specification import LN2, NO_CRAMP
from model.inference import vector_math as vm
from model.inference.likelihood_stages import (
    LOCATED,
    N_CODES,
    N_GROUPS,
    SOLO,
    UNMEASURED,
    block,
    cell_sums,
    point_blocks,
    point_terms,
    record_rates,
    span,
    window_column0,
)


@numba.njit(error_model="numpy", cache=True)
def forward(pre_sum, onset_rate, base, exp_u, exp_solo, exp_damage, logw_damage, group_start,
            window_cum, window_moment, window_drop):
    """log S_rn: the log-likelihood of record r at runner node n, averaged over the damage nodes
    for UNMEASURED CK, with each damage node's share of that average; and, for cramps, the
    derivatives at every quadrature point (row n, or n * n_d + m for UNMEASURED). At node n,
    lambda is base times exp_u[n] (exp_solo[n] for SOLO: the combined normal's node). Shares
    and derivatives are packed by group (`point_blocks`); located onsets' derivatives to the
    cell coefficients through their windows are by point, coefficient and window column."""
    n_u, (n_d, n_rec) = exp_u.size, exp_damage.shape
    n_pts = n_u * n_d
    log_s = np.empty((n_u, n_rec))
    share_at = point_blocks(group_start, n_u, n_d, False)
    d_at = point_blocks(group_start, n_u, n_d, True)
    share_all = np.empty(share_at[-1])
    d_log_lam_all = np.empty(d_at[-1])
    d_pre_all = np.empty(d_at[-1])
    d_onset_all = np.empty(d_at[-1])
    lam = np.empty(n_rec)
    log_lik = np.empty((n_d, n_rec))  # at the damage nodes of one runner node
    top = np.empty(n_rec)
    acc = np.empty(n_rec)
    inner = np.empty(n_rec)
    slope = np.empty(n_rec)
    decay = np.empty(n_rec)
    located_cell = np.empty((n_pts, window_moment.shape[1], window_cum.shape[1]))
    for g in range(N_GROUPS):
        lo, hi, code = group_start[g], group_start[g + 1], g % N_CODES
        category = g // N_CODES
        col0 = window_column0(g, group_start)
        node_mult = exp_solo if category == SOLO else exp_u
        share = block(share_all, share_at, g, hi - lo)  # [point, r - lo]
        d_log_lam = block(d_log_lam_all, d_at, g, hi - lo)
        d_pre = block(d_pre_all, d_at, g, hi - lo)
        d_onset = block(d_onset_all, d_at, g, hi - lo)
        for n in range(n_u):
            if category != UNMEASURED:
                for r in span(lo, hi):
                    lam[r] = base[r] * node_mult[n]
                point_terms(code, lo, hi, lam, pre_sum, onset_rate, log_s, n, d_log_lam, d_pre,
                            d_onset, n, col0, window_cum, window_moment, window_drop, inner,
                            slope, decay, located_cell)
                continue
            for m in range(n_d):
                for r in span(lo, hi):
                    lam[r] = base[r] * exp_u[n] * exp_damage[m, r]
                point_terms(code, lo, hi, lam, pre_sum, onset_rate, log_lik, m, d_log_lam,
                            d_pre, d_onset, n * n_d + m, col0, window_cum, window_moment,
                            window_drop, inner, slope, decay, located_cell)
            for r in span(lo, hi):
                top[r] = -np.inf
                acc[r] = 0.0
            for m in range(n_d):
                for r in span(lo, hi):
                    top[r] = max(top[r], log_lik[m, r] + logw_damage[m])
            for m in range(n_d):
                p = n * n_d + m
                for r in span(lo, hi):
                    share[p, r - lo] = vm.exp(log_lik[m, r] + logw_damage[m] - top[r])
                    acc[r] += share[p, r - lo]
            for r in span(lo, hi):
                inner[r] = 1.0 / acc[r]  # reused as scratch
            for m in range(n_d):
                p = n * n_d + m
                for r in span(lo, hi):
                    share[p, r - lo] *= inner[r]
            for r in span(lo, hi):
                log_s[n, r] = top[r] + vm.log(acc[r])
            for r in range(lo, hi):
                # every damage level's likelihood underflows at this runner node (large
                # runner_sd, a located onset): its weight is 0, not exp(-inf + inf) = NaN,
                # which would make the whole gradient NaN. Rare: fixed up here, so that the
                # loops above stay branch-free and vectorise.
                if top[r] == -np.inf:
                    log_s[n, r] = -np.inf
                    for m in range(n_d):
                        share[n * n_d + m, r - lo] = 0.0
    return log_s, share_all, d_log_lam_all, d_pre_all, d_onset_all, located_cell


@numba.njit(error_model="numpy", cache=True)
def runner_posterior(log_s, logw_runner, record_runner, n_runner):
    """Sum over runners of log sum_n w_n prod_r S_rn, and each runner node's posterior weight."""
    n_u, n_rec = log_s.shape
    node = np.empty((n_u, n_runner))
    for n in range(n_u):
        for i in range(n_runner):
            node[n, i] = logw_runner[n]
        for r in range(n_rec):
            node[n, record_runner[r]] += log_s[n, r]
    top = np.full(n_runner, -np.inf)
    acc = np.zeros(n_runner)
    for n in range(n_u):
        for i in range(n_runner):
            top[i] = max(top[i], node[n, i])
    for n in range(n_u):
        for i in range(n_runner):
            node[n, i] = vm.exp(node[n, i] - top[i])
            acc[i] += node[n, i]
    total = 0.0
    for i in range(n_runner):
        total += top[i] + vm.log(acc[i])
    for i in range(n_runner):
        acc[i] = 1.0 / acc[i]
    for n in range(n_u):
        for i in range(n_runner):
            node[n, i] *= acc[i]
    return total, node


def runner_logliks(const, b_cell, params, cell_x, log_length, onset_x, onset_log_length,
                   damage_x, taper_units, record_order, record_runner, group_start, window_x,
                   window_log_length, window_drop, z_runner, logw_runner, z_damage, logw_damage,
                   damage_offset) -> np.ndarray:
    """Per runner, log sum_n w_n prod_r S_rn: the terms whose sum `loglik_and_gradient`
    returns (same arguments), without the gradient. For checking a quadrature rule against
    a finer one (tests/test_quadrature_accuracy.py, bench/quadrature_error.py)."""
    runner_scale, beta_damage, ck_sd = params[0], params[1], params[3]
    pre_sum, _ = cell_sums(b_cell, cell_x, log_length)
    onset_rate, _, base, exp_damage, window_cum, window_moment = record_rates(
        const, b_cell, params, onset_x, onset_log_length, damage_x, taper_units, record_order,
        group_start, window_x, window_log_length, z_damage, damage_offset)
    a = beta_damage * ck_sd / LN2  # as in loglik_and_gradient: the SOLO records' combined SD
    v = max(np.sqrt(runner_scale * runner_scale + a * a), 1e-300)
    log_s = forward(pre_sum, onset_rate, base, np.exp(runner_scale * z_runner),
                    np.exp(v * z_runner), exp_damage, logw_damage, group_start, window_cum,
                    window_moment, window_drop)[0]
    node = np.zeros((z_runner.size, np.max(record_runner) + 1)) + logw_runner[:, None]
    np.add.at(node.T, record_runner, log_s.T)
    top = node.max(axis=0)
    return top + np.log(np.exp(node - top).sum(axis=0))


@numba.njit(error_model="numpy", cache=True)
def backward(node, share, d_log_lam, d_pre, d_onset, located_cell, pre_sum, base, exp_u,
             exp_solo, exp_damage, record_runner, z_runner, z_damage, group_start):
    """Per record, sums over its quadrature points of (posterior weight x derivative): with
    respect to ln lambda, and that times z_u (for SOLO: the node of the combined normal) and z_d
    (UNMEASURED; the damage level is linear in z_d, so its sum follows, in the caller); and to
    P and E; per located onset (window column), with respect to each cell coefficient through
    its window. Without a cramp d log L / d ln lambda = P d log L / d P: those groups sum the
    latter only and multiply by P at the end."""
    n_u, (n_d, n_rec) = exp_u.size, exp_damage.shape
    g_log_lam = np.zeros(n_rec)
    g_scale = np.zeros(n_rec)
    g_damage_z = np.zeros(n_rec)  # unmeasured CK
    g_pre = np.zeros(n_rec)
    g_onset = np.zeros(n_rec)
    w_node = np.empty(n_rec)  # posterior weight of the runner node
    w_point = np.empty(n_rec)  # posterior weight of the point (UNMEASURED)
    n_coef, n_located = located_cell.shape[1:]  # coefficients: at least FUSED_COEFS
    g_located = np.zeros((n_coef, n_located))
    share_at = point_blocks(group_start, n_u, n_d, False)
    d_at = point_blocks(group_start, n_u, n_d, True)
    # simple loops over the group's records, so that each vectorises
    for g in range(N_GROUPS):
        lo, hi, code = group_start[g], group_start[g + 1], g % N_CODES
        per_node = g // N_CODES != UNMEASURED  # one point per runner node
        node_mult = exp_solo if g // N_CODES == SOLO else exp_u
        cramp = code != NO_CRAMP
        share_g = block(share, share_at, g, hi - lo)  # [point, r - lo]
        d_log_lam_g = block(d_log_lam, d_at, g, hi - lo)
        d_pre_g = block(d_pre, d_at, g, hi - lo)
        d_onset_g = block(d_onset, d_at, g, hi - lo)
        for n in range(n_u):
            for r in span(lo, hi):  # a gather: once per runner node, not per point
                w_node[r] = node[n, record_runner[r]]
            for m in range(1 if per_node else n_d):
                p = n if per_node else n * n_d + m
                if not per_node:
                    for r in span(lo, hi):
                        w_point[r] = w_node[r] * share_g[p, r - lo]
                w = w_node if per_node else w_point
                z_u, z_d = z_runner[n], z_damage[m]
                if cramp:
                    for r in span(lo, hi):
                        d_lam = w[r] * d_log_lam_g[p, r - lo]
                        g_log_lam[r] += d_lam
                        g_scale[r] += d_lam * z_u
                        g_pre[r] += w[r] * d_pre_g[p, r - lo]
                        g_onset[r] += w[r] * d_onset_g[p, r - lo]
                    if not per_node:
                        for r in span(lo, hi):
                            g_damage_z[r] += w[r] * d_log_lam_g[p, r - lo] * z_d
                elif per_node:  # the point's share of d log L / d P
                    for r in span(lo, hi):
                        d_p = -w[r] * base[r] * node_mult[n]
                        g_pre[r] += d_p
                        g_scale[r] += d_p * z_u
                else:
                    for r in span(lo, hi):
                        d_p = -w[r] * base[r] * exp_u[n] * exp_damage[m, r]
                        g_pre[r] += d_p
                        g_scale[r] += d_p * z_u
                        g_damage_z[r] += d_p * z_d
                if code == LOCATED:
                    col0 = window_column0(g, group_start)
                    w_g = w[lo:hi]
                    for j in range(n_coef):
                        d_cell = located_cell[p, j, col0:col0 + hi - lo]
                        g_j = g_located[j, col0:col0 + hi - lo]
                        for i in span(0, hi - lo):
                            g_j[i] += w_g[i] * d_cell[i]
        if not cramp:
            for r in span(lo, hi):
                g_log_lam[r] = g_pre[r] * pre_sum[r]
                g_scale[r] *= pre_sum[r]
                g_damage_z[r] *= pre_sum[r]
    return g_log_lam, g_scale, g_damage_z, g_pre, g_onset, g_located


@numba.njit(error_model="numpy", cache=True)
def loglik_and_gradient(
    const, b_cell, params,
    cell_x, log_length, onset_x, onset_log_length, damage_x, taper_units, record_order,
    record_runner, group_start, window_x, window_log_length, window_drop,
    z_runner, logw_runner, z_damage, logw_damage, damage_offset,
):  # fmt: skip
    """Log-likelihood of all records and its gradient with respect to `const` (record, data
    order), `b_cell` (coef,) and `params` (PARAMS order).

    Records are in kernel order (`record_order[r]` is record r's index in the data), grouped by
    CK category (MEASURED, UNMEASURED, SOLO) and outcome (`group_start`: no cramp / onset known /
    onset unknown / onset located within each category), so that every inner loop runs over
    records with the same formula and vectorises; quadrature nodes are the outer loops.

    A SOLO record (CK not measured, the runner's only race) has ln lambda = c_r + b_d d_mean_r +
    s z_u + a z_d with a = b_d ck_sd / ln 2 and z_u, z_d independent standard normals that enter
    no other record: exactly c_r + b_d d_mean_r + v z with v = sqrt(s^2 + a^2), one quadrature
    of n_u nodes instead of n_u x n_d."""
    runner_scale, beta_damage, ck_sd = params[0], params[1], params[3]
    n_coef, _, n_rec = cell_x.shape
    first_unmeasured = group_start[UNMEASURED * N_CODES]
    first_solo = group_start[SOLO * N_CODES]
    pre_sum, moments = cell_sums(b_cell, cell_x, log_length)
    onset_rate, level, base, exp_damage, window_cum, window_moment = record_rates(
        const, b_cell, params, onset_x, onset_log_length, damage_x, taper_units, record_order,
        group_start, window_x, window_log_length, z_damage, damage_offset)
    exp_u = np.exp(runner_scale * z_runner)
    a = beta_damage * ck_sd / LN2  # SD of b_d x damage when CK is not measured
    v = max(np.sqrt(runner_scale * runner_scale + a * a), 1e-300)
    exp_solo = np.exp(v * z_runner)
    log_s, share, d_log_lam, d_pre, d_onset, located_cell = forward(
        pre_sum, onset_rate, base, exp_u, exp_solo, exp_damage, logw_damage, group_start,
        window_cum, window_moment, window_drop)
    total, node = runner_posterior(log_s, logw_runner, record_runner, np.max(record_runner) + 1)
    g_log_lam, g_scale, g_damage_z, g_pre, g_onset, g_located = backward(
        node, share, d_log_lam, d_pre, d_onset, located_cell, pre_sum, base, exp_u, exp_solo,
        exp_damage, record_runner, z_runner, z_damage, group_start)

    g_const = np.empty(n_rec)
    g_u = g_bd = g_ck_mean = g_ck_sd = g_ck_taper = g_v = 0.0  # scalars: stay in registers
    for r in range(n_rec):
        g_const[record_order[r]] = g_log_lam[r]
    for r in range(first_solo):
        g_u += g_scale[r]
    for r in range(first_unmeasured):
        g_bd += g_log_lam[r] * damage_x[r]
    for r in span(first_unmeasured, first_solo):
        # damage at node m: its centre (the CK model's mean) + ck_sd z_m / ln 2
        centre = damage_offset[0] + (params[2] + params[4] * taper_units[r]) / LN2
        g_bd += g_log_lam[r] * centre + g_damage_z[r] * ck_sd / LN2
        g_ck_mean += g_log_lam[r]
        g_ck_sd += g_damage_z[r]
        g_ck_taper += g_log_lam[r] * taper_units[r]
    for r in span(first_solo, n_rec):
        g_bd += g_log_lam[r] * level[r]
        g_ck_mean += g_log_lam[r]
        g_ck_taper += g_log_lam[r] * taper_units[r]
        g_v += g_scale[r]
    # chain rule through v: dv/ds = s / v, dv/da = a / v, da/db_d = ck_sd / ln 2 and
    # da/dck_sd = b_d / ln 2 (g_ck_sd is multiplied by b_d / ln 2 below)
    g_u += g_v * runner_scale / v
    g_bd += g_v * a / v * ck_sd / LN2
    g_ck_sd += g_v * a / v
    to_ck = beta_damage / LN2  # d damage / d ln CK
    g_params = np.array([g_u, g_bd, g_ck_mean * to_ck, g_ck_sd * to_ck, g_ck_taper * to_ck])
    g_cell = np.zeros(n_coef)
    for j in range(n_coef):
        acc = 0.0
        for r in range(n_rec):
            acc += g_pre[r] * moments[j, r] + g_onset[r] * onset_rate[r] * onset_x[j, r]
        for c in range(g_located.shape[1]):
            acc += g_located[j, c]
        g_cell[j] = acc
    return total, g_const, g_cell, g_params

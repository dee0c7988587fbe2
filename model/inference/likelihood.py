"""The hazard model's log-likelihood and its exact gradient in one compiled pass, as a PyTensor Op.

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
segments up to t (w past the window is 0); P sums the cells before the window.

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

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

from model.hazard.specification import NO_CRAMP, ONSET_KNOWN, ONSET_UNKNOWN
from model.inference import vector_math as vm

LN2 = 0.6931471805599453
LOCATED = ONSET_UNKNOWN + 1  # the kernel's fourth outcome code: unknown onset, located by splits
N_CODES = 4
# CK categories of the records, each with its N_CODES outcome groups: measured; not measured,
# runner with other races (damage nodes x runner nodes); not measured, runner with no other race
# (runner effect and damage integrated as one normal on ln lambda: runner nodes only)
MEASURED, UNMEASURED, SOLO = 0, 1, 2
N_CATEGORIES = 3
N_GROUPS = N_CATEGORIES * N_CODES
CELL_BLOCK = 512  # records per block of the cell sweep
PARAMS = ("runner_scale", "beta_damage", "ck_log_mean", "ck_log_sd", "ck_taper_effect")


@dataclass(frozen=True)
class KernelData:
    """The arrays the kernel reads, records in kernel order (see `loglik_and_gradient`)."""

    cell_x: np.ndarray  # (coef, segment, record) float32: distance shape, then time-varying factors
    log_length: np.ndarray  # (segment, record) float32; -1000 where not at risk (exp gives 0)
    onset_x: np.ndarray  # (coef, record): the cell values in the onset segment (0 if not known)
    onset_log_length: np.ndarray  # (record,)
    damage_x: np.ndarray  # (record,) centred measured damage [doublings], 0 where not measured
    taper_units: np.ndarray  # (record,) taper [7-day units], uncentred
    record_order: np.ndarray  # (record,) index in the data of each kernel record
    record_runner: np.ndarray  # (record,) runner index
    group_start: np.ndarray  # (N_GROUPS + 1,) offsets of the (CK category, outcome) groups
    # located onsets' windows, (coef,) position, located record: the located records of the
    # categories in order; padding has log length -1000 and weight 0
    window_x: np.ndarray  # (coef, position, located record)
    window_log_length: np.ndarray  # (position, located record)
    window_drop: np.ndarray  # (position, located record) w_t - w_t+1, onset weights w_t
    z_runner: np.ndarray  # Gauss-Hermite nodes and log-weights for a standard normal
    logw_runner: np.ndarray
    z_damage: np.ndarray
    logw_damage: np.ndarray
    damage_offset: np.ndarray  # (1,): -ln(70) / ln 2 - the damage centre

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(getattr(self, name) for name in self.__dataclass_fields__)


@numba.njit(inline="always", cache=True)
def _span(lo, hi):
    """range(lo, hi) over unsigned integers: with a signed start numba cannot rule out negative
    indices and checks every one for wrap-around, which stops the loop from vectorising."""
    return range(np.uint64(lo), np.uint64(hi))


@numba.njit(error_model="numpy", cache=True)
def cell_sums(b_cell, cell_x, log_length):
    """P_r = sum_s exp(tv_rs) and the moments sum_s x_jrs exp(tv_rs), one sweep over the cells.

    Records are the inner (contiguous) loop, so every loop is element-wise and vectorises; they
    are taken in blocks whose running sums stay in the L1 cache while the segments go by."""
    n_coef, n_seg, n_rec = cell_x.shape
    pre_sum = np.zeros(n_rec)
    moments = np.zeros((n_coef, n_rec))
    tv = np.empty(CELL_BLOCK)
    rate = np.empty(CELL_BLOCK)
    for lo in range(0, n_rec, CELL_BLOCK):
        hi = min(lo + CELL_BLOCK, n_rec)
        for s in range(n_seg):
            for r in _span(lo, hi):
                tv[r - lo] = log_length[s, r]
            for j in range(n_coef):
                bj = b_cell[j]
                for r in _span(lo, hi):
                    tv[r - lo] = vm.fma(bj, cell_x[j, s, r], tv[r - lo])
            for r in _span(lo, hi):
                rate[r - lo] = vm.exp(tv[r - lo])
                pre_sum[r] += rate[r - lo]
            for j in range(n_coef):
                for r in _span(lo, hi):
                    moments[j, r] = vm.fma(cell_x[j, s, r], rate[r - lo], moments[j, r])
    return pre_sum, moments


@numba.njit(error_model="numpy", cache=True)
def record_rates(const, b_cell, params, onset_x, onset_log_length, damage_x, taper_units,
                 record_order, group_start, window_x, window_log_length, z_damage,
                 damage_offset):
    """Per record: the onset segment's rate E_r; the damage level d_r that lambda's centre uses
    (measured; 0 for UNMEASURED; the mean of the CK model for SOLO) and lambda at the runner
    effect's centre with it; for UNMEASURED, the damage levels and their exp(b_d d) at the
    damage nodes. Per window cell of a located onset, its rate h and the sum C of the rates over
    the window up to it."""
    _, beta_damage, ck_mean, ck_sd, ck_taper = params
    n_coef, n_rec = onset_x.shape
    n_d = z_damage.size
    first_unmeasured = group_start[UNMEASURED * N_CODES]
    first_solo = group_start[SOLO * N_CODES]
    onset_rate = np.zeros(n_rec)
    for category in range(N_CATEGORIES):
        g = category * N_CODES + ONSET_KNOWN
        for r in _span(group_start[g], group_start[g + 1]):
            tv = onset_log_length[r]
            for j in range(n_coef):
                tv += b_cell[j] * onset_x[j, r]
            onset_rate[r] = vm.exp(tv)
    # an element loop, not damage_x.copy(): through PyTensor's cached numba build, a copy of a
    # constant input gave wrong values (found by tests/test_likelihood.py's PyTensor check)
    level = np.empty(n_rec)
    for r in range(n_rec):
        level[r] = damage_x[r]
    for r in _span(first_solo, n_rec):
        level[r] = damage_offset[0] + (ck_mean + ck_taper * taper_units[r]) / LN2
    base = np.empty(n_rec)
    for r in range(n_rec):
        base[r] = vm.exp(const[record_order[r]] + beta_damage * level[r])
    damage = np.zeros((n_d, n_rec))
    exp_damage = np.zeros((n_d, n_rec))
    for m in range(n_d):
        for r in _span(first_unmeasured, first_solo):
            damage[m, r] = damage_offset[0] + (
                ck_mean + ck_taper * taper_units[r] + ck_sd * z_damage[m]) / LN2
            exp_damage[m, r] = vm.exp(beta_damage * damage[m, r])
    n_pos, n_located = window_log_length.shape
    window_rate = np.empty((n_pos, n_located))
    for k in range(n_pos):
        for c in range(n_located):
            window_rate[k, c] = window_log_length[k, c]
        for j in range(n_coef):
            bj = b_cell[j]
            for c in range(n_located):
                window_rate[k, c] += bj * window_x[j, k, c]
        for c in range(n_located):
            window_rate[k, c] = vm.exp(window_rate[k, c])
    window_cum = np.empty((n_pos, n_located))  # C_t: the rates summed over the window to t
    running = np.zeros(n_located)
    for k in range(n_pos):
        for c in range(n_located):
            running[c] += window_rate[k, c]
            window_cum[k, c] = running[c]
    return onset_rate, level, base, damage, exp_damage, window_rate, window_cum


@numba.njit(inline="always", error_model="numpy", cache=True)
def _located_cramps(lo, hi, col0, lam, window_cum, window_drop, inner, slope):
    """Window sums of the located onsets lo..hi-1 (window columns col0...) at rate multipliers
    lam: inner = sum_t w_t P(first cramp in t) and d ln(inner) / d ln lam into `inner` and
    `slope`. Summed by parts, inner = sum_t (w_t - w_t+1) G_t with G_t = 1 - exp(-lam C_t) the
    probability of a cramp by the end of t: one exp per position, every term to full relative
    precision (1 - e^-y is taken from its series where y is small), nothing carried between
    positions. Window positions are the outer loop and records the inner one, on contiguous
    views indexed from 0, so that it vectorises."""
    n = hi - lo
    lam_b, inner_b, slope_b = lam[lo:hi], inner[lo:hi], slope[lo:hi]
    inner_b[:] = 0.0
    slope_b[:] = 0.0
    for k in range(window_cum.shape[0]):
        cum_k = window_cum[k, col0:col0 + n]
        drop_k = window_drop[k, col0:col0 + n]
        for i in _span(0, n):
            y = lam_b[i] * cum_k[i]
            g = vm.one_minus_exp_neg(y)
            inner_b[i] += drop_k[i] * g
            slope_b[i] += drop_k[i] * y * (1.0 - g)
    for i in _span(0, n):
        slope_b[i] /= inner_b[i]


@numba.njit(inline="always", error_model="numpy", cache=True)
def _located_rate_gradient(lo, hi, col0, lam, inner, scale, window_cum, window_drop,
                           g_window):
    """Adds scale * d ln(inner) / d h to g_window over the window cells of the located onsets
    lo..hi-1, given each one's `inner` (by window column) from the forward pass. h_c enters
    C_t for every t >= c, so

        d ln(inner) / d h_c = lam / inner * sum over t >= c of (w_t - w_t+1) exp(-lam C_t),

    a suffix sum: one sweep from the window's end, one exp per position."""
    n = hi - lo
    n_pos = window_cum.shape[0]
    lam_b, scale_b, inner_b = lam[lo:hi], scale[lo:hi], inner[col0:col0 + n]
    suffix = np.zeros(n)
    factor = np.empty(n)
    for i in _span(0, n):
        factor[i] = scale_b[i] * lam_b[i] / inner_b[i]
    for back in range(n_pos):
        k = n_pos - 1 - back
        cum_k = window_cum[k, col0:col0 + n]
        drop_k = window_drop[k, col0:col0 + n]
        g_k = g_window[k, col0:col0 + n]
        for i in _span(0, n):
            suffix[i] += drop_k[i] * vm.exp(-lam_b[i] * cum_k[i])
            g_k[i] += factor[i] * suffix[i]


@numba.njit(inline="always", error_model="numpy", cache=True)
def _point_terms(code, lo, hi, lam, pre_sum, onset_rate, log_lik, row, d_log_lam, d_pre, d_onset,
                 d_row, col0, window_cum, window_drop, inner, slope, located_inner):
    """At one quadrature point for records lo..hi-1, all with outcome `code`: log L (into
    log_lik[row]) and, for cramps, d log L / d ln lambda, / d P and / d E (into row `d_row`;
    for no cramp they are -x, -lambda and 0, recomputed where needed instead of stored)."""
    if code == LOCATED:
        _located_cramps(lo, hi, col0, lam, window_cum, window_drop, inner, slope)
        for r in _span(lo, hi):
            located_inner[d_row, r - lo + col0] = inner[r]
        for r in _span(lo, hi):
            x = lam[r] * pre_sum[r]
            log_lik[row, r] = -x + vm.log(inner[r])
            d_log_lam[d_row, r] = -x + slope[r]
            d_pre[d_row, r] = -lam[r]
            d_onset[d_row, r] = 0.0
    elif code == NO_CRAMP:
        for r in _span(lo, hi):
            log_lik[row, r] = -lam[r] * pre_sum[r]
    elif code == ONSET_KNOWN:
        for r in _span(lo, hi):
            x = lam[r] * pre_sum[r]
            y = lam[r] * onset_rate[r]
            one_minus = vm.one_minus_exp_neg(y)
            q = (1.0 - one_minus) / one_minus  # d log(1 - e^-y) / dy
            log_lik[row, r] = -x + vm.log(one_minus)
            d_log_lam[d_row, r] = -x + y * q
            d_pre[d_row, r] = -lam[r]
            d_onset[d_row, r] = lam[r] * q
    else:
        for r in _span(lo, hi):
            x = lam[r] * pre_sum[r]
            one_minus = vm.one_minus_exp_neg(x)
            q = (1.0 - one_minus) / one_minus
            log_lik[row, r] = vm.log(one_minus)
            d_log_lam[d_row, r] = x * q
            d_pre[d_row, r] = lam[r] * q
            d_onset[d_row, r] = 0.0


@numba.njit(inline="always", cache=True)
def _window_column0(g, group_start):
    """The first window column of group g's located onsets (the categories' in order)."""
    col0 = 0
    for category in range(g // N_CODES):
        col0 += group_start[category * N_CODES + LOCATED + 1] - group_start[
            category * N_CODES + LOCATED]
    return col0


@numba.njit(error_model="numpy", cache=True)
def forward(pre_sum, onset_rate, base, exp_u, exp_solo, exp_damage, logw_damage, group_start,
            window_cum, window_drop):
    """log S_rn: the log-likelihood of record r at runner node n, averaged over the damage nodes
    for UNMEASURED CK, with each damage node's share of that average; and, for cramps, the
    derivatives at every quadrature point (row n, or n * n_d + m for UNMEASURED). At node n,
    lambda is base times exp_u[n] (exp_solo[n] for SOLO: the combined normal's node)."""
    n_u, (n_d, n_rec) = exp_u.size, exp_damage.shape
    n_pts = n_u * n_d
    log_s = np.empty((n_u, n_rec))
    share = np.empty((n_pts, n_rec))
    d_log_lam = np.empty((n_pts, n_rec))  # only cramp records' columns are written
    d_pre = np.empty((n_pts, n_rec))
    d_onset = np.empty((n_pts, n_rec))
    lam = np.empty(n_rec)
    log_lik = np.empty((n_d, n_rec))  # at the damage nodes of one runner node
    top = np.empty(n_rec)
    acc = np.empty(n_rec)
    inner = np.empty(n_rec)
    slope = np.empty(n_rec)
    located_inner = np.empty((n_pts, window_cum.shape[1]))  # per point, for the backward pass
    for g in range(N_GROUPS):
        lo, hi, code = group_start[g], group_start[g + 1], g % N_CODES
        category = g // N_CODES
        col0 = _window_column0(g, group_start)
        node_mult = exp_solo if category == SOLO else exp_u
        for n in range(n_u):
            if category != UNMEASURED:
                for r in _span(lo, hi):
                    lam[r] = base[r] * node_mult[n]
                _point_terms(code, lo, hi, lam, pre_sum, onset_rate, log_s, n, d_log_lam, d_pre,
                             d_onset, n, col0, window_cum, window_drop, inner, slope,
                             located_inner)
                continue
            for m in range(n_d):
                for r in _span(lo, hi):
                    lam[r] = base[r] * exp_u[n] * exp_damage[m, r]
                _point_terms(code, lo, hi, lam, pre_sum, onset_rate, log_lik, m, d_log_lam,
                             d_pre, d_onset, n * n_d + m, col0, window_cum, window_drop,
                             inner, slope, located_inner)
            for r in _span(lo, hi):
                top[r] = -np.inf
                acc[r] = 0.0
            for m in range(n_d):
                for r in _span(lo, hi):
                    top[r] = max(top[r], log_lik[m, r] + logw_damage[m])
            for m in range(n_d):
                p = n * n_d + m
                for r in _span(lo, hi):
                    share[p, r] = vm.exp(log_lik[m, r] + logw_damage[m] - top[r])
                    acc[r] += share[p, r]
            for m in range(n_d):
                p = n * n_d + m
                for r in _span(lo, hi):
                    share[p, r] /= acc[r]
            for r in _span(lo, hi):
                log_s[n, r] = top[r] + vm.log(acc[r])
    return log_s, share, d_log_lam, d_pre, d_onset, located_inner


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
    for n in range(n_u):
        for i in range(n_runner):
            node[n, i] /= acc[i]
    return total, node


@numba.njit(error_model="numpy", cache=True)
def backward(node, share, d_log_lam, d_pre, d_onset, located_inner, pre_sum, base, exp_u,
             exp_solo, exp_damage, damage, record_runner, z_runner, z_damage, group_start,
             window_cum, window_drop):
    """Per record, sums over its quadrature points of (posterior weight x derivative): with
    respect to ln lambda, and that times z_u (for SOLO: the node of the combined normal), the
    damage level and z_d (UNMEASURED); and to P and E; per window cell of a located onset, with
    respect to its rate h."""
    n_u, (n_d, n_rec) = exp_u.size, exp_damage.shape
    g_log_lam = np.zeros(n_rec)
    g_scale = np.zeros(n_rec)
    g_damage = np.zeros(n_rec)  # unmeasured CK: sum of g * damage level, and of g * z_d
    g_damage_z = np.zeros(n_rec)
    g_pre = np.zeros(n_rec)
    g_onset = np.zeros(n_rec)
    w = np.empty(n_rec)  # posterior weight of the point
    d_lam = np.empty(n_rec)  # d log L / d ln lambda at the point
    d_p = np.empty(n_rec)  # d log L / d P at the point
    g_window = np.zeros(window_cum.shape)
    lam = np.empty(n_rec)
    # one simple loop per step, so that each vectorises
    for g in range(N_GROUPS):
        lo, hi, code = group_start[g], group_start[g + 1], g % N_CODES
        per_node = g // N_CODES != UNMEASURED  # one point per runner node
        node_mult = exp_solo if g // N_CODES == SOLO else exp_u
        cramp = code != NO_CRAMP
        for n in range(n_u):
            for m in range(1 if per_node else n_d):
                p = n if per_node else n * n_d + m
                for r in _span(lo, hi):
                    w[r] = node[n, record_runner[r]]
                if not per_node:
                    for r in _span(lo, hi):
                        w[r] *= share[p, r]
                if cramp:
                    for r in _span(lo, hi):
                        d_lam[r] = d_log_lam[p, r]
                        d_p[r] = d_pre[p, r]
                        g_onset[r] += w[r] * d_onset[p, r]
                elif per_node:
                    for r in _span(lo, hi):
                        d_p[r] = -base[r] * node_mult[n]
                        d_lam[r] = d_p[r] * pre_sum[r]
                else:
                    for r in _span(lo, hi):
                        d_p[r] = -base[r] * exp_u[n] * exp_damage[m, r]
                        d_lam[r] = d_p[r] * pre_sum[r]
                for r in _span(lo, hi):
                    g_log_lam[r] += w[r] * d_lam[r]
                    g_scale[r] += w[r] * d_lam[r] * z_runner[n]
                    g_pre[r] += w[r] * d_p[r]
                if not per_node:
                    for r in _span(lo, hi):
                        g_damage[r] += w[r] * d_lam[r] * damage[m, r]
                        g_damage_z[r] += w[r] * d_lam[r] * z_damage[m]
                if code == LOCATED:  # one sweep per point over the window cells
                    col0 = _window_column0(g, group_start)
                    for r in _span(lo, hi):
                        lam[r] = base[r] * node_mult[n] * (
                            1.0 if per_node else exp_damage[m, r])
                    _located_rate_gradient(lo, hi, col0, lam, located_inner[p], w,
                                           window_cum, window_drop, g_window)
    return g_log_lam, g_scale, g_damage, g_damage_z, g_pre, g_onset, g_window


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
    onset_rate, level, base, damage, exp_damage, window_rate, window_cum = record_rates(
        const, b_cell, params, onset_x, onset_log_length, damage_x, taper_units, record_order,
        group_start, window_x, window_log_length, z_damage, damage_offset)
    exp_u = np.exp(runner_scale * z_runner)
    a = beta_damage * ck_sd / LN2  # SD of b_d x damage when CK is not measured
    v = max(np.sqrt(runner_scale * runner_scale + a * a), 1e-300)
    exp_solo = np.exp(v * z_runner)
    log_s, share, d_log_lam, d_pre, d_onset, located_inner = forward(
        pre_sum, onset_rate, base, exp_u, exp_solo, exp_damage, logw_damage, group_start,
        window_cum, window_drop)
    total, node = runner_posterior(log_s, logw_runner, record_runner, np.max(record_runner) + 1)
    g_log_lam, g_scale, g_damage, g_damage_z, g_pre, g_onset, g_window = backward(
        node, share, d_log_lam, d_pre, d_onset, located_inner, pre_sum, base, exp_u, exp_solo,
        exp_damage, damage, record_runner, z_runner, z_damage, group_start, window_cum,
        window_drop)

    g_const = np.empty(n_rec)
    g_u = g_bd = g_ck_mean = g_ck_sd = g_ck_taper = g_v = 0.0  # scalars: stay in registers
    for r in range(n_rec):
        g_const[record_order[r]] = g_log_lam[r]
    for r in range(first_solo):
        g_u += g_scale[r]
    for r in range(first_unmeasured):
        g_bd += g_log_lam[r] * damage_x[r]
    for r in _span(first_unmeasured, first_solo):
        g_bd += g_damage[r]
        g_ck_mean += g_log_lam[r]
        g_ck_sd += g_damage_z[r]
        g_ck_taper += g_log_lam[r] * taper_units[r]
    for r in _span(first_solo, n_rec):
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
        for k in range(window_rate.shape[0]):
            for c in range(window_rate.shape[1]):
                acc += g_window[k, c] * window_rate[k, c] * window_x[j, k, c]
        g_cell[j] = acc
    return total, g_const, g_cell, g_params


class HazardLogLikelihood(Op):
    """log-likelihood(const, b_cell, params) with its gradient as extra outputs of the same node,
    so a log-density-and-gradient evaluation runs the kernel once. Data are constant inputs."""

    __props__ = ()

    def make_node(self, const, b_cell, params, *data):
        inputs = [pt.as_tensor(const, dtype="float64"), pt.as_tensor(b_cell, dtype="float64"),
                  pt.as_tensor(params, dtype="float64")] + [pt.constant(a) for a in data]
        outputs = [pt.dscalar(), pt.dvector(), pt.dvector(), pt.dvector()]
        return Apply(self, inputs, outputs)

    def perform(self, node, inputs, output_storage):
        for store, value in zip(output_storage, loglik_and_gradient(*inputs), strict=True):
            store[0] = np.asarray(value, dtype="float64")

    def connection_pattern(self, node):
        return [[True] * 4] * 3 + [[False] * 4] * (len(node.inputs) - 3)

    def pullback(self, inputs, outputs, cotangents):
        for c in cotangents[1:]:
            if not isinstance(c.type, DisconnectedType):
                raise NotImplementedError("second derivatives of the hazard likelihood")
        up = cotangents[0]
        return [up * outputs[1], up * outputs[2], up * outputs[3]] + [
            DisconnectedType()() for _ in inputs[3:]]


@register_funcify_default_op_cache_key(HazardLogLikelihood)
def _numba_hazard_loglik(op, node, **kwargs):
    @numba.njit(error_model="numpy")
    def hazard_loglik(*args):
        total, g_const, g_cell, g_params = loglik_and_gradient(*args)
        return np.asarray(total), g_const, g_cell, g_params

    return hazard_loglik, _source_version()


def _source_version() -> int:
    """PyTensor caches compiled graphs by the Op's type and props; the kernel's source (this
    file and vector_math) must be part of the key, or an edited kernel would load a stale one."""
    digest = hashlib.sha256()
    for module in (__file__, vm.__file__):
        digest.update(Path(module).read_bytes())
    return int(digest.hexdigest()[:15], 16)


def hazard_loglik(const, b_cell, params, data: KernelData):
    """The log-likelihood as a PyTensor scalar (gradient included through the Op)."""
    return HazardLogLikelihood()(const, b_cell, params, *data.arrays())[0]

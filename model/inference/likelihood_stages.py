"""The likelihood kernel's stages (see `model.inference.likelihood_kernel` for the algorithm):
outcome codes and CK categories, the blocked cell sweep, the per-record rates, and the terms of
located onsets' windows and of each quadrature point. Compiled with numba and inlined into the
kernel's forward and backward passes."""

from __future__ import annotations

import numba
import numpy as np

from model.hazard.specification import LN2, NO_CRAMP, ONSET_KNOWN, ONSET_UNKNOWN
from model.inference import vector_math as vm

LOCATED = ONSET_UNKNOWN + 1  # the kernel's fourth outcome code: unknown onset, located by splits
N_CODES = 4
# CK categories of the records, each with its N_CODES outcome groups: measured; not measured,
# runner with other races (damage nodes x runner nodes); not measured, runner with no other race
# (runner effect and damage integrated as one normal on ln lambda: runner nodes only)
MEASURED, UNMEASURED, SOLO = 0, 1, 2
N_CATEGORIES = 3
N_GROUPS = N_CATEGORIES * N_CODES
CELL_BLOCK = 512  # records per block of the cell sweep



@numba.njit(inline="always", cache=True)
def span(lo, hi):
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
            for r in span(lo, hi):
                tv[r - lo] = log_length[s, r]
            for j in range(n_coef):
                bj = b_cell[j]
                for r in span(lo, hi):
                    tv[r - lo] = vm.fma(bj, cell_x[j, s, r], tv[r - lo])
            for r in span(lo, hi):
                rate[r - lo] = vm.exp(tv[r - lo])
                pre_sum[r] += rate[r - lo]
            for j in range(n_coef):
                for r in span(lo, hi):
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
        for r in span(group_start[g], group_start[g + 1]):
            tv = onset_log_length[r]
            for j in range(n_coef):
                tv += b_cell[j] * onset_x[j, r]
            onset_rate[r] = vm.exp(tv)
    # an element loop, not damage_x.copy(): through PyTensor's cached numba build, a copy of a
    # constant input gave wrong values (found by tests/test_likelihood.py's PyTensor check)
    level = np.empty(n_rec)
    for r in range(n_rec):
        level[r] = damage_x[r]
    for r in span(first_solo, n_rec):
        level[r] = damage_offset[0] + (ck_mean + ck_taper * taper_units[r]) / LN2
    base = np.empty(n_rec)
    for r in range(n_rec):
        base[r] = vm.exp(const[record_order[r]] + beta_damage * level[r])
    damage = np.zeros((n_d, n_rec))
    exp_damage = np.zeros((n_d, n_rec))
    for m in range(n_d):
        for r in span(first_unmeasured, first_solo):
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
def located_cramps(lo, hi, col0, lam, window_cum, window_drop, inner, slope):
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
        for i in span(0, n):
            y = lam_b[i] * cum_k[i]
            g = vm.one_minus_exp_neg(y)
            inner_b[i] += drop_k[i] * g
            slope_b[i] += drop_k[i] * y * (1.0 - g)
    for i in span(0, n):
        slope_b[i] /= inner_b[i]


@numba.njit(inline="always", error_model="numpy", cache=True)
def located_rate_gradient(lo, hi, col0, lam, inner, scale, window_cum, window_drop,
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
    for i in span(0, n):
        factor[i] = scale_b[i] * lam_b[i] / inner_b[i]
    for back in range(n_pos):
        k = n_pos - 1 - back
        cum_k = window_cum[k, col0:col0 + n]
        drop_k = window_drop[k, col0:col0 + n]
        g_k = g_window[k, col0:col0 + n]
        for i in span(0, n):
            suffix[i] += drop_k[i] * vm.exp(-lam_b[i] * cum_k[i])
            g_k[i] += factor[i] * suffix[i]


@numba.njit(inline="always", error_model="numpy", cache=True)
def point_terms(code, lo, hi, lam, pre_sum, onset_rate, log_lik, row, d_log_lam, d_pre, d_onset,
                 d_row, col0, window_cum, window_drop, inner, slope, located_inner):
    """At one quadrature point for records lo..hi-1, all with outcome `code`: log L (into
    log_lik[row]) and, for cramps, d log L / d ln lambda, / d P and / d E (into row `d_row`,
    column r - lo: the group's block; for no cramp they are -x, -lambda and 0, recomputed where
    needed instead of stored)."""
    if code == LOCATED:
        located_cramps(lo, hi, col0, lam, window_cum, window_drop, inner, slope)
        for r in span(lo, hi):
            located_inner[d_row, r - lo + col0] = inner[r]
        for r in span(lo, hi):
            x = lam[r] * pre_sum[r]
            log_lik[row, r] = -x + vm.log(inner[r])
            d_log_lam[d_row, r - lo] = -x + slope[r]
            d_pre[d_row, r - lo] = -lam[r]
            d_onset[d_row, r - lo] = 0.0
    elif code == NO_CRAMP:
        for r in span(lo, hi):
            log_lik[row, r] = -lam[r] * pre_sum[r]
    elif code == ONSET_KNOWN:
        for r in span(lo, hi):
            x = lam[r] * pre_sum[r]
            y = lam[r] * onset_rate[r]
            one_minus = vm.one_minus_exp_neg(y)
            q = (1.0 - one_minus) / one_minus  # d log(1 - e^-y) / dy
            log_lik[row, r] = -x + vm.log(one_minus)
            d_log_lam[d_row, r - lo] = -x + y * q
            d_pre[d_row, r - lo] = -lam[r]
            d_onset[d_row, r - lo] = lam[r] * q
    else:
        for r in span(lo, hi):
            x = lam[r] * pre_sum[r]
            one_minus = vm.one_minus_exp_neg(x)
            q = (1.0 - one_minus) / one_minus
            log_lik[row, r] = vm.log(one_minus)
            d_log_lam[d_row, r - lo] = x * q
            d_pre[d_row, r - lo] = lam[r] * q
            d_onset[d_row, r - lo] = 0.0


@numba.njit(inline="always", cache=True)
def point_blocks(group_start, n_u, n_d, cramps):
    """Offsets of the groups' blocks (quadrature points x the group's records) in an array
    packed by group, of what the backward pass reads back: derivatives, kept for the cramp
    groups (`cramps`), or damage nodes' shares, for the UNMEASURED groups (not `cramps`).
    Packed, not (points, records): most of such an array's columns went unused, and at 100,000
    records its 36 MB came fresh from the operating system at every evaluation (bench/
    fit_profile.py counts the page faults)."""
    offsets = np.zeros(N_GROUPS + 1, dtype=np.int64)
    for g in range(N_GROUPS):
        category, code = g // N_CODES, g % N_CODES
        n_points = n_u * n_d if category == UNMEASURED else n_u
        kept = code != NO_CRAMP if cramps else category == UNMEASURED
        size = n_points * (group_start[g + 1] - group_start[g])
        offsets[g + 1] = offsets[g] + (size if kept else 0)
    return offsets


@numba.njit(inline="always", cache=True)
def block(packed, offsets, g, n_records):
    """Group g's block of `packed` (`point_blocks`), as (point, record - the group's first)."""
    lo, hi = offsets[g], offsets[g + 1]
    return packed[lo:hi].reshape((0 if n_records == 0 else (hi - lo) // n_records, n_records))


@numba.njit(inline="always", cache=True)
def window_column0(g, group_start):
    """The first window column of group g's located onsets (the categories' in order)."""
    col0 = 0
    for category in range(g // N_CODES):
        col0 += group_start[category * N_CODES + LOCATED + 1] - group_start[
            category * N_CODES + LOCATED]
    return col0

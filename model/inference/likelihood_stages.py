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
FUSED_COEFS = 3  # cell coefficients swept in one loop (`cell_sums`)



@numba.njit(inline="always", cache=True)
def span(lo, hi):
    """range(lo, hi) over unsigned integers: with a signed start numba cannot rule out negative
    indices and checks every one for wrap-around, which stops the loop from vectorising."""
    return range(np.uint64(lo), np.uint64(hi))


@numba.njit(error_model="numpy", cache=True)
def cell_sums(b_cell, cell_x, log_length):
    """P_r = sum_s exp(tv_rs) and the moments sum_s x_jrs exp(tv_rs), one sweep over the cells.

    Records are the inner (contiguous) loop, so that it vectorises; they are taken in blocks
    whose running sums stay in the L1 cache while the segments go by. The first FUSED_COEFS
    coefficients are one loop per cell, with tv and exp(tv) in registers (a loop per
    coefficient, storing and reloading them, took ~1.1x the time); fewer coefficients run as
    that many with b = 0 on the log lengths (0 x finite adds exactly 0) into a discarded sum;
    more add b_j x_j in a loop each before it and their moments after it (a separate loop:
    its extra load and store took back most of the gain)."""
    n_coef, n_seg, n_rec = cell_x.shape
    pre_sum = np.zeros(n_rec)
    moments = np.zeros((n_coef, n_rec))
    extra = np.zeros(CELL_BLOCK)  # sum of b_j x_j beyond the fused coefficients
    rate = np.empty(CELL_BLOCK)
    unused = np.empty(CELL_BLOCK)
    b = np.zeros(FUSED_COEFS)
    b[:min(n_coef, FUSED_COEFS)] = b_cell[:FUSED_COEFS]
    for lo in range(0, n_rec, CELL_BLOCK):
        n = min(lo + CELL_BLOCK, n_rec) - lo
        p = pre_sum[lo:lo + n]
        m0 = moments[0, lo:lo + n] if n_coef > 0 else unused[:n]
        m1 = moments[1, lo:lo + n] if n_coef > 1 else unused[:n]
        m2 = moments[2, lo:lo + n] if n_coef > 2 else unused[:n]
        for s in range(n_seg):
            ll = log_length[s, lo:lo + n]
            x0 = cell_x[0, s, lo:lo + n] if n_coef > 0 else ll
            x1 = cell_x[1, s, lo:lo + n] if n_coef > 1 else ll
            x2 = cell_x[2, s, lo:lo + n] if n_coef > 2 else ll
            for j in range(FUSED_COEFS, n_coef):
                bj, xj = b_cell[j], cell_x[j, s, lo:lo + n]
                for i in span(0, n):
                    extra[i] = vm.fma(bj, xj[i], 0.0 if j == FUSED_COEFS else extra[i])
            if n_coef <= FUSED_COEFS:
                for i in span(0, n):
                    a0, a1, a2 = np.float64(x0[i]), np.float64(x1[i]), np.float64(x2[i])
                    h = vm.exp(vm.fma(b[2], a2, vm.fma(b[1], a1, vm.fma(b[0], a0, ll[i]))))
                    p[i] += h
                    m0[i] = vm.fma(a0, h, m0[i])
                    m1[i] = vm.fma(a1, h, m1[i])
                    m2[i] = vm.fma(a2, h, m2[i])
                continue
            for i in span(0, n):  # the same, from the further coefficients' terms
                a0, a1, a2 = np.float64(x0[i]), np.float64(x1[i]), np.float64(x2[i])
                h = vm.exp(vm.fma(b[2], a2, vm.fma(b[1], a1, vm.fma(b[0], a0,
                                                                    ll[i] + extra[i]))))
                rate[i] = h
                p[i] += h
                m0[i] = vm.fma(a0, h, m0[i])
                m1[i] = vm.fma(a1, h, m1[i])
                m2[i] = vm.fma(a2, h, m2[i])
            for j in range(FUSED_COEFS, n_coef):
                xj, mj = cell_x[j, s, lo:lo + n], moments[j, lo:lo + n]
                for i in span(0, n):
                    mj[i] = vm.fma(xj[i], rate[i], mj[i])
    return pre_sum, moments


@numba.njit(error_model="numpy", cache=True)
def record_rates(const, b_cell, params, onset_x, onset_log_length, damage_x, taper_units,
                 record_order, group_start, window_x, window_log_length, z_damage,
                 damage_offset):
    """Per record: the onset segment's rate E_r; the damage level d_r that lambda's centre uses
    (measured; 0 for UNMEASURED; the mean of the CK model for SOLO) and lambda at the runner
    effect's centre with it; for UNMEASURED, exp(b_d d) at the damage nodes' levels d (other
    records' columns are not set). Per window position t of a located onset, the sum C_t of the
    cells' rates h over the window up to t, and the moments M_jt = sum of h x_j over the same
    cells (d C_t / d b_j)."""
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
    exp_damage = np.empty((n_d, n_rec))
    for m in range(n_d):
        for r in span(first_unmeasured, first_solo):
            damage = damage_offset[0] + (
                ck_mean + ck_taper * taper_units[r] + ck_sd * z_damage[m]) / LN2
            exp_damage[m, r] = vm.exp(beta_damage * damage)
    n_pos, n_located = window_log_length.shape
    window_rate = np.empty(n_located)  # h at one position
    window_cum = np.empty((n_pos, n_located))  # C_t: the rates summed over the window to t
    # M_jt, position-major (read together); rows of 0 up to FUSED_COEFS (`located_cramps`)
    window_moment = np.zeros((n_pos, max(n_coef, FUSED_COEFS), n_located))
    running = np.zeros(n_located)
    running_moment = np.zeros((n_coef, n_located))
    for k in range(n_pos):
        for c in range(n_located):
            window_rate[c] = window_log_length[k, c]
        for j in range(n_coef):
            bj = b_cell[j]
            for c in range(n_located):
                window_rate[c] += bj * window_x[j, k, c]
        for c in range(n_located):
            window_rate[c] = vm.exp(window_rate[c])
            running[c] += window_rate[c]
            window_cum[k, c] = running[c]
        for j in range(n_coef):
            for c in range(n_located):
                running_moment[j, c] = vm.fma(window_rate[c], window_x[j, k, c],
                                              running_moment[j, c])
                window_moment[k, j, c] = running_moment[j, c]
    return onset_rate, level, base, exp_damage, window_cum, window_moment


@numba.njit(inline="always", error_model="numpy", cache=True)
def located_cramps(lo, hi, col0, lam, window_cum, window_moment, window_drop, inner, slope,
                   decay, cell_slope):
    """Window sums of the located onsets lo..hi-1 (window columns col0...) at rate multipliers
    lam: inner = sum_t w_t P(first cramp in t), d ln(inner) / d ln lam and d ln(inner) / d b_j
    into `inner`, `slope` (by record) and `cell_slope` (j, window column). Summed by parts,
    inner = sum_t (w_t - w_t+1) G_t with G_t = 1 - exp(-lam C_t) the probability of a cramp by
    the end of t: one exp per position, every term to full relative precision (1 - e^-y is taken
    from its series where y is small), nothing carried between positions. With
    D_t = (w_t - w_t+1) exp(-lam C_t), the same exp gives both derivatives:

        d ln(inner) / d ln lam = lam / inner sum_t D_t C_t,
        d ln(inner) / d b_j    = lam / inner sum_t D_t M_jt   (M_jt = d C_t / d b_j),

    so that the backward pass only weighs them (no second sweep over the window). Window
    positions are the outer loop and records the inner one, on contiguous views indexed from 0,
    so that it vectorises."""
    n = hi - lo
    n_coef = window_moment.shape[1]  # at least FUSED_COEFS (`record_rates`)
    lam_b, inner_b, slope_b, decay_b = lam[lo:hi], inner[lo:hi], slope[lo:hi], decay[lo:hi]
    inner_b[:] = 0.0
    slope_b[:] = 0.0
    for j in range(n_coef):
        cell_slope[j, col0:col0 + n] = 0.0
    s0, s1, s2 = (cell_slope[0, col0:col0 + n], cell_slope[1, col0:col0 + n],
                  cell_slope[2, col0:col0 + n])
    for k in range(window_cum.shape[0]):
        cum_k = window_cum[k, col0:col0 + n]
        drop_k = window_drop[k, col0:col0 + n]
        m0, m1, m2 = (window_moment[k, 0, col0:col0 + n], window_moment[k, 1, col0:col0 + n],
                      window_moment[k, 2, col0:col0 + n])
        # the first FUSED_COEFS moments in the same loop (as in `cell_sums`); D_t is kept for
        # further ones only
        if n_coef == FUSED_COEFS:
            for i in span(0, n):
                y = lam_b[i] * cum_k[i]
                e = vm.exp(-y)
                inner_b[i] += drop_k[i] * vm.one_minus_given(y, e)
                d = drop_k[i] * e
                slope_b[i] = vm.fma(d, cum_k[i], slope_b[i])
                s0[i] = vm.fma(d, m0[i], s0[i])
                s1[i] = vm.fma(d, m1[i], s1[i])
                s2[i] = vm.fma(d, m2[i], s2[i])
            continue
        for i in span(0, n):
            y = lam_b[i] * cum_k[i]
            e = vm.exp(-y)
            inner_b[i] += drop_k[i] * vm.one_minus_given(y, e)
            d = drop_k[i] * e
            decay_b[i] = d
            slope_b[i] = vm.fma(d, cum_k[i], slope_b[i])
            s0[i] = vm.fma(d, m0[i], s0[i])
            s1[i] = vm.fma(d, m1[i], s1[i])
            s2[i] = vm.fma(d, m2[i], s2[i])
        for j in range(FUSED_COEFS, n_coef):
            moment_kj = window_moment[k, j, col0:col0 + n]
            slope_j = cell_slope[j, col0:col0 + n]
            for i in span(0, n):
                slope_j[i] = vm.fma(decay_b[i], moment_kj[i], slope_j[i])
    for i in span(0, n):
        decay_b[i] = lam_b[i] / inner_b[i]  # reused: the common factor
        slope_b[i] *= decay_b[i]
    for j in range(n_coef):
        slope_j = cell_slope[j, col0:col0 + n]
        for i in span(0, n):
            slope_j[i] *= decay_b[i]


@numba.njit(inline="always", error_model="numpy", cache=True)
def point_terms(code, lo, hi, lam, pre_sum, onset_rate, log_lik, row, d_log_lam, d_pre, d_onset,
                 d_row, col0, window_cum, window_moment, window_drop, inner, slope, decay,
                 located_cell):
    """At one quadrature point for records lo..hi-1, all with outcome `code`: log L (into
    log_lik[row]) and, for cramps, d log L / d ln lambda, / d P and / d E (into row `d_row`,
    column r - lo: the group's block; for no cramp they are -x, -lambda and 0, recomputed where
    needed instead of stored); for located onsets also d log L / d b_j through the window
    (located_cell[d_row, j], by window column)."""
    if code == LOCATED:
        located_cramps(lo, hi, col0, lam, window_cum, window_moment, window_drop, inner, slope,
                       decay, located_cell[d_row])
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

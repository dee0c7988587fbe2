"""The compiled likelihood kernel: its elementary functions, and its gradient against finite
differences (its value is checked against brute-force integration in test_model.py and against
model.validation.checks' independent numpy implementation in test_checks.py)."""

import os
import subprocess
import sys

import numba
import numpy as np
import pytest

from model.data.records import RaceRecords
from model.hazard.features import build_features
from model.inference import vector_math as vm
from model.inference.hazard_model import build_model, kernel_data, prepare
from model.inference.likelihood import loglik_and_gradient
from model.validation.synth import synthesize


@numba.njit(error_model="numpy")
def _apply(kind, x):
    out = np.empty_like(x)
    for i in range(x.size):
        if kind == 0:
            out[i] = vm.exp(x[i])
        elif kind == 1:
            out[i] = vm.log(x[i])
        else:
            out[i] = vm.one_minus_exp_neg(x[i])
    return out


def test_exp_and_log_agree_with_numpy_to_a_few_ulp():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-708, 709, 100_000), rng.uniform(-1, 1, 100_000)])
    np.testing.assert_allclose(_apply(0, x), np.exp(x), rtol=4 * 2.2e-16, atol=0)  # 4 ulp
    y = np.concatenate([np.exp(rng.uniform(-700, 700, 100_000)), rng.uniform(0.5, 2, 100_000)])
    np.testing.assert_allclose(_apply(1, y), np.log(y), rtol=4 * 2.2e-16, atol=4 * 2.2e-16)
    small = np.exp(rng.uniform(-40, 6, 100_000))
    np.testing.assert_allclose(_apply(2, small), -np.expm1(-small), rtol=1e-13, atol=0)
    # documented edges: no subnormals from exp, -inf for log of 0 and below
    assert list(_apply(0, np.array([-709.0, -1e4, 0.0]))) == [0.0, 0.0, 1.0]
    assert list(_apply(1, np.array([0.0, -1.0, 1.0]))) == [-np.inf, -np.inf, 0.0]


@numba.njit
def _fma(a, b, c):
    return vm.fma(a, b, c)


def test_fma_rounds_once():
    # (1 + 2^-30)^2 - 1 = 2^-29 + 2^-60: separate rounding loses the 2^-60, a fused one keeps it
    a = 1.0 + 2.0**-30
    assert a * a - 1.0 == 2.0**-29
    assert _fma(a, a, -1.0) == 2.0**-29 + 2.0**-60
    assert _fma(np.float32(2.0), 3.0, 1.0) == 7.0  # float32 arguments are widened


_KERNEL_BITS = """
import hashlib
import numpy as np
from model.hazard.features import build_features
from model.inference.hazard_model import kernel_data, prepare
from model.inference.likelihood import loglik_and_gradient
from model.data.records import RaceRecords
from model.validation.synth import synthesize
records, splits = synthesize(200, 3, ck_measured_fraction=0.5, onset_known_fraction=0.5)
data = kernel_data(prepare(build_features(RaceRecords(records, splits, "s", ""))), 9, 5)
rng = np.random.default_rng(0)
const = rng.normal(-4.9, 0.3, data.record_order.size)
b_cell = rng.normal(0.0, 0.5, data.cell_x.shape[0])
out = loglik_and_gradient(const, b_cell, np.array([0.6, 0.4, 4.4, 0.55, -0.3]), *data.arrays())
print(hashlib.sha256(b"".join(np.asarray(o).tobytes() for o in out)).hexdigest())
"""


def test_compiled_graphs_call_the_kernel_by_symbol_not_by_linking_it():
    # numba re-optimises and re-assembles every function a compiled function calls: a graph
    # that called the kernel as a numba function spent ~10 s of each model compile on it
    from model.inference.likelihood import _numba_hazard_loglik

    records, splits = synthesize(200, 3, ck_measured_fraction=0.5, onset_known_fraction=0.5)
    data = kernel_data(prepare(build_features(RaceRecords(records, splits, "s", ""))), 9, 5)
    rng = np.random.default_rng(0)
    args = (*_point(data, rng), *data.arrays())
    graph_kernel = _numba_hazard_loglik(None, None)[0]
    for got, expected in zip(graph_kernel(*args), loglik_and_gradient(*args), strict=True):
        assert np.array_equal(np.asarray(got), np.asarray(expected))  # bit for bit
    # strided inputs (no C layout) are copied for the C kernel, and the copies outlive the call
    strided = tuple(np.repeat(a, 2, axis=-1)[..., ::2] if isinstance(a, np.ndarray) and a.size
                    else a for a in args)
    assert not strided[3].flags.c_contiguous
    for got, expected in zip(graph_kernel(*strided), loglik_and_gradient(*args), strict=True):
        assert np.array_equal(np.asarray(got), np.asarray(expected))
    ir = "".join(graph_kernel.inspect_llvm().values())
    defined = [line for line in ir.splitlines() if line.startswith("define")]
    assert "cramp_hazard_loglik_" in ir
    assert not any(stage in line for line in defined
                   for stage in ("cell_sums", "record_rates", "forward", "backward"))


_GRAPH_GRADIENT = """
from model.data.records import RaceRecords
from model.evidence.priors import load_priors
from model.hazard.features import build_features
from model.inference.hazard_model import build_model, ieee_arithmetic
from model.validation.synth import synthesize
records, splits = synthesize(200, 3, ck_measured_fraction=0.5, onset_known_fraction=0.5)
model = build_model(build_features(RaceRecords(records, splits, "s", "")), load_priors())
with ieee_arithmetic():
    print(list(model.compile_dlogp(mode={mode!r})(model.initial_point())))
"""


@pytest.mark.slow  # three model compiles in fresh processes: ~40 s, ~110 s on a busy machine
def test_a_graph_from_pytensors_cache_finds_this_processs_kernel():
    # the graph calls the kernel by name: loaded from PyTensor's cache in a fresh process (the
    # second run at the latest), the name must resolve to that process's kernel, as a direct
    # call of the kernel (Python mode, `perform`) computes it
    runs = [subprocess.run([sys.executable, "-c", _GRAPH_GRADIENT.format(mode=mode)],
                           capture_output=True, text=True, check=True).stdout
            for mode in ("NUMBA", "NUMBA", "FAST_COMPILE")]
    compiled, cached, direct = (np.array(eval(run)) for run in runs)  # noqa: S307 (our output)
    assert np.array_equal(compiled, cached)
    np.testing.assert_allclose(compiled, direct, rtol=1e-10, atol=1e-12)


def test_a_fresh_compile_and_the_cached_one_give_identical_bits(tmp_path):
    # same seed, same draws: the first fit on a machine compiles the kernel, later fits load it
    # from numba's cache. Compiler-chosen fast math (e.g. contracting a * b + c) broke this.
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba_cache")}
    runs = [subprocess.run([sys.executable, "-c", _KERNEL_BITS], env=env, capture_output=True,
                           text=True, check=True).stdout for _ in range(2)]
    assert any((tmp_path / "numba_cache").rglob("*.nbi"))  # the second run loaded a cache
    assert runs[0] == runs[1] and len(runs[0].strip()) == 64


@pytest.fixture(scope="module")
def cohort():
    # every (CK measured?, outcome code) group of the kernel, repeated runners, several races;
    # a third of the records without splits, so that some unknown onsets are not located
    records, splits = synthesize(300, 5, {"log_hazard_per_km": -6.2}, ck_measured_fraction=0.5,
                                 onset_known_fraction=0.5)
    without = records.index[records.index % 3 == 0]
    keep = ~splits.set_index(["runner_id", "race_id"]).index.isin(
        records.loc[without].set_index(["runner_id", "race_id"]).index)
    features = build_features(RaceRecords(records, splits[keep], "synthetic", ""))
    data = kernel_data(prepare(features), 9, 5)
    assert np.all(np.diff(data.group_start) > 0)
    return features, data


def _point(data, rng):
    n_rec = data.record_order.size
    const = rng.normal(-4.9, 0.3, n_rec)
    b_cell = rng.normal(0.0, 0.5, data.cell_x.shape[0])
    params = np.array([0.6, 0.4, 4.4, 0.55, -0.3])
    return const, b_cell, params


def _finite_difference(f, x, i, step=1e-6):
    up, down = x.copy(), x.copy()
    up[i] += step
    down[i] -= step
    return (f(up) - f(down)) / (2 * step)


def test_gradient_matches_finite_differences(cohort):
    _, data = cohort
    rng = np.random.default_rng(2)
    const, b_cell, params = _point(data, rng)
    arrays = data.arrays()
    _, g_const, g_cell, g_params = loglik_and_gradient(const, b_cell, params, *arrays)

    def ll(c=const, b=b_cell, p=params):
        return loglik_and_gradient(c, b, p, *arrays)[0]

    for j in range(b_cell.size):
        assert g_cell[j] == pytest.approx(_finite_difference(lambda b: ll(b=b), b_cell, j),
                                          rel=1e-6, abs=1e-6)
    for j in range(params.size):
        assert g_params[j] == pytest.approx(_finite_difference(lambda p: ll(p=p), params, j),
                                            rel=1e-6, abs=1e-6)
    # records of every group (kernel order -> data order)
    for g in range(data.group_start.size - 1):
        r = data.record_order[data.group_start[g]]
        assert g_const[r] == pytest.approx(_finite_difference(lambda c: ll(c=c), const, r),
                                           rel=1e-6, abs=1e-6)


def test_model_gradient_is_the_kernel_gradient_through_pytensor(cohort, priors):
    # the Op's pullback wires the kernel's gradient into PyMC's log-density
    features, _ = cohort
    model = build_model(features, priors)
    logp = model.compile_logp()
    dlogp = model.compile_dlogp()
    point = model.initial_point()
    rng = np.random.default_rng(3)
    point = {k: v + rng.normal(0, 0.1, np.shape(v)) for k, v in point.items()}
    grad = dlogp(point)
    offset = 0
    for var in model.value_vars:
        size = int(np.prod(point[var.name].shape))
        for i in range(min(size, 3)):
            def f(v, name=var.name):
                return logp({**point, name: v.reshape(point[name].shape)})

            flat = point[var.name].astype(float).ravel()
            expected = _finite_difference(f, flat, i)
            assert grad[offset + i] == pytest.approx(expected, rel=1e-5, abs=1e-5), var.name
        offset += size
    assert offset == grad.size


def test_reference_definition_and_kernel_agree_in_value_and_gradient(cohort):
    # the reference (plain PyTensor, autodiff) is the definition; the kernel must match it in
    # value and in every gradient component, for records of every (CK category x outcome) group
    import pytensor
    import pytensor.tensor as pt

    from model.inference.likelihood_reference import reference_loglik

    _, data = cohort
    const, b_cell, params = pt.dvector("const"), pt.dvector("b_cell"), pt.dvector("params")
    total = reference_loglik(const, b_cell, params, data)
    reference = pytensor.function([const, b_cell, params],
                                  [total, *pt.grad(total, [const, b_cell, params])])
    rng = np.random.default_rng(11)
    for _ in range(4):
        point = _point(data, rng)
        point[2][:] = [rng.normal(0, 0.7), rng.normal(0.4, 0.2), rng.normal(4.4, 0.2),
                       rng.uniform(0.2, 0.9), rng.normal(-0.2, 0.2)]
        kernel = loglik_and_gradient(*point, *data.arrays())
        expected = reference(*point)
        assert kernel[0] == pytest.approx(float(expected[0]), rel=1e-11)
        for got, want, name in zip(kernel[1:], expected[1:], ("const", "b_cell", "params"),
                                   strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10, err_msg=name)


def test_the_model_on_either_backend_has_the_same_log_density(cohort, priors):
    features, _ = cohort
    numba_model = build_model(features, priors)
    reference_model = build_model(features, priors, backend="reference")
    point = numba_model.initial_point()
    rng = np.random.default_rng(4)
    point = {k: v + rng.normal(0, 0.1, np.shape(v)) for k, v in point.items()}
    assert reference_model.compile_logp()(point) == pytest.approx(
        numba_model.compile_logp()(point), rel=1e-11)
    np.testing.assert_allclose(reference_model.compile_dlogp()(point),
                               numba_model.compile_dlogp()(point), rtol=1e-8, atol=1e-9)

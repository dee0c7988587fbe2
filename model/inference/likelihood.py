"""The hazard's log-likelihood and its exact gradient as one PyTensor Op, evaluated by the numba
kernel of `model.inference.likelihood_kernel` (whose docstring explains the algorithm). The Op is
called with the arrays of `KernelData`, by name, in its field order.

Compiled graphs call the kernel as a C function by symbol name (`kernel_symbol`), not as a
numba function: numba links a called function's IR into its caller and optimises and assembles
the whole again, which had cost ~10 s of every model compile, even with the kernel in numba's
cache (bench/fit_profile.py). The C function is compiled once per kernel source and then loaded
from numba's cache."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import llvmlite.binding as llvm
import numba
import numpy as np
import pytensor.tensor as pt
from numba import carray, types
from numba.extending import intrinsic
from pytensor.gradient import DisconnectedType
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

from model.inference import likelihood_kernel, likelihood_stages
from model.inference import vector_math as vm
from model.inference.likelihood_kernel import loglik_and_gradient
from model.inference.likelihood_stages import N_GROUPS

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


class HazardLogLikelihood(Op):
    """log-likelihood(const, b_cell, params) with its gradient as extra outputs of the same node,
    so a log-density-and-gradient evaluation runs the kernel once. Data are constant or shared
    inputs (model/inference/hazard_model.py makes them shared, so a compiled graph is reusable)."""

    __props__ = ()

    def make_node(self, const, b_cell, params, *data):
        inputs = [pt.as_tensor(const, dtype="float64"), pt.as_tensor(b_cell, dtype="float64"),
                  pt.as_tensor(params, dtype="float64")] + [pt.as_tensor(a) for a in data]
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
    kernel = types.ExternalFunction(kernel_symbol(), _C_SIGNATURE)

    @numba.njit(error_model="numpy")
    def hazard_loglik(const, b_cell, params, cell_x, log_length, onset_x, onset_log_length,
                      damage_x, taper_units, record_order, record_runner, group_start, window_x,
                      window_log_length, window_drop, z_runner, logw_runner, z_damage,
                      logw_damage, damage_offset):
        n_coef, n_seg, n_rec = cell_x.shape
        n_pos, n_located = window_log_length.shape
        total = np.empty(1)
        g_const = np.empty(n_rec)
        g_cell = np.empty(n_coef)
        g_params = np.empty(params.size)
        # C-contiguous copies where needed, held until the kernel has returned (a temporary
        # would be freed after its pointer is taken)
        c = np.ascontiguousarray
        held = (c(const), c(b_cell), c(params), c(cell_x), c(log_length), c(onset_x),
                c(onset_log_length), c(damage_x), c(taper_units), c(record_order),
                c(record_runner), c(group_start), c(window_x), c(window_log_length),
                c(window_drop), c(z_runner), c(logw_runner), c(z_damage), c(logw_damage),
                c(damage_offset))
        p = _data_pointer
        kernel(p(held[0]), p(held[1]), p(held[2]), p(held[3]), p(held[4]), p(held[5]),
               p(held[6]), p(held[7]), p(held[8]), p(held[9]), p(held[10]), p(held[11]),
               p(held[12]), p(held[13]), p(held[14]), p(held[15]), p(held[16]), p(held[17]),
               p(held[18]), p(held[19]), n_rec, n_coef, n_seg, n_pos, n_located,
               z_runner.size, z_damage.size, p(total), p(g_const), p(g_cell), p(g_params))
        _keep_alive(held)
        return np.asarray(total[0]), g_const, g_cell, g_params

    return hazard_loglik, _source_version()


@functools.cache
def _source_version() -> int:
    """PyTensor caches compiled graphs by the Op's type and props; the kernel's source (this file,
    the kernel, its stages and vector_math) must be part of the key, or an edited kernel would
    load a stale one. Read once per process: the cache key and the registered symbol
    (`kernel_symbol`) must name the same sources even if the files change meanwhile (a graph
    keyed by a later digest had called a symbol this process never registered)."""
    digest = hashlib.sha256()
    for module in (__file__, likelihood_kernel.__file__, likelihood_stages.__file__, vm.__file__):
        digest.update(Path(module).read_bytes())
    return int(digest.hexdigest()[:15], 16)


_F64, _F32, _I64 = (types.CPointer(t) for t in (types.float64, types.float32, types.int64))
# the kernel's C signature: const, b_cell, params and KernelData's arrays (in field order) as
# pointers, then n_rec, n_coef, n_seg, n_pos, n_located, n_u, n_d, then the four outputs
_C_SIGNATURE = types.void(_F64, _F64, _F64, _F32, _F32, *[_F64] * 4, *[_I64] * 3, *[_F64] * 8,
                          *[types.int64] * 7, *[_F64] * 4)


def _c_kernel(version: int):
    """`loglik_and_gradient` as a C function; `version` (the sources' digest) is in numba's
    cache key through the closure, so an edited kernel is compiled anew."""

    @numba.cfunc(_C_SIGNATURE, cache=True, error_model="numpy")
    def c_kernel(const, b_cell, params, cell_x, log_length, onset_x, onset_log_length, damage_x,
                 taper_units, record_order, record_runner, group_start, window_x,
                 window_log_length, window_drop, z_runner, logw_runner, z_damage, logw_damage,
                 damage_offset, n_rec, n_coef, n_seg, n_pos, n_located, n_u, n_d, total,
                 g_const, g_cell, g_params):
        if version < 0:  # never (keeps `version` in the closure)
            return
        out = loglik_and_gradient(
            carray(const, n_rec), carray(b_cell, n_coef), carray(params, len(PARAMS)),
            carray(cell_x, (n_coef, n_seg, n_rec)), carray(log_length, (n_seg, n_rec)),
            carray(onset_x, (n_coef, n_rec)), carray(onset_log_length, n_rec),
            carray(damage_x, n_rec), carray(taper_units, n_rec), carray(record_order, n_rec),
            carray(record_runner, n_rec), carray(group_start, N_GROUPS + 1),
            carray(window_x, (n_coef, n_pos, n_located)),
            carray(window_log_length, (n_pos, n_located)),
            carray(window_drop, (n_pos, n_located)), carray(z_runner, n_u),
            carray(logw_runner, n_u), carray(z_damage, n_d), carray(logw_damage, n_d),
            carray(damage_offset, 1))
        total[0] = out[0]
        for r in range(n_rec):
            g_const[r] = out[1][r]
        for j in range(n_coef):
            g_cell[j] = out[2][j]
        for k in range(len(PARAMS)):
            g_params[k] = out[3][k]

    return c_kernel


@functools.cache
def kernel_symbol() -> str:
    """The C kernel's symbol, named after the kernel's sources and registered with LLVM in this
    process: a graph loaded from PyTensor's cache resolves it to this process's kernel, and
    never to a kernel of other sources."""
    version = _source_version()
    name = f"cramp_hazard_loglik_{version:x}"
    llvm.add_symbol(name, _c_kernel(version).address)
    return name


@intrinsic
def _data_pointer(typingctx, array):
    """The data pointer of a C-contiguous array, typed as a pointer to its elements."""

    def codegen(context, builder, signature, args):
        return context.make_array(signature.args[0])(context, builder, args[0]).data

    return types.CPointer(array.dtype)(array), codegen


@intrinsic
def _keep_alive(typingctx, arrays):
    """A use of `arrays` that generates no code: numba frees a value after its last use, so
    this keeps the arrays whose pointers the kernel reads alive until it has returned."""

    def codegen(context, builder, signature, args):
        return context.get_dummy_value()

    return types.none(arrays), codegen


def hazard_loglik(const, b_cell, params, data: KernelData):
    """The log-likelihood as a PyTensor scalar (gradient included through the Op)."""
    kernel_symbol()  # registered before PyTensor can load a compiled graph that calls it
    return HazardLogLikelihood()(const, b_cell, params, *data.arrays())[0]

"""The hazard's log-likelihood and its exact gradient as one PyTensor Op, evaluated by the numba
kernel of `model.inference.likelihood_kernel` (whose docstring explains the algorithm). The Op is
called with the arrays of `KernelData`, by name, in its field order."""

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

from model.inference import likelihood_kernel, likelihood_stages
from model.inference import vector_math as vm
from model.inference.likelihood_kernel import loglik_and_gradient

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
    inputs (model/inference/hazard_model.py makes them shared, so a compiled model is reusable)."""

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
    @numba.njit(error_model="numpy")
    def hazard_loglik(*args):
        total, g_const, g_cell, g_params = loglik_and_gradient(*args)
        return np.asarray(total), g_const, g_cell, g_params

    return hazard_loglik, _source_version()


def _source_version() -> int:
    """PyTensor caches compiled graphs by the Op's type and props; the kernel's source (this file,
    the kernel, its stages and vector_math) must be part of the key, or an edited kernel would
    load a stale one."""
    digest = hashlib.sha256()
    for module in (__file__, likelihood_kernel.__file__, likelihood_stages.__file__, vm.__file__):
        digest.update(Path(module).read_bytes())
    return int(digest.hexdigest()[:15], 16)


def hazard_loglik(const, b_cell, params, data: KernelData):
    """The log-likelihood as a PyTensor scalar (gradient included through the Op)."""
    return HazardLogLikelihood()(const, b_cell, params, *data.arrays())[0]

"""nutpie's C entry points for a compiled model: C functions compiled once per graph signature
and cached on disk, which call the model's PyTensor graphs by address.

nutpie (0.16) compiles a `numba.cfunc` around each of a model's graphs on every fit. numba
compiles the cfunc's body anew each time (its closure holds the graph, so it cannot be cached)
and links the graph's code into it: ~3.4 s of a 6-race, 10,000-record model's ~7.5 s compile
after the graph itself is compiled, and 18-20 s with the data as shared variables (timed
apart, Nov 2026). Here an entry point depends only on the graph's signature (the dtype and rank
of each data array), so numba's cache serves it to every later fit of that signature in any
process. A call reads the graph's address and the data arrays' pointers and shapes from its
user data and calls the graph with numba's own calling convention. The log density, gradient
and draws are the graph's, bit for bit (tests/test_nutpie_entry.py).

The sampler may work in scaled coordinates y = (x - centre) / scale (`EntryCompiledModel.scaled`,
used by model/inference/laplace.py): the entry points read the centre and scale from the user
data, call the graph at x and return the gradient times the scale. With centre 0 and scale 1 (as
compiled) x is y exactly, so nothing changes.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools

import numba
import numpy as np
from llvmlite import ir
from numba import carray, types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.arrayobj import populate_array
from nutpie.compile_pymc import CompiledPyMCModel

VECTOR = types.Array(types.float64, 1, "C")
LOGP_RESULT = types.Tuple((types.Array(types.float64, 0, "C"), VECTOR))
EXPAND_RESULT = types.UniTuple(VECTOR, 1)
# user data (uintp words): this header, then per graph its data arrays as (pointer, shape...)
LOGP_GRAPH, EXPAND_GRAPH, N_DIM, N_EXPANDED, LOGP_DATA, EXPAND_DATA, CENTRE, SCALE = range(8)
HEADER_WORDS = 8


def graph_arguments(data: list[tuple]) -> types.BaseTuple:
    """The type of a graph's star-args when called with the parameter vector and data arrays
    of these (numba dtype, rank) pairs, read-only, as nutpie's wrapper calls it. A plain tuple
    type, as numba types a call's star-args, so this is the overload a call would compile."""
    return types.BaseTuple.from_types(
        [VECTOR, *(types.Array(dtype, rank, "C", readonly=True) for dtype, rank in data)])


def _graph_call(result_type):
    """An intrinsic calling the graph at `address` with x and the data arrays described by
    the user data's words from `first` on; `templates` (zero-filled arrays) give their dtype
    and rank at compile time."""

    @intrinsic
    def call(typingctx, address, x, user_data, first, templates):
        arguments = graph_arguments([(t.dtype, t.ndim) for t in templates])

        def codegen(context, builder, signature, args):
            address_value, x_value, data_value, first_value, _ = args
            words = builder.bitcast(data_value, ir.IntType(64).as_pointer())
            position = first_value
            members = [x_value]
            for array_type in arguments.types[1:]:
                word = builder.load(builder.gep(words, [position]))
                shape = []
                for axis in range(array_type.ndim):
                    offset = builder.add(position, context.get_constant(types.intp, 1 + axis))
                    shape.append(builder.load(builder.gep(words, [offset])))
                position = builder.add(position,
                                       context.get_constant(types.intp, 1 + array_type.ndim))
                members.append(_array(context, builder, array_type, word, shape))
            star_args = context.make_tuple(builder, arguments, members)
            fnty = context.call_conv.get_function_type(result_type, (arguments,))
            graph = builder.inttoptr(address_value, fnty.as_pointer())
            status, result = context.call_conv.call_function(
                builder, graph, result_type, (arguments,), (star_args,))
            # as numba's own calls do: an exception in the graph reaches the caller's `except`
            with cgutils.if_unlikely(builder, status.is_error):
                context.call_conv.return_status_propagate(builder, status)
            return result

        return result_type(types.uintp, x, types.voidptr, types.intp, templates), codegen

    return call


def _array(context, builder, array_type, pointer_word, shape):
    """A C-contiguous numba array over memory it does not own (the compiled model holds it)."""
    array = context.make_array(array_type)(context, builder)
    item_size = context.get_abi_sizeof(context.get_data_type(array_type.dtype))
    strides, stride = [], context.get_constant(types.intp, item_size)
    for extent in reversed(shape):
        strides.insert(0, stride)
        stride = builder.mul(stride, extent)
    data = builder.inttoptr(pointer_word, context.get_data_type(array_type.dtype).as_pointer())
    populate_array(array, data=data, shape=shape, strides=strides,
                   itemsize=context.get_constant(types.intp, item_size), meminfo=None)
    return array._getvalue()


_call_logp_graph = _graph_call(LOGP_RESULT)
_call_expand_graph = _graph_call(EXPAND_RESULT)


@intrinsic
def _word(typingctx, user_data, index):
    """The index-th uintp of the entry points' user data."""

    def codegen(context, builder, signature, args):
        words = builder.bitcast(args[0], ir.IntType(64).as_pointer())
        return builder.load(builder.gep(words, [args[1]]))

    return types.uintp(types.voidptr, types.intp), codegen


@intrinsic
def _doubles(typingctx, user_data, index):
    """The float64 array whose address is the index-th word of the user data."""

    def codegen(context, builder, signature, args):
        words = builder.bitcast(args[0], ir.IntType(64).as_pointer())
        word = builder.load(builder.gep(words, [args[1]]))
        return builder.inttoptr(word, ir.DoubleType().as_pointer())

    return types.CPointer(types.float64)(types.voidptr, types.intp), codegen


@numba.njit(error_model="numpy")
def _point(y_, dim, user_data_):
    """(x = centre + scale * y, scale) for the sampler's coordinates y at `y_`."""
    scale = carray(_doubles(user_data_, SCALE), (dim,))
    return carray(_doubles(user_data_, CENTRE), (dim,)) + scale * carray(y_, (dim,)), scale


_DOUBLE_POINTER = ctypes.POINTER(ctypes.c_double)
_LOGP_SIGNATURE = types.int64(types.uint64, types.CPointer(types.float64),
                              types.CPointer(types.float64), types.CPointer(types.float64),
                              types.voidptr)
_EXPAND_SIGNATURE = types.int64(types.uint64, types.uint64, types.CPointer(types.float64),
                                types.CPointer(types.float64), types.voidptr)


@functools.cache
def entry_points(logp_signature: tuple, expand_signature: tuple):
    """The (log density, expansion) entry points for graphs whose data arrays have these
    (dtype, rank) pairs: compiled on first use (~3 s), then loaded from numba's cache. Return
    codes as nutpie's own wrapper's: -1 wrong size, 1 an exception, 3 a non-finite gradient, 4 a
    non-finite log density (nutpie treats each as a divergence, not a crash)."""
    # the templates are closure constants, so numba's cache key (which pickles them) differs
    # by signature; zeros, not np.empty: a 0-d template has one element, and uninitialised
    # memory in it could make the key differ between processes
    logp_templates = tuple(np.zeros((0,) * rank, dtype) for dtype, rank in logp_signature)
    expand_templates = tuple(np.zeros((0,) * rank, dtype) for dtype, rank in expand_signature)

    def logp_entry(dim, x_, out_, logp_, user_data_):
        if dim != _word(user_data_, N_DIM):
            return -1
        try:
            x, scale = _point(x_, dim, user_data_)
            out = carray(out_, (dim,))
            logp = carray(logp_, ())
            logp_value, gradient = _call_logp_graph(
                _word(user_data_, LOGP_GRAPH), x, user_data_, _word(user_data_, LOGP_DATA),
                logp_templates)
            logp[()] = logp_value
            out[...] = gradient * scale
            if not np.all(np.isfinite(out)):
                return 3
            if not np.isfinite(logp_value):
                return 4
        except Exception:  # noqa: BLE001 - nutpie reads the code, not the exception
            return 1
        return 0

    def expand_entry(dim, expanded, x_, out_, user_data_):
        if dim != _word(user_data_, N_DIM) or expanded != _word(user_data_, N_EXPANDED):
            return -1
        try:
            x, _ = _point(x_, dim, user_data_)
            out = carray(out_, (expanded,))
            (values,) = _call_expand_graph(
                _word(user_data_, EXPAND_GRAPH), x, user_data_, _word(user_data_, EXPAND_DATA),
                expand_templates)
            out[...] = values
        except Exception:  # noqa: BLE001
            return -2
        return 0

    return (numba.cfunc(_LOGP_SIGNATURE, cache=True, error_model="numpy")(logp_entry),
            numba.cfunc(_EXPAND_SIGNATURE, cache=True, error_model="numpy")(expand_entry))


def graph_address(dispatcher, data: list[np.ndarray], result_type) -> int:
    """The address of `dispatcher`'s code for a vector and `data`, compiling it if needed (or
    loading it from PyTensor's cache); raises TypeError if it does not return `result_type`."""
    arguments = (graph_arguments([(numba.from_dtype(a.dtype), a.ndim) for a in data]),)
    dispatcher.compile(arguments)
    compiled = dispatcher.overloads[arguments]
    if compiled.signature.return_type != result_type:
        raise TypeError(f"graph returns {compiled.signature.return_type}, not {result_type}")
    return compiled.library.get_pointer_to_function(compiled.fndesc.llvm_func_name)


@dataclasses.dataclass(frozen=True)
class EntryCompiledModel(CompiledPyMCModel):
    """nutpie's compiled model with the cached entry points; `with_data` swaps data arrays
    (same dtypes and ranks, any sizes) without compiling."""

    logp_data: tuple[str, ...] = ()  # the shared-data keys each graph reads, in order
    expand_data: tuple[str, ...] = ()
    # the sampler's coordinates y = (x - centre) / scale; x is the model's unconstrained vector
    centre: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    scale: np.ndarray = dataclasses.field(default_factory=lambda: np.ones(0))

    def log_density(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """The log density and its gradient at `x` in the sampler's coordinates (unconstrained,
        the sampler's order; scaled after `scaled`) through the entry point, as nutpie calls
        it: no compile. Raises FloatingPointError where it returns an error code."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        gradient, logp = np.empty_like(x), np.zeros(())
        code = self.compiled_logp_func.ctypes(
            len(x), *(a.ctypes.data_as(_DOUBLE_POINTER) for a in (x, gradient, logp)),
            self.user_data.ctypes.data)
        if code:
            raise FloatingPointError(f"log density returned error code {code}")
        return float(logp), gradient

    def with_data(self, **updates):
        shared_data = dict(self.shared_data)
        for name, value in updates.items():
            keys = [k for var, k in self.shared_var_keys.items() if var.name == name]
            if len(keys) != 1:
                raise KeyError(f"no single shared variable named {name!r}")
            old = shared_data[keys[0]]
            new = np.array(value, dtype=old.dtype, order="C", copy=True)
            if new.ndim != old.ndim:
                raise ValueError(f"shared variable {name} must have rank {old.ndim}")
            new.flags.writeable = False
            shared_data[keys[0]] = new
        return dataclasses.replace(self, shared_data=shared_data, user_data=_user_data(
            self.user_data, shared_data, self.logp_data, self.expand_data, self.centre,
            self.scale))

    def scaled(self, centre: np.ndarray, scale: np.ndarray, initial_point_func=None):
        """The same model sampled in y = (x - centre) / scale (x: the model's unconstrained
        vector, not this model's coordinates): an affine change, so the same posterior, the log
        density shifted by a constant. `initial_point_func(seed)` gives a start in y; by default
        the model's own start, mapped."""
        centre = np.array(centre, dtype=np.float64, order="C")
        scale = np.array(scale, dtype=np.float64, order="C")
        if centre.shape != (self.n_dim,) or scale.shape != (self.n_dim,) or not (
                np.all(np.isfinite(centre)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
            raise ValueError(f"centre and scale must be {self.n_dim} finite numbers, scale > 0")
        if initial_point_func is None:
            start, old_centre, old_scale = self.initial_point_func, self.centre, self.scale
            initial_point_func = lambda seed: (  # noqa: E731
                old_centre + old_scale * start(seed) - centre) / scale
        for array in (centre, scale):
            array.flags.writeable = False
        return dataclasses.replace(
            self, centre=centre, scale=scale, initial_point_func=initial_point_func,
            user_data=_user_data(self.user_data, self.shared_data, self.logp_data,
                                 self.expand_data, centre, scale))


def flat_point(compiled, point: dict[str, np.ndarray]) -> np.ndarray:
    """The sampler's vector (the model's unconstrained coordinates, in its order) of a point
    given by variable name, as PyMC's `model.initial_point()` gives it."""
    x = np.empty(compiled.n_dim)
    # shape_info also lists the expanded (constrained and deterministic) values, after these
    for name, where in zip(compiled.shape_info[0], compiled.shape_info[1], strict=False):
        if where.stop <= compiled.n_dim:
            x[where] = np.ravel(point[name])
    return x


def _user_data(header: np.ndarray, shared_data: dict, logp_data, expand_data, centre: np.ndarray,
               scale: np.ndarray) -> np.ndarray:
    """The entry points' user data: graph addresses and sizes (the first 4 words of
    `header`), the offsets of each graph's data words, the coordinates' centre and scale, then
    the (pointer, shape) words of each graph's data arrays."""
    blocks = [[w for key in keys for w in (shared_data[key].ctypes.data,
                                           *shared_data[key].shape)]
              for keys in (logp_data, expand_data)]
    offsets = [HEADER_WORDS, HEADER_WORDS + len(blocks[0])]
    return np.array([*header[:N_EXPANDED + 1], *offsets, centre.ctypes.data, scale.ctypes.data,
                     *blocks[0], *blocks[1]], dtype=np.uintp)


def compile_model(model) -> EntryCompiledModel:
    """nutpie's compiled model of a PyMC model, its graphs called through the cached entry
    points. nutpie.compile_pymc_model's defaults otherwise (start at the support point,
    jittered)."""
    from nutpie.compile_pymc import _make_functions, _prepare_dims_and_coords, _wrap_with_lock
    from pymc.initial_point import make_initial_point_fn

    initial_point = _wrap_with_lock(make_initial_point_fn(
        model=model, default_strategy="support_point", jitter_rvs=set(model.free_RVs),
        return_transformed=True))
    (n_dim, n_expanded, logp_graph, expand_graph, initial_point_fn, shape_info,
     reparameterized_names) = _make_functions(
        model, mode="NUMBA", compute_grad=True, join_expanded=True,
        pymc_initial_point_fn=initial_point, var_names=None)
    shared_var_keys, shared_data = {}, {}
    for variable in [*logp_graph.get_shared(), *expand_graph.get_shared()]:
        if variable not in shared_var_keys:
            shared_var_keys[variable] = f"data{len(shared_var_keys)}"
            # the model's own arrays, not copies (~1 GB at 10^6 runner-races); the user data point
            # into them, and the compiled model holds them. (Not np.ascontiguousarray: it makes
            # a 0-d array 1-d.)
            shared_data[shared_var_keys[variable]] = np.asarray(
                variable.get_value(borrow=True), order="C")
    logp_data = tuple(shared_var_keys[v] for v in logp_graph.get_shared())
    expand_data = tuple(shared_var_keys[v] for v in expand_graph.get_shared())
    header = np.array([
        graph_address(logp_graph.vm.jit_fn, [shared_data[k] for k in logp_data], LOGP_RESULT),
        graph_address(expand_graph.vm.jit_fn, [shared_data[k] for k in expand_data],
                      EXPAND_RESULT),
        n_dim, n_expanded], dtype=np.uintp)
    logp_entry, expand_entry = entry_points(
        *(tuple((shared_data[k].dtype.str, shared_data[k].ndim) for k in keys)
          for keys in (logp_data, expand_data)))
    dims, coords = _prepare_dims_and_coords(model, shape_info, reparameterized_names)
    centre, scale = np.zeros(n_dim), np.ones(n_dim)
    return EntryCompiledModel(
        _n_dim=n_dim,
        dims=dims,
        _coords=coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info, strict=False)},
        compiled_logp_func=logp_entry,
        compiled_expand_func=expand_entry,
        initial_point_func=initial_point_fn,
        shared_data=shared_data,
        shared_var_keys=shared_var_keys,
        user_data=_user_data(header, shared_data, logp_data, expand_data, centre, scale),
        n_expanded=n_expanded,
        shape_info=shape_info,
        # the compiled graphs, whose code the user data points at, live as long as these
        logp_func=logp_graph,
        expand_func=expand_graph,
        reparameterized_names=reparameterized_names,
        logp_data=logp_data,
        expand_data=expand_data,
        centre=centre,
        scale=scale,
    )

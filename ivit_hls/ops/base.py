"""The op-table machinery: typed attributes, tensor types, and the hooks every layer kind provides.

An ``OpDef`` subclass describes one layer kind completely: its typed attributes (a frozen
dataclass), the integer parameters it needs (dtype, hardware width, shape against its inputs),
its output type and shape, its GEMM shape where it has one, and one hook per level:

* ``golden``  the numpy semantics (the spec in code, ``docs/integer-spec.md``)
* ``bounds``  range analysis: worst-case magnitudes, every container proven wide enough
* ``cycles``  the engine's cycle cost of the layer
* ``hls``     the per-layer config struct and kernel call of the generated HLS project
* ``rtl``     the constants the SystemVerilog units take, at their hardware widths
* ``engine``  the steps of the RTL engine's program (optional: the default refuses the kind)

Backends iterate the model's layers and call ``layer.op.<hook>``; nothing outside this package
dispatches on a kind string.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import FormatError


# --------------------------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IntType:
    """A signed or unsigned integer of ``bits`` bits."""

    bits: int
    signed: bool = True

    @property
    def lo(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def hi(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def magnitude(self) -> int:
        """Largest ``|v|`` the type holds."""
        return max(-self.lo, self.hi)

    def __str__(self) -> str:
        return f"{'int' if self.signed else 'uint'}{self.bits}"


@dataclass(frozen=True)
class TensorType:
    """A tensor's shape (without the batch axis) and element type."""

    shape: tuple
    dtype: IntType

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


@dataclass(frozen=True)
class ParamSpec:
    """An integer parameter: its hardware element type (container width of the kernels)."""

    dtype: IntType
    doc: str = ""


@dataclass(frozen=True)
class GemmShape:
    """``repeats`` independent products of (M x K) by (K x N)."""

    m: int
    n: int
    k: int
    repeats: int = 1

    @property
    def macs(self) -> int:
        return self.m * self.n * self.k * self.repeats


@dataclass(frozen=True)
class Engine:
    """The hardware the cycle hooks describe: an R x C GEMM array and a vector unit."""

    rows: int = 16
    cols: int = 16
    lanes: int = 16


# --------------------------------------------------------------------------------------------
# Typed attributes
# --------------------------------------------------------------------------------------------
def choices(*values: str, default=dataclasses.MISSING):
    """A string attribute restricted to ``values``."""
    return dataclasses.field(default=default, metadata={"choices": values})


def _check_value(where: str, name: str, hint, value, meta) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union:  # Optional[...] / X | None
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _check_value(where, name, inner, value, meta)
    if hint is int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise FormatError(f"{where}: attribute {name!r} must be an integer, "
                              f"got {type(value).__name__} {value!r}")
        return int(value)
    if hint is str:
        if not isinstance(value, str):
            raise FormatError(f"{where}: attribute {name!r} must be a string, got {value!r}")
        allowed = meta.get("choices")
        if allowed and value not in allowed:
            raise FormatError(f"{where}: attribute {name}={value!r} is not one of "
                              f"{', '.join(allowed)}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise FormatError(f"{where}: attribute {name!r} must be a list of {len(args)} "
                              f"integers, got {value!r}")
        return tuple(_check_value(where, name, a, v, meta) for a, v in zip(args, value))
    raise TypeError(f"unsupported attribute annotation {hint!r}")  # a bug in an OpDef


def parse_attrs(cls: type, raw: dict, where: str):
    """Build the frozen attrs dataclass ``cls`` from a dict, checking names and types."""
    if not isinstance(raw, dict):
        raise FormatError(f"{where}: attrs must be a mapping, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise FormatError(f"{where}: unknown attribute(s) {', '.join(unknown)}")
    values = {}
    for name, f in fields.items():
        if name not in raw:
            if f.default is dataclasses.MISSING:
                raise FormatError(f"{where}: missing attribute {name!r}")
            continue
        values[name] = _check_value(where, name, hints[name], raw[name], f.metadata)
    return cls(**values)


def attrs_to_dict(attrs) -> dict:
    """Plain-JSON form of an attrs dataclass (tuples as lists)."""
    out = {}
    for f in dataclasses.fields(attrs):
        v = getattr(attrs, f.name)
        out[f.name] = list(v) if isinstance(v, tuple) else v
    return out


# --------------------------------------------------------------------------------------------
# The op definition
# --------------------------------------------------------------------------------------------
class OpDef:
    """Everything about one layer kind. Subclasses set the class attributes and the hooks."""

    kind: ClassVar[str]
    Attrs: ClassVar[type]
    #: names of the input tensors, in order (documentation and arity)
    inputs: ClassVar[tuple] = ("x",)
    #: which hardware unit runs the layer: "array" (GEMM) or "vector"
    unit: ClassVar[str] = "vector"
    #: True when the HLS engine runs the layer once per image of a batch (its operands are
    #: per image); False when it runs once over the batch's stacked rows
    per_image: ClassVar[bool] = False

    # -- schema ---------------------------------------------------------------------------
    def params(self, attrs) -> dict[str, ParamSpec]:
        """The integer parameters a layer with these attrs carries."""
        return {}

    def parse(self, raw: dict, where: str):
        """Typed attrs from the file's dict (``FormatError`` on bad names, types, choices)."""
        return parse_attrs(self.Attrs, raw, where)

    def output(self, layer, ins: list[TensorType]) -> TensorType:
        """The output type of ``layer`` given its input types; checks every shape it relies on
        (parameters against inputs) and raises ``FormatError`` naming the layer."""
        raise NotImplementedError

    def gemm(self, layer, ins: list[TensorType]) -> GemmShape | None:
        """The GEMM the layer runs on the array, or None for vector layers."""
        return None

    # -- hooks per level ------------------------------------------------------------------
    def golden(self, layer, *xs: np.ndarray) -> np.ndarray:
        """The layer's integer output for int64 inputs with a leading batch axis."""
        raise NotImplementedError

    def bounds(self, layer, in_bounds: list[int], ins: list[TensorType], proof) -> int:
        """Record the layer's proven quantities in ``proof``; return the output's max |v|."""
        raise NotImplementedError

    def cycles(self, layer, ins: list[TensorType], out: TensorType, engine: Engine) -> int:
        """Engine cycles of the layer (see ``ivit_hls.perf.units`` for the unit models)."""
        raise NotImplementedError

    def hls(self, layer, ins: list[TensorType], out: TensorType, ctx):
        """The layer's HLS config struct and kernel (an ``ivit_hls.ops.hlsgen.HlsLayer``)."""
        raise NotImplementedError

    def rtl(self, layer, ins: list[TensorType], out: TensorType) -> "RtlParams":
        """Constants of the SystemVerilog unit for this layer (scalars and per-channel arrays)."""
        raise NotImplementedError

    def datapath_widths(self, layer, ins: list[TensorType]) -> dict:
        """Signed operand widths this layer needs of the HLS engine's shared units (keys of
        ``ivit_hls.perf.cycles.operand_widths``; the engine takes the maximum over layers)."""
        return {}

    def engine(self, layer, ins: list, ctx):
        """Emit the RTL engine's steps for the layer through ``ctx`` (an
        ``ivit_hls.rtl.engine_lower.EngineCtx``); return the output's buffer tensor."""
        raise ctx.refuse(f"layer {layer.name} of kind {self.kind} has no engine lowering")

    def engine_input(self, layer, in_type: TensorType) -> tuple[int, int]:
        """Rows and channels of the engine's ``image`` buffer when this layer comes first."""
        return tuple(in_type.shape[-2:])

    # -- shared checks --------------------------------------------------------------------
    def check_params(self, layer) -> None:
        """Every declared parameter present, integer, within its hardware type."""
        specs = self.params(layer.attrs)
        where = f"layer {layer.name!r} ({self.kind})"
        missing = sorted(set(specs) - set(layer.params))
        if missing:
            raise FormatError(f"{where}: missing parameter(s) {', '.join(missing)}")
        extra = sorted(set(layer.params) - set(specs))
        if extra:
            raise FormatError(f"{where}: unexpected parameter(s) {', '.join(extra)}")
        for key, spec_ in specs.items():
            arr = np.asarray(layer.params[key])
            if not np.issubdtype(arr.dtype, np.integer):
                raise FormatError(f"{where}: parameter {key!r} is not integer ({arr.dtype})")
            if arr.size and (int(arr.min()) < spec_.dtype.lo or int(arr.max()) > spec_.dtype.hi):
                raise FormatError(f"{where}: parameter {key!r} has values outside "
                                  f"{spec_.dtype}")


@dataclass
class RtlParams:
    """Per-layer constants of the RTL units: scalar localparams and per-channel arrays."""

    scalars: dict = dataclasses.field(default_factory=dict)      # NAME -> int
    arrays: dict = dataclasses.field(default_factory=dict)       # name -> (values, IntType)
    unit: str = ""                                               # the unit that runs it
    unit_params: dict = dataclasses.field(default_factory=dict)  # HDL parameters of that unit


def expect_shape(layer, key: str, arr, shape: tuple) -> None:
    """Refuse a parameter whose shape is not ``shape``."""
    got = tuple(np.asarray(arr).shape)
    if got != tuple(shape):
        raise FormatError(f"layer {layer.name!r} ({layer.kind}): parameter {key!r} has shape "
                          f"{got}, expected {tuple(shape)}")


def expect(layer, ok: bool, message: str) -> None:
    """Refuse a layer whose inputs do not fit it."""
    if not ok:
        raise FormatError(f"layer {layer.name!r} ({layer.kind}): {message}")


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def log2(v: int) -> float:
    return math.log2(max(v, 1))

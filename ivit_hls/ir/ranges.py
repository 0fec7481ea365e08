"""Range analysis: prove from constants and shapes that no integer overflows its width.

Each layer's worst-case magnitudes are derived from the bounds of its inputs (the declared
widths of the tensors it reads) and its integer parameters, following the formulas of
``docs/integer-spec.md``; the per-kind derivations live in the op table (``OpDef.bounds``).
``check`` refuses a model at the first quantity that could exceed its container, naming the
layer, the quantity and the bound.
"""

from __future__ import annotations

from ..errors import RangeError
from ..ops.bounds import INT32, INT64, Bound, Proof
from .model import IntegerModel

__all__ = ["Bound", "INT32", "INT64", "analyze", "check", "tightest"]


def analyze(model: IntegerModel) -> list[Bound]:
    """Every proven bound of the model, in layer order."""
    types = model.tensor_types()
    proof = Proof()
    magnitude = {"image": types["image"].dtype.magnitude}
    for layer in model.layers:
        ins = [types[s] for s in layer.inputs]
        magnitude[layer.name] = layer.op.bounds(layer, [magnitude[s] for s in layer.inputs],
                                                ins, proof)
    return proof.records


def check(model: IntegerModel) -> list[Bound]:
    """Like ``analyze`` but raise ``RangeError`` at the first bound over its limit."""
    records = analyze(model)
    for b in records:
        if not b.ok:
            raise RangeError(b.describe())
    return records


def tightest(records: list[Bound]) -> Bound | None:
    """The derived quantity (not a format invariant) with the least headroom."""
    derived = [b for b in records if not b.declared and b.ok]
    return min(derived, key=lambda b: b.headroom_bits) if derived else None

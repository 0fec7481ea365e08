"""What a layer's ``engine`` hook emits through: the RTL engine's program builder.

Each op module lowers its own kind onto the engine (``OpDef.engine``); this module gives
those hooks one narrow interface (buffer tensors, GEMM / vector / constant steps, constant
loads) so that no op module depends on the descriptor encoding.
"""

from __future__ import annotations

import numpy as np

from ..errors import IvitError
from . import engine as eng
from .engine import Tensor, _cdiv, pack_tensor


class EngineCtx:
    """The program builder, the buffer allocator and the engine's names, for one layer."""

    B_DDR, B_KT, B_V = eng.B_DDR, eng.B_KT, eng.B_V
    V_LN, V_SMAX, V_GELU, V_RES = eng.V_LN, eng.V_SMAX, eng.V_GELU, eng.V_RES
    C_LO, C_M, C_E, C_HI = eng.C_LO, eng.C_M, eng.C_E, eng.C_HI

    def __init__(self, bld, alloc, n: int):
        self._bld, self._alloc, self.n = bld, alloc, n

    @property
    def cfg(self):
        """The ``EngineConfig`` the program is built for."""
        return self._bld.cfg

    @staticmethod
    def cdiv(a: int, b: int) -> int:
        return _cdiv(a, b)

    # -- buffer tensors -----------------------------------------------------------------
    def new(self, name: str, rows: int, chans: int) -> Tensor:
        """A tensor allocated in the activation buffer."""
        return self._alloc.alloc(Tensor(name, rows, chans, self.n))

    def view(self, name: str, rows: int, chans: int, base: int) -> Tensor:
        """A tensor at ``base`` inside an allocated one (not allocated itself)."""
        return Tensor(name, rows, chans, self.n, base=base)

    def release(self, t: Tensor) -> None:
        self._alloc.release(t)

    # -- steps --------------------------------------------------------------------------
    def gemm(self, layer: str, a: Tensor, out: Tensor, **kw) -> None:
        """One GEMM step (see ``engine._Builder.gemm`` for the keywords)."""
        self._bld.gemm(layer, a, out, **kw)

    def vec(self, layer: str, op: int, a: Tensor, out: Tensor, rows: int, **kw) -> None:
        """One vector-unit step (see ``engine._Builder.vec``)."""
        self._bld.vec(layer, op, a, out, rows, **kw)

    def const(self, fld: int, values, chans: int, layer: str) -> None:
        """Load one per-channel constant table field."""
        self._bld.const(fld, values, chans, layer)

    def load(self, layer: str, values: np.ndarray, t: Tensor) -> None:
        """Copy ``values`` (rows x chans) from the weights blob into buffer tensor ``t``."""
        off, _ = self._bld.put(pack_tensor(values, t, self.cfg))
        self._bld.move(eng.OP_LOAD, eng.BASE_WEIGHTS, off, t, t.rows, layer=layer, data=True)

    # -- checks the hooks share -----------------------------------------------------------
    @staticmethod
    def check_unit(layer, k: int, i0: int, n: int) -> None:
        """The nonlinear constants fit the engine's fixed unit widths."""
        if not (0 <= k <= eng.K_MAX and 1 <= i0 < (1 << eng.I0_BITS) and 1 <= n <= eng.N_MAX):
            raise IvitError(f"engine: {layer.name} constants k={k}, i0={i0}, n={n} exceed the "
                            f"engine's unit widths (k <= {eng.K_MAX}, i0 < 2^{eng.I0_BITS}, "
                            f"n <= {eng.N_MAX})")

    def check_form(self, layer, what: str, have: str, built: str, field: str) -> None:
        """The layer's nonlinear form is the one the engine's unit is built for."""
        if have != built:
            raise IvitError(f"engine: {layer.name} uses {what} {have!r}, the engine is built "
                            f"for {built!r} (EngineConfig.{field})")

    @staticmethod
    def refuse(message: str) -> IvitError:
        """An error for a layer the engine cannot run (raise it)."""
        return IvitError(f"engine: {message}")


def lower_layer(bld, alloc, ly, ins, n) -> Tensor:
    """Emit the steps of layer ``ly`` (inputs ``ins`` in the buffer); return its output."""
    return ly.op.engine(ly, ins, EngineCtx(bld, alloc, n))

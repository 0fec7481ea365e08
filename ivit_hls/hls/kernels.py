"""The engine's kernels: the units of ``hw/hls/ivit/units_*.h`` a lowered step calls (a layer
kind's own unit, or a fused group such as ``linear_residual``), and what each one asks of
the hardware the units share.

The op table (``ivit_hls/ops``) describes layer kinds; a kernel is what the lowering makes of
one or several layers (``fusion.find_steps``), so its facts live here, in one place, and the
lane pools (``lanes.py``), the banked tables (``tables.py``), the lowering (``lower.py``,
``fusion.py``) and the design-space sweep (``perf/explore.py``) read them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kernel:
    """One engine kernel.

    ``lanes``: the helper roles (``lanes.ROLES``) it drives at once, each with its lane
    symbol: "E" the epilogue lanes (the rows of one column a GEMM drain takes per cycle), "L"
    the vector lanes, "A" the attention unit's drain rows, "AT" its Shiftmax lanes (A, at most
    the tokens), "1" one at a time; "gelu" stands for the roles of the kernel's GELU form,
    "ln_norm" for the LayerNorm normalize product's (``lanes.ln_norm_split``).
    ``row_unit``: the shared row unit's functions it calls (``ivit::row_div``,
    ``ivit::row_isqrt``). ``lane_tables``: its per-layer tables that the drain's E lanes read
    at E entries a cycle (banked E ways, ``tables.py``). ``reads_key_tokens``: q.k^T, whose
    lane c reads token j0 + c from the R row banks (so the array needs C <= R).
    ``gathers_row_stats``: its drain can also leave each output row's LayerNorm sums for the
    LayerNorm after it (``fusion.mark_row_stats``).
    """

    name: str
    lanes: dict
    row_unit: frozenset = frozenset()
    lane_tables: frozenset = frozenset()
    reads_key_tokens: bool = False
    gathers_row_stats: bool = False


#: Every kernel the engine has a unit for.
KERNELS = {k.name: k for k in (
    Kernel("patch_embed", {"lane_epi_requant": "E"}, lane_tables=frozenset({"pos"}),
           gathers_row_stats=True),
    Kernel("linear", {"lane_epi_requant": "E"}),
    Kernel("linear_raw", {}),
    Kernel("linear_residual", {"lane_epi_requant": "E", "lane_epi_residual": "E"},
           gathers_row_stats=True),
    Kernel("linear_gelu", {"lane_epi_requant": "E", "gelu": "E"}),
    Kernel("attention", {"lane_epi_requant": "A", "lane_sm_factor": "AT"},
           row_unit=frozenset({"row_div"}), reads_key_tokens=True),
    Kernel("qk_matmul", {"lane_epi_requant": "E"}, reads_key_tokens=True),
    Kernel("pv_matmul", {"lane_epi_requant": "E"}),
    Kernel("shiftmax", {"lane_sm_factor": "L"}, row_unit=frozenset({"row_div"})),
    Kernel("gelu", {"gelu": "L"}),
    Kernel("residual_add", {"lane_epi_requant": "L", "lane_epi_residual": "L"}),
    Kernel("layernorm", {"lane_ln_square": "L", "ln_norm": "L", "lane_ln_requant": "L",
                         "lane_row_ln_var": "1"},
           row_unit=frozenset({"row_div", "row_isqrt"})),
)}

#: A kind that runs through its own layer kernel, outside the engine's units: none of the above.
PLAIN = Kernel("plain", {})


def kernel(name: str) -> Kernel:
    """The kernel a step names (``PLAIN`` for a layer kernel without an engine unit)."""
    return KERNELS.get(name, PLAIN)

"""The engine's helper multipliers: what the generated top allocates and the model prices.

Every multiplication of the engine outside the PE array has a *role* (``ivit::lane_*`` in
hw/hls/ivit: types.h, engine.h, shiftgelu.h, layernorm.h, shiftmax.h), and every role calls one of five
*pools* (``ivit::pool_*`` in types.h): one non-inlined multiplier function of the pool's
operand widths, the widest of its roles'. Every unit drives its roles on each of its lanes;
the units run one after another, so a pool needs as many instances as the busiest unit
calls at once, summed over the pool's roles in that unit. The generated top holds each pool
to exactly that many (``ALLOCATION function instances=ivit::pool_X limit=N``), and
``ivit_hls.perf.cycles.resources`` prices exactly those N at the pool's widths, with the
input multiplexers of an instance that several call sites share: the code and the DSP / LUT
figures describe the same multipliers.
"""

from __future__ import annotations

from dataclasses import dataclass

from .kernels import kernel

#: Signed operand widths fixed by the integer spec (shiftgelu.h, layernorm.h): round(2^20 / I0)
#: for I0 >= 1, the capped y <= 2^13 - 1, sigma <= 2^15, and the halves of 2^46 // sd
#: (sd >= 1) split at bit 23: hi <= 2^23, lo < 2^23 (layernorm.h LN_RECIP_HI_W, _LO_W).
GELU_R_BITS = 22
GELU_Y_BITS = 14
GELU_SIGMA_BITS = 17
LN_RECIP_BITS = 48
LN_RECIP_HI_BITS = 25
LN_RECIP_LO_BITS = 24


@dataclass(frozen=True)
class Role:
    """One helper-multiplier role: its C++ function, what it multiplies, and the pool that
    computes it."""

    function: str
    what: str
    pool: str

    def bits(self, w: dict) -> tuple[int, int]:
        """Signed operand widths, from the plan's datapath widths ``w``."""
        return _WIDTHS[self.function](w)


@dataclass(frozen=True)
class Pool:
    """One multiplier pool: its C++ function, its width macros' stem, and which fabric switch
    binds it (``epi``: IVIT_FABRIC_EPI, the epilogue lanes of every drain; ``vec``:
    IVIT_FABRIC_VEC, the vector lanes and the row unit)."""

    function: str
    macro: str
    group: str


POOLS = (
    Pool("pool_epi_wide", "IVIT_POOL_EPI_WIDE", "epi"),
    Pool("pool_epi_narrow", "IVIT_POOL_EPI_NARROW", "epi"),
    Pool("pool_vec_wide", "IVIT_POOL_VEC_WIDE", "vec"),
    Pool("pool_vec_long", "IVIT_POOL_VEC_LONG", "vec"),
    Pool("pool_vec_square", "IVIT_POOL_VEC_SQUARE", "vec"),
)

ROLES = (
    Role("lane_epi_requant", "requant acc*m", "pool_epi_wide"),
    Role("lane_epi_residual", "residual res*m_b", "pool_epi_wide"),
    Role("lane_gelu_abs_r", "gelu |x|*r", "pool_epi_narrow"),
    Role("lane_gelu_yy", "gelu y*y", "pool_epi_narrow"),
    Role("lane_gelu_x_sigma", "gelu x*sigma", "pool_epi_narrow"),
    Role("lane_gelu_requant", "gelu requant", "pool_epi_wide"),
    Role("lane_epi_square", "row statistics v*v", "pool_epi_narrow"),
    Role("lane_ln_square", "layernorm x*x", "pool_vec_square"),
    Role("lane_ln_norm", "layernorm (16x-mean)*recip", "pool_vec_long"),
    Role("lane_ln_norm_hi", "layernorm (16x-mean)*(recip>>23)", "pool_epi_wide"),
    Role("lane_ln_norm_lo", "layernorm (16x-mean)*(recip mod 2^23)", "pool_epi_wide"),
    Role("lane_ln_requant", "layernorm requant", "pool_vec_wide"),
    Role("lane_sm_factor", "shiftmax e*factor", "pool_vec_wide"),
    Role("lane_row_ln_var", "layernorm row unit mean*(32 sum - C mean)", "pool_vec_long"),
)

_WIDTHS = {
    "lane_epi_requant": lambda w: (w["acc"], w["m"]),
    "lane_epi_residual": lambda w: (w["res"], w["m"]),
    "lane_gelu_abs_r": lambda w: (w["gelu_in"] + 1, GELU_R_BITS),
    "lane_gelu_yy": lambda w: (GELU_Y_BITS, GELU_Y_BITS),
    "lane_gelu_x_sigma": lambda w: (w["gelu_in"], GELU_SIGMA_BITS),
    "lane_gelu_requant": lambda w: (min(64, w["gelu_in"] + GELU_SIGMA_BITS), w["m"]),
    "lane_ln_square": lambda w: (w["ln_in"], w["ln_in"]),
    "lane_epi_square": lambda w: (w["ln_in"], w["ln_in"]),
    "lane_ln_norm": lambda w: (w["ln_diff"], LN_RECIP_BITS),
    "lane_ln_norm_hi": lambda w: (w["ln_diff"], LN_RECIP_HI_BITS),
    "lane_ln_norm_lo": lambda w: (w["ln_diff"], LN_RECIP_LO_BITS),
    "lane_ln_requant": lambda w: (w["ln_norm"], w["m"]),
    "lane_sm_factor": lambda w: (w["exp"], w["factor"]),
    # layernorm.h LN_MEAN_W, LN_T_W (IVIT_W_LN_COLS = 16: up to 65,535 channels)
    "lane_row_ln_var": lambda w: (min(64, w["ln_in"] + 4), min(64, w["ln_in"] + 5 + 16)),
}

#: The GELU roles of each element-wise form (the table form is a lookup).
_GELU = {"shift": ("lane_gelu_abs_r", "lane_gelu_yy", "lane_gelu_x_sigma", "lane_gelu_requant"),
         "symmetric": ("lane_gelu_x_sigma", "lane_gelu_requant"),
         "table": ()}

#: The LayerNorm normalize product (the "ln_norm" lane entry): split into the reciprocal's
#: halves on the epilogue pool, or whole on the long vector pool (``ln_norm_split``).
_LN_NORM = {True: ("lane_ln_norm_hi", "lane_ln_norm_lo"), False: ("lane_ln_norm",)}

#: What the LayerNorm statistics move (``Step.row_stats``): the producer's drain squares its E
#: values; the LayerNorm that reads the sums has no statistics lanes.
ROW_STATS_LANES = {"out": {"lane_epi_square": "E"}, "in": {"lane_ln_square": None}}


#: The row unit's functions, one instance each in the whole engine: the divider
#: (``ivit::row_div``) and the square root (``ivit::row_isqrt``); ``kernels.Kernel.row_unit``
#: says which kernels call them.
ROW_UNIT = ("row_div", "row_isqrt")


def row_unit_functions(plan) -> list[str]:
    """The row-unit functions the program calls (the top holds each to one instance)."""
    used = set().union(*[kernel(st.kernel).row_unit for st in plan.steps if st.engine])
    return [f for f in ROW_UNIT if f in used]


def _gelu_form(step) -> str | None:
    for ly in step.layers:
        form = getattr(ly.layer.attrs, "form", None)
        if form in _GELU:
            return form
    return None


def step_roles(step, lanes: dict, ln_split: bool = True) -> dict[str, int]:
    """``{role function: instances}`` one engine step drives at once; ``lanes`` maps the
    lane symbols ("E", "L", "A", "AT", "1") to counts; ``ln_split``: the LayerNorm
    normalize product in halves (``ln_norm_split``)."""
    out: dict[str, int] = {}
    table = {**kernel(step.kernel).lanes, **ROW_STATS_LANES.get(step.row_stats, {})}
    for role, sym in table.items():
        if sym is None:
            continue
        if role == "gelu":
            names = _GELU.get(_gelu_form(step) or "table", ())
        else:
            names = _LN_NORM[ln_split] if role == "ln_norm" else (role,)
        for name in names:
            out[name] = max(out.get(name, 0), lanes[sym])
    return out


def allocation(plan, ln_split: bool | None = None) -> list[dict]:
    """Every pool the program uses: ``{function, group, roles, what, bits, count, sources}``
    with ``count`` the instances its busiest unit calls at once (the top's ALLOCATION limit),
    ``bits`` the widest operands of its roles in use, ``sources`` the call sites (a step's
    role) that share its instances, in POOLS order. ``ln_split``: how the LayerNorm takes its
    normalize product (default: ``ln_norm_split(plan)``)."""
    from ..perf.cycles import operand_widths

    if ln_split is None:
        ln_split = ln_norm_split(plan)
    tokens = max([int(st.layers[0].out.shape[-1]) for st in plan.steps
                  if st.kernel == "attention"] or [1])
    lanes = {"E": plan.drain, "L": plan.lanes, "A": plan.att_lanes,
             "AT": min(plan.att_lanes, tokens), "1": 1}
    roles = {r.function: r for r in ROLES}
    w = operand_widths(plan)
    need: dict[str, int] = {}
    sources: dict[str, int] = {}
    used: dict[str, set] = {}
    for st in plan.steps:
        if not st.engine:
            continue
        per_pool: dict[str, int] = {}
        for name, n in step_roles(st, lanes, ln_split).items():
            pool = roles[name].pool
            per_pool[pool] = per_pool.get(pool, 0) + n
            sources[pool] = sources.get(pool, 0) + 1
            used.setdefault(pool, set()).add(name)
        for pool, n in per_pool.items():
            need[pool] = max(need.get(pool, 0), n)
    out = []
    for p in POOLS:
        if p.function not in need:
            continue
        members = [r for r in ROLES if r.function in used[p.function]]
        bits = [max(r.bits(w)[0] for r in members), max(r.bits(w)[1] for r in members)]
        out.append({"function": p.function, "group": p.group,
                    "roles": [r.function for r in members],
                    "what": ", ".join(r.what for r in members), "bits": bits,
                    "count": need[p.function], "sources": sources[p.function]})
    return out


def ln_norm_split(plan) -> bool:
    """Whether the LayerNorm lanes take (16x - mean) * recip as two products of the
    reciprocal's halves on the epilogue pool (``IVIT_LN_SPLIT`` = 1: instances that no drain
    uses while a LayerNorm runs, 2 DSP48E2 each) or whole on the long vector pool (3 each):
    as ``plan.ln_product`` says, or for ``auto`` whichever allocation costs fewer DSPs, then
    fewer LUTs, at the plan's helper binding (halves on a tie). The cycles are the same."""
    if plan.ln_product != "auto":
        return plan.ln_product == "split"
    from ..perf.cycles import mul_dsp, mul_luts
    from ..perf.onchip import mux_luts
    from .lower import HELPER_MODES

    fabric = dict(zip(("epi", "vec"), HELPER_MODES[plan.helpers]))

    def cost(split: bool) -> tuple[int, int]:
        dsp = luts = 0
        for p in allocation(plan, split):
            a, b = p["bits"]
            in_fabric = fabric[p["group"]]
            dsp += p["count"] * (0 if in_fabric else mul_dsp(a, b))
            luts += p["count"] * ((mul_luts(a, b) if in_fabric else 0)
                                  + mux_luts(p["sources"], a + b))
        return dsp, luts

    return cost(True) <= cost(False)


def has_ln_lanes(steps) -> bool:
    """Whether any engine step of ``steps`` drives LayerNorm normalize lanes (the kernels'
    ``ln_norm`` role): where the LayerNorm product is a choice at all."""
    return any("ln_norm" in kernel(st.kernel).lanes for st in steps if st.engine)


def ln_product_for_part(plan, part: str) -> str:
    """``plan.ln_product`` with ``auto`` resolved against ``part``: where exactly one of the
    two forms gives a design that fits the part, that one ("split" or "whole"); otherwise
    (both fit, neither does, no LayerNorm lanes, an unknown part) ``auto`` stays, whose rule
    is ``ln_norm_split``'s (fewer DSPs, then fewer LUTs)."""
    import dataclasses

    from ..perf.cycles import resources
    from ..perf.parts import part_info

    if plan.ln_product != "auto" or part_info(part) is None or not has_ln_lanes(plan.steps):
        return plan.ln_product
    fits = {form: bool(resources(dataclasses.replace(plan, ln_product=form), part).get("fits"))
            for form in ("split", "whole")}
    if fits["split"] == fits["whole"]:
        return "auto"
    return "split" if fits["split"] else "whole"


def pool_macros(plan) -> list[tuple[str, int]]:
    """``(macro, bits)`` of the operand widths of the pools in use (``ivit_params.h``)."""
    macros = {p.function: p.macro for p in POOLS}
    out = []
    for pool in allocation(plan):
        a, b = pool["bits"]
        out += [(macros[pool["function"]] + "_A", a), (macros[pool["function"]] + "_B", b)]
    return out

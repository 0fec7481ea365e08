"""Design-space exploration of the engine: array shape, vector lanes, batch, on a part's budget.

The model is lowered once; every candidate re-prices the same program (``Plan.with_engine``)
with the estimate that the cycle-accounting C-simulation reproduces. Array rows are swept on
the values that tile the token count with the least waste (``ceil(T/n)``: 197 tokens fit 66
rows three times, where 64 rows would waste 23 % of a fourth tile) as well as powers of two;
columns on the divisors of the head dimension (the narrowest GEMM output); lanes from C/2 to
2C, with the helper multipliers on DSPs or in fabric, the LayerNorm normalize product split
onto the epilogue multipliers or whole on its own, and, where a bank holds one token row,
whole- or half-row im2col words (distributed RAM against block RAM). A candidate fits when its DSPs, BRAM36,
URAM and counted LUTs are within the part's (LUTs: 70 %) and the DDR
bandwidth it needs is within what the board's memory offers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import IvitError
from ..hls.kernels import kernel
from ..hls.lanes import has_ln_lanes
from .cycles import LUT_BUDGET, estimate_plan, mac_bound_cycles, resources
from .parts import bytes_per_cycle, part_info

#: The chosen design: the fastest fitting one whose cycles are within this factor of its
#: array's MAC-bound ideal (>= 80 % of the PEs busy); the fastest fitting one otherwise.
MAX_RATIO = 1.25
#: Candidate column counts (the array's output lanes) and lane multipliers.
COLUMNS = (4, 8, 12, 16, 20, 22, 24, 28, 32, 40, 44, 48, 56, 64)
LANE_FACTORS = (0.5, 1, 1.5, 2)
#: Epilogue lanes as divisors of the rows: E = ceil(R / n) rows of one column per cycle, so a
#: tile of R x C results drains in C * n cycles, hidden under the next tile's K steps when
#: that is long enough. Every n up to 16: a GEMM's last drain is C * n cycles, and the lanes a
#: part's spare DSPs allow can fall between powers of two (22 = 198 / 9 for DeiT-S).
DRAIN_DIVISORS = tuple(range(1, 17))
#: Where the epilogue, attention-drain and vector-lane multipliers go: DSP48E2 slices, the
#: vector lanes' in LUT fabric, or all in fabric (so that the array gets the DSPs).
HELPERS = ("dsp", "vector-fabric", "fabric")
#: The LayerNorm normalize product, both ways where the model has a LayerNorm unit: the
#: cheaper in DSPs may not be the one that fits the LUTs (its shared instances' inputs).
LN_CHOICES = ("split", "whole")


@dataclass(frozen=True)
class Point:
    """One evaluated design."""

    rows: int
    cols: int
    lanes: int
    drain: int
    att_lanes: int
    helpers: str
    batch: int
    im2col_words: str
    ln_product: str
    cycles: float           # per image: the batch's cycles / batch
    ms: float               # per image
    ratio: float
    dsp: int
    luts: int
    bram36: float
    uram: int
    ddr_gbps: float
    ddr_available: float
    fits: bool

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def progress(items: list, what: str):
    """``items`` with a progress bar on a terminal (none when stderr is not one)."""
    from tqdm import tqdm

    return tqdm(items, desc=what, unit="design", disable=None, leave=False)


def row_candidates(tokens: int, limit: int) -> list[int]:
    """Array rows worth trying for ``tokens`` rows of activations, at most ``limit``."""
    tiling = {math.ceil(tokens / n) for n in range(1, 64)}
    # one row more than a tiling value often has the divisors the lanes want (198 = 2 x 9 x 11
    # for 197 tokens): lanes that divide R keep the row-bank multiplexers small
    rows = tiling | {math.ceil(tokens / n) + 1 for n in range(1, 9)} | {8, 16, 32, 64, 128}
    return sorted(r for r in rows if 4 <= r <= min(tokens + 1, limit))


#: Attention lanes as divisors of the rows: the drain takes ceil(R / n) rows of a column per
#: cycle (a q.k^T tile drains in C * n cycles) and Shiftmax as many rows of a column.
ATTENTION_DIVISORS = (1, 2, 3, 4)


def attention_candidates(rows: int, lanes: int, head_dim: int) -> list[int]:
    """Attention lanes worth trying: the vector lanes and ceil(R / n) (none without an
    attention unit)."""
    if not head_dim:
        return [min(rows, lanes)]
    return sorted({min(rows, lanes)} | {math.ceil(rows / n) for n in ATTENTION_DIVISORS})


def im2col_choices(plan, rows: int, batch: int) -> tuple[str, ...]:
    """The im2col words worth pricing at ``rows`` array rows: half-row words as well where
    they change anything (a patch embedding whose banks would hold whole-row words in
    distributed RAM: ``ops.common.im2col_word``)."""
    from .onchip import im2col_shape

    shape = im2col_shape(plan, rows, batch, half=True)
    return ("row", "half") if shape and shape["word"] != shape["patch"] else ("row",)


def candidates(plan, max_dsp: int | None = None) -> list[tuple[int, int, int, int, int, str]]:
    """(rows, cols, lanes, epilogue lanes, attention lanes, helper multipliers) of the sweep
    for a model; arrays whose PEs alone need more than ``max_dsp`` DSPs are left out."""
    types = plan.types or plan.model.tensor_types()
    shapes = [s for s in (ly.layer.op.gemm(ly.layer, [types[i] for i in ly.layer.inputs])
                          for ly in plan.layers) if s is not None]
    tokens = max(s.m for s in shapes)
    narrow = min(s.n for s in shapes)
    qk = any(kernel(st.kernel).reads_key_tokens for st in plan.steps)
    out = []
    for c in (c for c in COLUMNS if c <= narrow):
        for r in row_candidates(tokens, 256):
            if qk and c > r:       # q.k^T reads C tokens of a column from the R row banks
                continue
            if max_dsp is not None and -(-r * c // 2) > max_dsp:
                continue
            wanted = {min(r, max(4, int(c * f))) for f in LANE_FACTORS}
            lanes = sorted(wanted | {min(d for d in range(x, r + 1) if r % d == 0)
                                     for x in wanted})
            drains = sorted({math.ceil(r / n) for n in DRAIN_DIVISORS})
            for lane in lanes:
                for e in drains:
                    for a in attention_candidates(r, lane, plan.head_dim):
                        for h in HELPERS:
                            out.append((r, c, lane, e, a, h))
    return out


def evaluate(plan, rows: int, cols: int, lanes: int, drain: int, part: str,
             clock_mhz: float, batch: int = 1, helpers: str = "dsp", _cycles=None,
             att_lanes: int | None = None, im2col_words: str = "row",
             ln_product: str = "auto", _memo: dict | None = None) -> Point:
    """Price one design holding ``batch`` images on chip (each weight panel read once per
    batch): cycles and ms per image are the batch's divided by ``batch``; the memories hold
    ``batch`` images' activations. ``_cycles``: an estimate of the same design with other
    helper multipliers or LayerNorm product (only the resources differ); ``_memo``: what
    ``resources`` keeps between such designs."""
    design = plan.with_engine(rows, cols, lanes, bytes_per_cycle(part, clock_mhz), drain,
                              helpers, batch, att_lanes, im2col_words, ln_product)
    est = _cycles or estimate_plan(design, part, clock_mhz)
    res = est["resources"] if _cycles is None else resources(design, part, _memo)
    info = part_info(part) or {}
    ddr = est["ddr"]
    avail = float(info.get("ddr_gbps") or 0.0)
    fits = bool(res.get("fits")) and ddr["needed_gbps"] <= avail
    per = est["batch"]
    return Point(rows, cols, design.lanes, drain, design.att_lanes, helpers, batch,
                 im2col_words, design.ln_product,
                 per["cycles_per_image"],
                 per["ms_per_image"], est["ratio_to_mac_bound"], res["dsp"], res["luts"],
                 res["bram36"], res["uram"],
                 ddr["needed_gbps"], avail, fits)


def pareto(points: list[Point], block: int = 256) -> list[Point]:
    """The designs no other fitting design beats on latency, DSP, LUTs, BRAM36, URAM and DDR
    (equal designs all stay)."""
    import numpy as np

    fitting = [p for p in points if p.fits]
    if not fitting:
        return []
    keys = np.asarray([(p.cycles, p.dsp, p.luts, p.bram36, p.uram, p.ddr_gbps)
                       for p in fitting], dtype=float)
    keys = keys[:, np.any(keys != keys[0], axis=0)]  # a figure all designs share decides nothing
    if not keys.shape[1]:                               # all alike: none beats another
        return sorted(fitting, key=lambda p: (p.cycles, p.dsp))
    # distinct keys in lexicographic order: nothing later dominates an earlier one, and a
    # key dominated by anything is dominated by a key of the front (transitivity)
    order = np.lexsort(keys.T[::-1])
    first = np.ones(len(order), dtype=bool)
    first[1:] = np.any(keys[order[1:]] != keys[order[:-1]], axis=1)
    k = np.asfortranarray(keys[order[first]])   # column-major: the comparisons run faster
    which = np.empty(len(order), dtype=int)
    which[order] = np.cumsum(first) - 1
    front = np.zeros(len(k), dtype=bool)
    for s in range(0, len(k), block):
        blk = k[s:s + block]
        dominated = np.triu(np.all(blk[:, None] <= blk[None], axis=2), 1).any(axis=0)
        kept = k[:s][front[:s]]
        for c in range(0, len(kept), 4096):     # memory: 4096 x block x keys at a time
            dominated |= np.all(kept[c:c + 4096, None] <= blk[None], axis=2).any(axis=0)
        front[s:s + block] = ~dominated
    chosen = front[which]
    return sorted((p for p, on in zip(fitting, chosen) if on), key=lambda p: (p.cycles, p.dsp))


def explore(model, part: str, clock_mhz: float = 300.0, batch: int = 1,
            plan=None) -> dict:
    """Sweep the engine for ``model`` on ``part``: every point, the Pareto set, and the best:
    the fastest Pareto design within ``MAX_RATIO`` of its MAC bound (else the fastest); among
    equally fast ones, the one using the smaller share of the part's DSPs or LUT budget."""
    from ..hls.lower import lower

    if part_info(part) is None:
        raise IvitError(f"--part {part}: no capacities known for this part")
    if batch < 1:
        raise IvitError(f"--batch {batch}: need at least 1")
    plan = plan or lower(model, 4, 4)
    points, cycles = [], {}
    bpc = bytes_per_cycle(part, clock_mhz)
    info = part_info(part)
    ln = LN_CHOICES if has_ln_lanes(plan.steps) else ("auto",)
    # grouped by geometry (all but the helpers' binding and the LayerNorm product)
    todo = sorted(((*d, w, n) for d in candidates(plan, info["dsp"])
                   for w in im2col_choices(plan, d[0], batch) for n in ln),
                  key=lambda t: (*t[:5], t[6]))
    memo: dict = {}
    for r, c, lanes, e, a, h, w, n in progress(todo, "explore"):
        # the helpers' binding and the LayerNorm product change the resources, not the
        # cycles, nor the memories and pools they share: estimate those once per geometry
        geometry = (r, c, lanes, e, a, w)
        if geometry not in cycles:
            cycles.clear()
            memo.clear()
            cycles[geometry] = estimate_plan(
                plan.with_engine(r, c, lanes, bpc, e, batch=batch, att_lanes=a,
                                 im2col_words=w), part, clock_mhz, with_resources=False)
        points.append(evaluate(plan, r, c, lanes, e, part, clock_mhz, batch, h,
                               cycles[geometry], a, w, n, memo))
    front = pareto(points)
    if not front:
        raise IvitError(f"no engine configuration of the sweep fits {part}")
    efficient = [p for p in front if p.ratio <= MAX_RATIO]
    # among equally fast designs, the one that leaves the most of the part's scarcest
    # resource (DSP or LUT budget) free
    best = min(efficient or front, key=lambda p: (
        p.cycles, max(p.dsp / info["dsp"], p.luts / (LUT_BUDGET * info["luts"]))))
    macs = estimate_plan(plan.with_engine(best.rows, best.cols, best.lanes, 64, batch=1), part,
                         clock_mhz)["total_macs"]
    return {"part": part, "clock_mhz": clock_mhz, "batch": batch, "points": points,
            "pareto": front, "best": best,
            "mac_bound_ms": round(mac_bound_cycles(macs, best.rows, best.cols)
                                  / (clock_mhz * 1e3), 4),
            "total_macs": macs}


def best_engine(model, part: str, clock_mhz: float = 300.0, batch: int = 1) -> dict:
    """The chosen design (``--array auto``) as HlsOptions fields: rows, cols, lanes, drain,
    att_lanes, helpers, im2col_words, ln_product."""
    best = explore(model, part, clock_mhz, batch)["best"]
    return {"rows": best.rows, "cols": best.cols, "lanes": best.lanes, "drain": best.drain,
            "att_lanes": best.att_lanes, "helpers": best.helpers,
            "im2col_words": best.im2col_words, "ln_product": best.ln_product}


def plot(result: dict, path) -> bool:
    """Latency vs DSPs of every point, the Pareto set highlighted; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    pts, front = result["points"], result["pareto"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter([p.dsp for p in pts if p.fits], [p.ms for p in pts if p.fits], s=8, c="0.6",
               label="fits")
    ax.scatter([p.dsp for p in pts if not p.fits], [p.ms for p in pts if not p.fits], s=8,
               c="0.85", marker="x", label="does not fit")
    ax.scatter([p.dsp for p in front], [p.ms for p in front], s=22, c="tab:red",
               label="Pareto set")
    ax.set_xlabel("DSP48E2")
    ax.set_ylabel("ms / image")
    ax.set_yscale("log")
    ax.set_title(f"{result['part']} at {result['clock_mhz']:g} MHz")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120, metadata={"Software": None})
    plt.close(fig)
    return True

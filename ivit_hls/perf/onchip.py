"""On-chip memories of the generated engine and the multiplexers in front of them.

``memories(plan)`` lists every array the generated top and its units declare, with the
banks its partitioning gives, and ``memories_with_blocks`` prices each bank in BRAM36,
URAM or LUTRAM by its aspect ratio. ``row_select_ports(plan)`` lists the ports through which
lanes reach banks that move with the row (a k:1 multiplexer per lane and bit), and
``mux_luts`` prices one such multiplexer. ``cycles.resources`` adds them up.
"""

from __future__ import annotations

import math

from ..ops.attention_cost import attention_memories, copy_v_lanes
from ..ops.common import IM2COL_LUTRAM_BITS, IM2COL_LUTRAM_DEPTH, im2col_word

#: BRAM36 aspect ratios (depth, width) and the URAM288 shape.
BRAM36_SHAPES = ((32768, 1), (16384, 2), (8192, 4), (4096, 9), (2048, 18), (1024, 36), (512, 72))
URAM_SHAPE = (4096, 72)
#: A BRAM36 is two independent RAMB18s (Vivado maps a memory that fits one to one half).
BRAM18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))
#: Banks of at most this many bits, or at most this many words deep, are distributed RAM
#: (LUTRAM), priced in LUTs by ``lutram_luts``.
LUTRAM_BITS = IM2COL_LUTRAM_BITS
LUTRAM_DEPTH = IM2COL_LUTRAM_DEPTH


def ctype_bits(ctype: str) -> int:
    """Bits of a generated C integer type."""
    return {"int8_t": 8, "uint8_t": 8, "int16_t": 16, "uint16_t": 16, "int32_t": 32,
            "uint32_t": 32, "int64_t": 64}[ctype]


def bram_blocks(depth: int, width: int) -> float:
    """BRAM36 blocks of one bank of ``depth`` words of ``width`` bits (best aspect ratio), in
    halves: a bank that a RAMB18 half holds better takes 0.5 a half."""
    if depth * width <= LUTRAM_BITS or depth <= LUTRAM_DEPTH:
        return 0
    full = min(-(-width // w) * -(-depth // d) for d, w in BRAM36_SHAPES)
    halves = min(-(-width // w) * -(-depth // d) for d, w in BRAM18_SHAPES)
    return min(full, halves / 2)


def lutram_luts(depth: int, width: int) -> int:
    """LUT6s of one bank kept in distributed RAM (one that ``bram_blocks`` leaves out): a
    simple dual-port RAM32M holds 32 words x 6 bits in 4 LUTs, a RAM64M 64 words x 3 bits."""
    if bram_blocks(depth, width):
        return 0
    if depth <= 32:
        return 4 * -(-width // 6)
    return 4 * -(-width // 3) * -(-depth // 64)


def uram_blocks(depth: int, width: int) -> int:
    """URAM288 blocks of one bank."""
    if depth * width <= LUTRAM_BITS or depth <= LUTRAM_DEPTH:
        return 0
    return -(-width // URAM_SHAPE[1]) * -(-depth // URAM_SHAPE[0])


def im2col_shape(plan, rows: int | None = None, batch: int | None = None,
                 half: bool | None = None) -> dict | None:
    """The patch embedding's im2col buffer as units_gemm.h ``patch_embed`` declares it, for
    the plan's rows, batch and im2col words (or the ones given): ``{patch, k, tokens, word}``
    (``tokens`` = the batch's token rows, ``word`` = elements a word); None without one."""
    pe = [ly for ly in plan.layers if ly.layer.kind == "patch_embed"]
    if not pe:
        return None
    a = pe[0].layer.attrs
    rows = rows or plan.rows
    tokens = (batch or plan.batch) * (1 + a.grid[0] * a.grid[1])
    k = a.in_chans * a.patch * a.patch
    half = plan.im2col_words == "half" if half is None else half
    word = im2col_word(a.patch, k, -(-tokens // rows), half, ctype_bits(plan.image.ctype))
    return {"patch": a.patch, "k": k, "tokens": tokens, "word": word}


def memories(plan) -> list[dict]:
    """Every on-chip array of the engine: banks from its partitioning, depth and width."""
    from .cycles import engine_of, operand_widths  # cycles prices what this lists

    r, c = plan.rows, plan.cols
    mems = []
    for name, ctype, shape, parts in plan.buffers:
        rows, cols = plan.batch * int(math.prod(shape[:-1])), int(shape[-1])
        f1 = min(parts[0][2], rows)
        mems.append({"name": name, "banks": f1, "depth": -(-rows // f1) * cols,
                     "width": ctype_bits(ctype)})
    # eng_panel[2][KMAX][C], both halves and every column a bank of their own
    mems.append({"name": "weight_panels", "banks": 2 * c, "depth": plan.kmax, "width": 8})
    for st in plan.steps:
        if st.kernel == "attention":
            w = operand_widths(plan)
            engine = engine_of(plan)
            mems += attention_memories(st.layers[0].out.shape[-1], plan.head_dim,
                                       ctype_bits(st.layers[0].out.ctype),
                                       ctype_bits(st.layers[1].out.ctype), w["exp"], w["factor"],
                                       engine, ctype_bits(st.inputs[0].ctype))
            break
    for st in plan.steps:
        if st.kernel == "pv_matmul":
            # pv_matmul's local copy of one head's v, every column a bank
            hd = int(st.layers[0].layer.attrs.head_dim)
            mems.append({"name": "v_local", "banks": hd, "depth": st.inputs[1].shape[0],
                         "width": ctype_bits(st.inputs[1].ctype)})
            break
    im2col = im2col_shape(plan)
    if im2col:
        # one row per token (the class token's is never written), cyclic R on the row axis,
        # reshaped on the element axis: a patch row a word, or (im2col_words="half") half of
        # one where whole rows would leave the bank distributed RAM (ops.common.im2col_word)
        tokens, word = im2col["tokens"], im2col["word"]
        mems.append({"name": "im2col", "banks": min(r, tokens),
                     "depth": -(-tokens // r) * -(-im2col["k"] // word),
                     "width": word * ctype_bits(plan.image.ctype)})
    if plan.row_stats_rows:
        # eng_sx / eng_sxx: one int64 per row, a bank per drain lane, ceil(R / E) slot rows
        # per tile (engine.h row_sums_slot)
        mems += [{"name": name, "banks": plan.drain, "depth": plan.row_stats_slots, "width": 64}
                 for name in ("row_sums", "row_sums_of_squares")]
    from ..hls.tables import table_banks

    banked = 0
    for t in table_banks(plan):
        banks = min(t["factor"], t["size"])
        mems.append({"name": f"table {t['slot']}::{t['name']}", "banks": banks,
                     "depth": t["iterations"] * -(-t["size"] // banks),
                     "width": ctype_bits(t["ctype"])})
        banked += t["iterations"] * t["size"] * ctype_bits(t["ctype"])
    const_bits = max(0, plan.constant_bytes() * 8 - banked)
    mems.append({"name": "constants", "banks": 1, "depth": -(-const_bits // 72), "width": 72})
    return mems


def memories_with_blocks(plan, info: dict | None) -> list[dict]:
    """``memories`` with the BRAM36 or URAM blocks each one takes on the part ``info``."""
    mems = memories(plan)
    for m in mems:
        m["bram36"] = in_halves(m["banks"] * bram_blocks(m["depth"], m["width"]))
        m["lutram_luts"] = m["banks"] * lutram_luts(m["depth"], m["width"])
    if not info or not info["uram"]:
        return mems
    bram = sum(m["bram36"] for m in mems)
    uram = 0
    for m in sorted(mems, key=lambda m: -m["bram36"]):
        if bram <= info["bram36"] or not m["bram36"]:
            break
        need = m["banks"] * uram_blocks(m["depth"], m["width"])
        if uram + need <= info["uram"]:
            bram -= m.pop("bram36")
            m["uram"] = need
            uram += need
    return mems


def in_halves(blocks: float):
    """A BRAM36 count in halves: an int when it is whole."""
    return int(blocks) if blocks == int(blocks) else blocks


def row_select_ports(plan) -> list[dict]:
    """The ports between the R row banks of the activation buffers and lanes whose rows move
    across the banks, each a k:1 multiplexer per lane and bit (k: the banks one lane
    reaches): the GEMM drain (E rows of a column at rows i0 + g*E + e, i0 a multiple of R:
    ceil(R/E) banks; its write and the fused residual's read), the vector units (L rows at
    g*L + l over all rows: R / gcd(R, L) banks; two reads and a write), the attention unit's
    context write (ceil(R/LA) banks), q.k^T's k operand (lane c reads token j0 + c, j0 a
    multiple of C: R / gcd(R, C) banks), the v copy (fused or unfused P.v; lane c reads
    tokens q X + c: R / X banks; each column bank of the copy takes any of the X lanes), and
    with a batch whose images start off the banks (T mod R != 0) the attention GEMMs' rows.
    Lane counts that divide R keep k small."""
    r = plan.rows
    bits = max([ctype_bits(c) for _n, c, _s, _p in plan.buffers] or [8])
    ports = [{"port": "gemm drain write + residual read", "lanes": 2 * plan.drain,
              "banks": -(-r // plan.drain), "bits": bits},
             # LayerNorm reads two groups (statistics, normalize) and writes one, or reads one
             # when the drain before gathered its statistics; the unfused residual add reads
             # two buffers and writes one
             {"port": "vector unit reads + write", "lanes": _vector_ports(plan) * plan.lanes,
              "banks": r // math.gcd(r, plan.lanes), "bits": bits}]
    for st in plan.steps:
        if st.kernel not in ("attention", "qk_matmul", "pv_matmul"):
            continue
        fused = st.kernel == "attention"
        qkv = st.inputs[0] if st.kernel != "pv_matmul" else st.inputs[1]
        tokens, hd = int(qkv.shape[0]), int(st.layers[-1].layer.attrs.head_dim)
        v_bits = ctype_bits(qkv.ctype)
        if st.kernel != "pv_matmul":
            # lane c of k reads token j0 + c, j0 a multiple of C
            ports.append({"port": f"{st.kernel} k operand", "lanes": plan.cols,
                          "banks": r // math.gcd(r, plan.cols), "bits": v_bits})
        if fused:
            ports.append({"port": "attention context write", "lanes": plan.att_lanes,
                          "banks": -(-r // plan.att_lanes), "bits": bits})
        if st.kernel != "qk_matmul":
            x = copy_v_lanes(r, hd)
            ports.append({"port": f"{st.kernel} v copy read", "lanes": x, "banks": r // x,
                          "bits": v_bits})
            ports.append({"port": f"{st.kernel} v copy column write", "lanes": hd, "banks": x,
                          "bits": v_bits})
        if plan.batch > 1 and tokens % r:
            ports.append({"port": f"{st.kernel} rows of images 2..N", "lanes": r + plan.cols,
                          "banks": r // math.gcd(r, tokens), "bits": v_bits})
    ports += _table_ports(plan)
    for p in ports:
        p["luts"] = p["lanes"] * mux_luts(p["banks"], p["bits"])
    return ports


def _table_ports(plan) -> list[dict]:
    """Lane-to-bank ports of the E-banked tables whose bank moves with the row: the patch
    embedding's position table (lane e of a drain step reads pos_t[1 + j * np + p0 + e], p0 =
    tile * R + chunk * E - image * tokens - 1, the class token's lane included, so its bank
    moves by np per channel, by R per tile and by the tokens per image), and the LayerNorm's
    row-sums read (one row a cycle, any of the E banks, sum and sum of squares)."""
    from ..hls.kernels import kernel  # the hls package imports this one

    e = plan.drain
    ports = []
    for st in plan.steps:
        if "pos" in kernel(st.kernel).lane_tables and e > 1:
            tokens = int(st.out.shape[0])      # per image: the class token and the patches
            step = math.gcd(e, tokens - 1, plan.rows, tokens if plan.batch > 1 else 0)
            ports.append({"port": f"{st.kernel} position table read", "lanes": e,
                          "banks": e // step, "bits": ctype_bits(st.out.ctype)})
    if plan.row_stats_rows and e > 1:
        ports.append({"port": "LayerNorm row-sums read", "lanes": 2, "banks": e, "bits": 64})
    return ports


def _vector_ports(plan) -> int:
    """Row-bank ports of the vector lanes: 3 (two reads and a write) when a LayerNorm sweeps
    its own statistics or a residual add runs unfused, else 2."""
    three = any((st.kernel == "layernorm" and st.row_stats != "in")
                or st.kernel == "residual_add" for st in plan.steps if st.engine)
    return 3 if three else 2


def mux_luts(sources: int, bits: int) -> int:
    """LUT6s of the input multiplexers of one pool instance that ``sources`` call sites share:
    a k:1 multiplexer per operand bit, ceil((k - 1) / 3) LUT6s (one LUT6 is a 4:1)."""
    return bits * -(-(sources - 1) // 3) if sources > 1 else 0

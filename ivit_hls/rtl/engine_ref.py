"""A numpy interpreter of the engine's descriptor program (what ``ivit_engine`` does, step by
step, on its buffers and memories), so the program generator is checked in milliseconds:
addresses, strides, head offsets, panel packing and constant tables all take part. Each unit
computes its spec function on the operand bits the hardware passes it.
"""

from __future__ import annotations

import numpy as np

from .. import spec
from ..spec.gelu import gelu_shift_core
from .engine import (B_DDR, B_KT, BASE_IMAGE, BASE_LOGITS, BASE_WEIGHTS, C_E, C_HI, C_LO, C_M,
                     OP_CONST, OP_END, OP_GEMM, OP_LOAD, OP_STORE, OP_VEC, V_GELU, V_LN, V_RES,
                     V_SMAX, Program)


def _signed(v, bits: int) -> np.ndarray:
    v = np.asarray(v, dtype=np.int64) & ((1 << bits) - 1)
    return np.where(v >> (bits - 1), v - (1 << bits), v)


def _sat(v, bits: int) -> np.ndarray:
    return v if bits >= 32 else spec.saturate(v, bits)


class _Machine:
    def __init__(self, prog: Program, image: bytes, logits_bytes: int):
        cfg = prog.cfg
        self.cfg, self.n = cfg, cfg.n
        self.spad = np.zeros((cfg.n, cfg.sdepth, cfg.n), dtype=np.int64)
        self.ctab = np.zeros((4, cfg.cdepth * cfg.data_w // 32), dtype=np.int64)
        self.mem = {BASE_IMAGE: bytearray(image), BASE_WEIGHTS: bytearray(prog.blob),
                    BASE_LOGITS: bytearray(logits_bytes)}

    def _beats(self, sel, off, count) -> np.ndarray:
        bb = self.cfg.beat_bytes
        raw = bytes(self.mem[sel][off:off + count * bb])
        return np.frombuffer(raw, dtype=np.int32).reshape(count, bb // 4).astype(np.int64)

    def rows(self, base, stride, rows, wpr) -> np.ndarray:
        """(rows, wpr*N) elements of a buffer tensor."""
        t = np.arange(rows)
        addr = base + (t // self.n)[:, None] * stride + np.arange(wpr)[None, :]
        return self.spad[(t % self.n)[:, None], addr].reshape(rows, wpr * self.n)

    def write_rows(self, base, stride, x) -> None:
        rows, width = x.shape
        wpr = width // self.n
        t = np.arange(rows)
        addr = base + (t // self.n)[:, None] * stride + np.arange(wpr)[None, :]
        self.spad[(t % self.n)[:, None], addr] = x.reshape(rows, wpr, self.n)

    def step(self, w: list) -> int:
        """Execute the descriptor with words ``w``; return its opcode."""
        s = _Desc(w)
        n = self.n
        if s.op == OP_LOAD:
            data = self._beats(s.sub, w[1] | (w[2] << 32), w[7])[:, :n]
            self.write_rows(w[3], w[4], data.reshape(w[5], w[6] * n))
        elif s.op == OP_STORE:
            x = self.rows(w[3], w[4], w[5], w[6]).reshape(-1, n)
            beats = np.zeros((x.shape[0], self.cfg.data_w // 32), dtype=np.int64)
            beats[:, :n] = x
            off = w[1] | (w[2] << 32)
            raw = beats.astype(np.uint64).astype(np.uint32).tobytes()
            self.mem[s.sub][off:off + len(raw)] = raw
        elif s.op == OP_CONST:
            vals = self._beats(BASE_WEIGHTS, w[1], w[3]).ravel()
            self.ctab[s.sub, :vals.size] = vals
        elif s.op == OP_GEMM:
            self._gemm(s, w)
        elif s.op == OP_VEC:
            self._vec(s, w)
        return s.op

    def _gemm(self, s, w) -> None:
        n = self.n
        n_rg, n_ct, k = w[10], w[11], w[12]
        ks = np.arange(k)
        ch = w[3] + ks
        rows = np.arange(n_rg * n)
        a = self.spad[(rows % n)[:, None], (w[1] + (rows // n) * w[2])[:, None] + ch // n,
                      ch % n]
        a = _signed(a, 17)
        cols = np.arange(n_ct * n)
        if s.sub == B_DDR:
            raw = bytes(self.mem[BASE_WEIGHTS][w[13]:w[13] + n_ct * w[14] * self.cfg.beat_bytes])
            panels = np.frombuffer(raw, dtype=np.int8).reshape(n_ct, -1)[:, :k * n]
            b = panels.reshape(n_ct, k, n).transpose(1, 0, 2).reshape(k, n_ct * n)
        elif s.sub == B_KT:
            chb = w[6] + ks
            b = self.spad[(cols % n)[None, :], (w[4] + (cols // n) * w[5])[None, :]
                          + (chb // n)[:, None], (chb % n)[:, None]]
        else:
            b = self.spad[(ks % n)[:, None], (w[4] + (ks // n) * w[5] + w[6] // n)[:, None]
                          + (cols // n)[None, :], (cols % n)[None, :]]
        b = _signed(b, 8)
        bias = _signed(self.ctab[C_LO, :cols.size], 32)
        m = _signed(self.ctab[C_M, :cols.size], 32)
        e = self.ctab[C_E, :cols.size] & 63
        acc = a @ b + bias
        out = _sat(spec.requant(acc, m, np.maximum(e, 1), 32), s.sat)
        out[:, e == 0] = 0                     # padding columns: never read
        o_base = w[7] + w[9]
        self.write_rows(o_base, w[8], out)

    def _vec(self, s, w) -> None:
        n = self.n
        rows, wpr, length = w[7], w[8], w[9]
        x = self.rows(w[1], w[2], rows, wpr)
        chans = wpr * n
        m = _signed(self.ctab[C_M, :chans], 32)
        e = self.ctab[C_E, :chans] & 63
        out = np.zeros((rows, chans), dtype=np.int64)
        k, i0, nn = w[10] & 15, (w[10] >> 4) & 0xFFF, (w[10] >> 16) & 31
        if s.sub == V_LN:
            off = (self.ctab[C_HI, :chans] << 32) | (self.ctab[C_LO, :chans] & 0xFFFFFFFF)
            core = spec.ilayernorm_normalize(_signed(x[:, :length], 16))
            out[:, :length] = _sat(spec.requant(core, m[:length], e[:length], 32,
                                                offset=off[:length]), s.sat)
        elif s.sub == V_SMAX:
            out[:, :length] = spec.shiftmax(_signed(x[:, :length], 8), k, i0, nn, 16,
                                            exp_form=self.cfg.exp_form)
        elif s.sub == V_GELU:
            xs = _signed(x[:, :length], 8)
            if self.cfg.gelu_form == "shift":
                core = gelu_shift_core(xs, k, i0)
            else:
                core = spec.shift_gelu(xs, k, i0, nn, "symmetric")
            out[:, :length] = _sat(spec.requant(core, m[:length], e[:length], 32), s.sat)
        elif s.sub == V_RES:
            b = self.rows(w[3], w[4], rows, wpr)
            out[:, :length] = spec.residual_add(
                _signed(x[:, :length], 32), m[:length], e[:length], _signed(b[:, :length], 16),
                _signed(w[11], 32), w[12] & 63, 16)
        self.write_rows(w[5], w[6], out)


class _Desc:
    """Word 0 of a descriptor, decoded as the controller does."""

    def __init__(self, w):
        self.op, self.sub, self.sat = w[0] & 0xFF, (w[0] >> 8) & 0xFF, (w[0] >> 16) & 0x3F


def execute(prog: Program, x: np.ndarray) -> bytes:
    """Run ``prog`` on input rows ``x`` (one image); return the logits region. The
    descriptors are read from the weights blob, as the engine reads them."""
    mach = _Machine(prog, prog.pack_input(x), prog.logits_bytes)
    stride = prog.cfg.desc_stride
    pc = 0
    while True:
        w = [int(v) for v in np.frombuffer(prog.blob[pc * stride:pc * stride + 64],
                                            dtype=np.uint32)]
        if mach.step(w) == OP_END:
            return bytes(mach.mem[BASE_LOGITS])
        pc += 1

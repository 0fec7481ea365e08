"""I-BERT integer-only polynomial baselines (Kim et al., ICML 2021), for the ablation.

Written from the paper's formulas (its I-POLY, i-exp and i-erf/i-GELU algorithms), in exact
int64 arithmetic:

* I-POLY evaluates ``a(x + b)^2 + c`` on an integer ``q`` of real scale ``S`` as
  ``(q + q_b)^2 + q_c`` with ``q_b = floor(b/S)``, ``q_c = floor(c/(a S^2))`` and the output
  scale ``a S^2``.
* i-exp splits ``x <= 0`` as ``x = -z ln2 + p`` (``p in (-ln2, 0]``) with
  ``z = floor(-q / q_ln2)``, ``q_ln2 = floor(ln2/S)``, evaluates ``exp(p)`` by I-POLY with
  ``(a, b, c) = (0.3585, 1.353, 0.344)`` and shifts the result right by ``z``.
* i-erf uses ``erf(x) ≈ sgn(x)[a(min(|x|, -b) + b)^2 + 1]`` with ``(a, b) = (-0.2888, -1.769)``;
  i-GELU is ``x (1 + erf(x/√2)) / 2`` with one more integer constant ``floor(1/S_erf)``.

These baselines are not part of the model's integer semantics; they exist so that the shift-based
units can be compared against them (accuracy in ``bench/fidelity.py``, hardware cost in the RTL).
"""

from __future__ import annotations

import math

import numpy as np

#: i-exp polynomial ``exp(p) ≈ 0.3585 (p + 1.353)^2 + 0.344`` on ``p in [-ln2, 0]``.
EXP_A, EXP_B, EXP_C = 0.3585, 1.353, 0.344
#: i-erf polynomial ``erf(x) ≈ sgn(x) [-0.2888 (min(|x|, 1.769) - 1.769)^2 + 1]``.
ERF_A, ERF_B = -0.2888, -1.769
#: Right shifts of the i-exp result saturate here (the result is 0 beyond it).
_MAX_SHIFT = 63
#: Bits the Shiftmax-style reciprocal of ``ibert_softmax`` keeps (as in ``spec.shift``).
_RECIP_BITS = 30


def _check_scale(scale: float, name: str) -> float:
    scale = float(scale)
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"{name}: scale must be positive and finite, got {scale}")
    return scale


def ibert_exp_constants(scale: float) -> dict:
    """Integer constants of i-exp for an input ``q <= 0`` of real scale ``scale``.

    Keys: ``q_ln2 = floor(ln2/S)`` (the integer that stands for ln 2: range reduction step),
    ``q_b = floor(1.353/S)`` (polynomial offset b on the input's integer grid),
    ``q_c = floor(0.344/(0.3585 S^2))`` (constant c on the output's integer grid),
    ``out_scale = 0.3585 S^2`` (float: real value of one output unit) and ``scale`` (S).
    Requires ``q_ln2 >= 1`` (``S <= ln 2``); a coarser input cannot be range-reduced.
    """
    s = _check_scale(scale, "ibert_exp_constants")
    q_ln2 = math.floor(math.log(2.0) / s)
    if q_ln2 < 1:
        raise ValueError(f"ibert_exp_constants: scale {s} is coarser than ln 2")
    return {
        "q_ln2": q_ln2,
        "q_b": math.floor(EXP_B / s),
        "q_c": math.floor(EXP_C / (EXP_A * s * s)),
        "out_scale": EXP_A * s * s,
        "scale": s,
    }


def ibert_exp(q, consts: dict) -> np.ndarray:
    """i-exp: ``y ≈ exp(q·S) / out_scale`` for integers ``q <= 0`` (int64 result, ``y >= 0``).

    ``z = (-q) // q_ln2``, ``q_p = q + z·q_ln2 in (-q_ln2, 0]``,
    ``y = ((q_p + q_b)^2 + q_c) >> min(z, 63)``.
    """
    q = np.asarray(q, dtype=np.int64)
    if np.any(q > 0):
        raise ValueError("ibert_exp: input must be <= 0")
    q_ln2, q_b, q_c = (np.int64(consts[k]) for k in ("q_ln2", "q_b", "q_c"))
    z = (-q) // q_ln2
    q_p = q + z * q_ln2
    poly = (q_p + q_b) * (q_p + q_b) + q_c
    return poly >> np.minimum(z, _MAX_SHIFT)


def ibert_softmax(x, k: int, consts: dict, out_bits: int) -> np.ndarray:
    """I-BERT softmax over the last axis, normalised exactly like ``spec.shiftmax``.

    ``e = ibert_exp((x - rowmax) << k)`` with ``consts = ibert_exp_constants(S / 2^k)`` (the
    pre-shift gives i-exp the same input resolution ShiftExp gets), then
    ``f = 2^M // Σe`` with ``M = bitlen(q_b^2 + q_c) + 30`` and
    ``P = (e·f + 2^(M-Q-1)) >> (M-Q)``, ``Q = out_bits - 1``: only the exp differs.
    """
    x = np.asarray(x, dtype=np.int64)
    u = (x - x.max(axis=-1, keepdims=True)) << k
    e = ibert_exp(u, consts)
    peak = int(consts["q_b"]) ** 2 + int(consts["q_c"])
    m_bits = peak.bit_length() + _RECIP_BITS
    if m_bits > 62:
        raise OverflowError(f"ibert_softmax: reciprocal needs 2^{m_bits}, beyond int64")
    total = e.sum(axis=-1, keepdims=True)
    factor = (np.int64(1) << m_bits) // total
    shift = m_bits - (out_bits - 1)
    return (e * factor + (np.int64(1) << (shift - 1))) >> shift


def ibert_gelu_constants(scale: float) -> dict:
    """Integer constants of i-GELU for an input of real scale ``scale``.

    i-erf runs on the same integers read at scale ``s = S/√2`` (that is, on ``x/√2``).
    Keys: ``q_clip = ceil(1.769/s)`` (= ``-floor(b/s)``: where erf saturates, and the offset b),
    ``q_one_erf = ceil(1/(0.2888 s^2))`` (= ``-floor(1/(a s^2))``: the polynomial's 1 on the erf
    grid), ``erf_scale = 0.2888 s^2`` (real value of one erf unit), ``q_one = floor(1/erf_scale)``
    (the ``1`` of ``1 + erf``), ``out_scale = S·erf_scale/2`` (float: real value of one output
    unit) and ``scale`` (S). The paper's scale ``a s^2`` is negative (a < 0); here its sign is
    folded into the integer so that every scale is positive (same integers up to sign).
    """
    s_in = _check_scale(scale, "ibert_gelu_constants")
    s = s_in / math.sqrt(2.0)
    erf_scale = -ERF_A * s * s
    return {
        "q_clip": -math.floor(ERF_B / s),
        "q_one_erf": -math.floor(1.0 / (ERF_A * s * s)),
        "erf_scale": erf_scale,
        "q_one": math.floor(1.0 / erf_scale),
        "out_scale": s_in * erf_scale / 2.0,
        "scale": s_in,
    }


def ibert_erf(q, consts: dict) -> np.ndarray:
    """i-erf of ``q·S/√2``: ``sgn(q)·(q_one_erf - (min(|q|, q_clip) - q_clip)^2)`` at ``erf_scale``."""
    q = np.asarray(q, dtype=np.int64)
    clip = np.int64(consts["q_clip"])
    d = np.minimum(np.abs(q), clip) - clip
    return np.sign(q) * (np.int64(consts["q_one_erf"]) - d * d)


def ibert_gelu(q, consts: dict) -> np.ndarray:
    """i-GELU: ``y = q·(i-erf(q) + q_one) ≈ GELU(q·S) / out_scale`` (int64).

    Raises ``OverflowError`` when ``|q|·(q_one_erf + q_one)`` could leave int64.
    """
    q = np.asarray(q, dtype=np.int64)
    peak = int(np.abs(q).max(initial=0)) * (int(consts["q_one_erf"]) + int(consts["q_one"]))
    if peak >= 1 << 63:
        raise OverflowError("ibert_gelu: |q|·(1 + erf) does not fit int64 at this scale")
    return q * (ibert_erf(q, consts) + np.int64(consts["q_one"]))


__all__ = ["ibert_exp_constants", "ibert_exp", "ibert_softmax", "ibert_gelu_constants",
           "ibert_erf", "ibert_gelu"]

"""The op table: every registered layer kind provides every level's hook, and they agree.

Adding a kind must be local: one ``OpDef`` in ``ivit_hls/ops`` plus one kernel per backend.
These tests iterate the table, so a kind missing a hook (or a kernel) fails here.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from ivit_hls import golden
from ivit_hls.hls.lower import lower
from ivit_hls.ops import REGISTRY, Engine, OpDef, RtlParams
from ivit_hls.resources import SOURCE_ROOT

HOOKS = ("output", "golden", "bounds", "cycles", "hls", "rtl")
# layers.h and the unit headers it includes
LAYER_KERNELS = "".join((SOURCE_ROOT / "hw" / "hls" / "ivit" / name).read_text() for name in (
    "layers.h", "layers_common.h", "units_gemm.h", "units_vector.h", "units_attention.h",
    "swin.h", "ibert.h"))


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_every_kind_defines_every_hook(kind):
    op = REGISTRY[kind]
    assert op.kind == kind and op.unit in ("array", "vector")
    for hook in HOOKS:
        assert getattr(type(op), hook) is not getattr(OpDef, hook), f"{kind} lacks {hook}"


def test_every_kind_is_exercised_by_the_test_model(small_int_model):
    """Every kind runs in a test model: the ViT one here, the Swin and I-BERT kinds in the
    models of their own modules (test_swin, test_ablation)."""
    from test_ablation import IBERT_KINDS
    from test_swin import SWIN_KINDS

    vit = {ly.kind for ly in small_int_model.layers}
    assert vit | SWIN_KINDS | IBERT_KINDS == set(REGISTRY)


def test_hooks_agree_on_a_real_model(small_int_model):
    model = small_int_model
    types = model.tensor_types()
    image = np.random.default_rng(4).integers(-127, 128, (2, 3, 32, 32))
    trace = golden.run(model, image, trace=True).trace
    plan = lower(model, 4, 4)
    engine = Engine(4, 4, 4)
    for layer, hls in zip(model.layers, plan.layers):
        ins = [types[s] for s in layer.inputs]
        out = types[layer.name]
        got = trace[layer.name]
        # golden output: the declared shape and element type
        assert got.shape == (2, *out.shape), layer.name
        assert out.dtype.lo <= got.min() and got.max() <= out.dtype.hi, layer.name
        # the GEMM shape exists exactly for the array's layers
        gemm = layer.op.gemm(layer, ins)
        assert (gemm is not None) == (layer.op.unit == "array"), layer.name
        assert layer.op.cycles(layer, ins, out, engine) > 0
        # HLS: a layer kernel templated on the config struct exists for the kernel name
        assert re.search(rf"void {hls.kernel}\(", LAYER_KERNELS), hls.kernel
        assert hls.out.shape == tuple(out.shape)
        # RTL: the unit the layer maps to exists, and its widths come from the types
        rp = layer.op.rtl(layer, ins, out)
        assert isinstance(rp, RtlParams)
        assert (SOURCE_ROOT / "hw" / "rtl" / f"{rp.unit}.sv").is_file(), rp.unit
        for key in ("OUT_W",):
            # a GELU core unit hands its wide product to a requant stage: no output width
            if key in rp.unit_params and rp.unit not in ("ivit_shiftgelu", "ivit_gelu_shift"):
                assert rp.unit_params[key] == (32 if out.dtype.bits > 16 and layer.kind == "linear"
                                               else out.dtype.bits), layer.name


def test_bounds_hold_on_data(small_int_model):
    """The output magnitudes range analysis propagates bound every traced value."""
    from ivit_hls.ops.bounds import Proof

    model = small_int_model
    types = model.tensor_types()
    image = np.full((1, 3, 32, 32), 127)
    trace = golden.run(model, image, trace=True).trace
    proof, mags = Proof(), {"image": 128}
    for layer in model.layers:
        mags[layer.name] = layer.op.bounds(layer, [mags[s] for s in layer.inputs],
                                           [types[s] for s in layer.inputs], proof)
        assert np.abs(trace[layer.name]).max() <= mags[layer.name], layer.name


#: kinds the RTL engine runs (``OpDef.engine``); it refuses the Swin and I-BERT kinds
ENGINE_KINDS = {"linear", "patch_embed", "layernorm", "qk_matmul", "shiftmax", "pv_matmul",
                "gelu", "residual_add"}


def test_the_rtl_engine_lowers_the_vit_kinds_and_refuses_the_rest():
    from types import SimpleNamespace

    from ivit_hls.errors import IvitError
    from ivit_hls.rtl.engine_lower import EngineCtx

    lowered = {k for k, op in REGISTRY.items() if type(op).engine is not OpDef.engine}
    assert lowered == ENGINE_KINDS
    ctx = EngineCtx(None, None, 4)
    for kind in sorted(set(REGISTRY) - ENGINE_KINDS):
        layer = SimpleNamespace(name=f"l_{kind}")
        with pytest.raises(IvitError, match=f"l_{kind} of kind {kind} has no engine lowering"):
            REGISTRY[kind].engine(layer, [], ctx)

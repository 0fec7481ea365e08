"""The RTL engine (hw/rtl/ivit_engine): program generation, and one DeiT-tiny encoder block at
197 tokens run by the engine's own controller behind cocotbext-axi memory models with random
stalls, bit-exact on every layer, its cycles within 3 % of the analytic engine model."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from rtl_helpers import needs_sim


@pytest.fixture(scope="module")
def deit_tiny_224():
    from ivit_hls import golden
    from ivit_hls.api import quantize_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # random init: accuracy is not the point
        model = quantize_model("deit_tiny", depth=1, calib_random=2, seed=0)
    image = np.random.default_rng(3).integers(-127, 128, size=(1, 3, 224, 224))
    return model, golden.run(model, image, trace=True).trace


def _block(model):
    return [ly for ly in model.layers if ly.name.startswith("blocks.0.")]


# ---------------------------------------------------------------- program generation ---

def test_pack_unpack_round_trip():
    from ivit_hls.rtl.engine import EngineConfig, Tensor, pack_tensor, unpack_tensor

    cfg = EngineConfig(n=8, data_w=512)
    x = np.random.default_rng(0).integers(-2**31, 2**31, size=(13, 21))
    t = Tensor("x", 13, 21, 8)
    raw = pack_tensor(x, t, cfg)
    assert len(raw) == 13 * 3 * 64                 # one 8-lane word per 64-byte beat
    first = np.frombuffer(raw[:64], dtype=np.int32)
    np.testing.assert_array_equal(first[:8], x[0, :8])
    assert not first[8:].any()
    np.testing.assert_array_equal(unpack_tensor(raw, 13, 21, cfg), x)


def test_descriptor_words(deit_tiny_224):
    from ivit_hls.rtl import engine

    model, _ = deit_tiny_224
    prog = engine.build_program(model, engine.EngineConfig(n=8), _block(model))
    table = np.frombuffer(prog.blob[:len(prog.steps) * 64], dtype=np.uint32).reshape(-1, 16)
    assert [int(w & 0xFF) for w in table[:, 0]] == [s.op for s in prog.steps]
    assert prog.steps[0].op == engine.OP_HDR and prog.steps[-1].op == engine.OP_END
    qkv = next(i for i, s in enumerate(prog.steps)
               if s.op == engine.OP_GEMM and s.layer == "blocks.0.attn.qkv")
    w = table[qkv]
    assert (w[0] >> 8) & 0xFF == engine.B_DDR and (w[0] >> 16) & 0x3F == 8
    # 197 tokens -> 25 row groups; 576 outputs -> 72 column tiles; K = 192
    assert (w[10], w[11], w[12]) == (25, 72, 192)
    # the first weight panel: K x N int8 of W^T, tile-major, inside the blob
    panel = np.frombuffer(prog.blob[w[13]:w[13] + 192 * 8], dtype=np.int8).reshape(192, 8)
    weight = model.layer("blocks.0.attn.qkv").params["weight"]
    np.testing.assert_array_equal(panel, weight[:8].T)
    assert w[14] == 192 * 8 // 64


def test_cycle_model_gemm_terms(deit_tiny_224):
    from ivit_hls.rtl import cycles, engine, engine_model

    model, _ = deit_tiny_224
    prog = engine.build_program(model, engine.EngineConfig(n=8), _block(model))
    step = next(s for s in prog.steps if s.layer == "blocks.0.mlp.fc2" and s.op == engine.OP_GEMM)
    mem = engine_model.MemTiming(read_latency=4)
    # 25 row groups x 24 column tiles of K = 768 back to back, behind the first 96-beat panel
    body = 768 * 600 + (8 + 8 - 1) + 8 + cycles.REQUANT_LATENCY
    assert cycles.systolic_cycles([768] * 600, 8, 8) == body
    expect = 1 + (4 + 1) + (4 + 96) + 2 + body + 2
    assert engine_model.step_cycles(step, prog, mem) == expect


@pytest.mark.parametrize("n", [4, 8, 16])
def test_whole_model_program_on_the_interpreter(n):
    """Patch embedding, two blocks, class-token norm and head: the descriptor table read back
    from the blob and executed step by step equals the golden model on every layer."""
    from ivit_hls import golden
    from ivit_hls.api import quantize_model
    from ivit_hls.rtl import engine, engine_ref

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = quantize_model("deit_tiny", depth=2, img_size=48, calib_random=2, seed=1)
    image = np.random.default_rng(5).integers(-127, 128, size=(1, 3, 48, 48))
    gold = golden.run(model, image, trace=True)
    prog = engine.build_program(model, engine.EngineConfig(n=n, max_beats=64, pdepth=256))
    region = engine_ref.execute(prog, engine.image_rows(model, image[0]))
    layers = engine.decode_trace(prog, region)
    assert list(layers) == [ly.name for ly in model.layers]
    for name in prog.layers:
        np.testing.assert_array_equal(layers[name], gold.trace[name][0],
                                      err_msg=f"first differing layer: {name}")
    out = engine.unpack_tensor(region, 1, 1000, prog.cfg)
    np.testing.assert_array_equal(out[0], gold.logits[0])


def test_form_mismatch_is_refused(deit_tiny_224):
    from ivit_hls.errors import IvitError
    from ivit_hls.rtl import engine

    model, _ = deit_tiny_224
    with pytest.raises(IvitError, match="GELU form 'shift'"):
        engine.build_program(model, engine.EngineConfig(gelu_form="symmetric"), _block(model))
    with pytest.raises(IvitError, match="raise SDEPTH"):
        engine.build_program(model, engine.EngineConfig(sdepth=1024), _block(model))


# ---------------------------------------------------------------- the engine in RTL ---

@needs_sim
def test_deit_tiny_block_on_the_engine_behind_axi(deit_tiny_224):
    from ivit_hls.rtl import engine, engine_model, engine_sim

    model, trace = deit_tiny_224
    assert model.config["tokens"] == 197 and model.config["dim"] == 192
    layers = _block(model)
    prog = engine.build_program(model, engine.EngineConfig(n=8), layers)
    run = engine_sim.run_program(prog, trace["patch_embed"][0], seed=1, stall=0.2)

    for ly in layers:                          # every layer, first difference named
        np.testing.assert_array_equal(run.layers[ly.name], trace[ly.name][0],
                                      err_msg=f"first differing layer: {ly.name}")
    np.testing.assert_array_equal(run.output, trace["blocks.0.add2"][0])

    modelled = engine_model.program_cycles(prog)
    measured = run.compute_cycles
    assert abs(measured - modelled) <= 0.03 * modelled, (measured, modelled)
    # every step measured; the stall-free model is a lower bound of each GEMM step
    assert len(run.step_cycles) == len(prog.steps)
    assert sum(run.step_cycles) == run.tb_cycles
    for s, m in zip(prog.steps, run.step_cycles):
        if s.op == engine.OP_GEMM:
            assert m >= engine_model.step_cycles(s, prog) - 2, (s.layer, m)


@needs_sim
def test_two_images_in_one_kernel_call():
    """``n_images = 2``: the controller walks the descriptor table once per image, stepping the
    image and logits addresses by the header's strides. Both images' logits and image 0's
    layers equal the golden model, and the second image costs what the first did."""
    from ivit_hls import golden
    from ivit_hls.api import quantize_model
    from ivit_hls.rtl import engine, engine_sim

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = quantize_model("deit_tiny", depth=1, img_size=32, calib_random=2, seed=1)
    images = np.random.default_rng(8).integers(-127, 128, size=(2, 3, 32, 32))
    gold = golden.run(model, images, trace=True)
    prog = engine.build_program(model, engine.EngineConfig(n=8))
    rows = [engine.image_rows(model, im) for im in images]
    one = engine_sim.run_program(prog, rows[0])
    two = engine_sim.run_program(prog, rows)
    assert len(two.outputs) == 2
    for i in range(2):
        np.testing.assert_array_equal(two.outputs[i].reshape(-1), gold.logits[i],
                                      err_msg=f"image {i}")
    assert engine_sim.first_mismatch(two, gold.trace, prog.layers) is None
    assert abs(two.compute_cycles - 2 * one.compute_cycles) <= 0.01 * one.compute_cycles, \
        (two.compute_cycles, one.compute_cycles)

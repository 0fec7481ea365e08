"""L4 Triton: every kernel equals its spec function (random and edge inputs) and the whole
model equals the golden model layer by layer, under Triton's interpreter on CPU."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("triton")

from ivit_hls import golden, spec  # noqa: E402
from ivit_hls.gpu import check, common, run, testing  # noqa: E402
from ivit_hls.gpu.triton import LOWER, Context, TritonExecutor, plan  # noqa: E402
from ivit_hls.ir.model import Layer  # noqa: E402

RNG = np.random.default_rng(12)


@pytest.fixture(scope="module")
def ctx():
    return Context("cuda" if torch.cuda.is_available() else "cpu")


def _np(t):
    return t.to("cpu").to(torch.int64).numpy()


def _dev(ctx, x, dtype):
    return torch.as_tensor(np.asarray(x)).to(dtype).to(ctx.device)


def test_table_covers_every_layer_kind():
    """Every kind of the op table is lowered, or listed as not ported (and then refused)."""
    kinds = common.model_kinds()
    assert set(LOWER) <= kinds
    assert kinds - set(LOWER) == common.NOT_PORTED


def _score_rows(t):
    rows = [RNG.integers(-128, 128, (6, t)),
            np.full((1, t), 5), np.full((1, t), -128),                 # all equal
            RNG.integers(-128, -20, (1, t)),                            # negative row max
            np.where(np.arange(t) == t // 2, 127, -128)[None]]         # one outlier
    return np.concatenate(rows).reshape(2, 5, t)


@pytest.mark.parametrize("exp_form", ["paper", "corrected"])
@pytest.mark.parametrize("t,k,i0", [(197, 0, 330), (5, 2, 383), (1, 0, 256), (50, 1, 1021)])
def test_shiftmax_kernel_equals_spec(ctx, exp_form, t, k, i0):
    x = _score_rows(t)
    layer = Layer("s", "shiftmax", ["x"],
                  {"k": k, "i0": i0, "n": 15, "out_bits": 16, "exp_form": exp_form})
    got = _np(LOWER["shiftmax"](ctx, layer, _dev(ctx, x, torch.int8)))
    np.testing.assert_array_equal(got, spec.shiftmax(x, k, i0, 15, 16, exp_form=exp_form))


def _gelu_expected(x, form, k, i0, n, m, e, bits):
    core = spec.shift_gelu(x, k, i0, n, form)
    return spec.requant(core, m, e, bits)


@pytest.mark.parametrize("form", ["shift", "symmetric", "rowmax"])
@pytest.mark.parametrize("k,i0", [(2, 383), (0, 300), (4, 511)])
def test_gelu_kernel_equals_spec(ctx, form, k, i0):
    domain = np.arange(-128, 128).reshape(2, 128)            # every int8 input
    rand = RNG.integers(-128, 128, (5, 128))
    neg = -np.abs(RNG.integers(0, 128, (1, 128)))             # a row whose max is <= 0
    x = np.concatenate([domain, rand, neg]).reshape(2, 4, 128)
    m, e = spec.dyadic(2.0 ** -15 * 0.9)
    layer = Layer("g", "gelu", ["x"], {"k": k, "i0": i0, "n": 23, "form": form, "m": int(m),
                                       "e": int(e), "out_bits": 8})
    got = _np(LOWER["gelu"](ctx, layer, _dev(ctx, x, torch.int8)))
    np.testing.assert_array_equal(got, _gelu_expected(x, form, k, i0, 23, int(m), int(e), 8))


@pytest.mark.parametrize("c", [192, 7, 1])
def test_layernorm_kernel_equals_spec(ctx, c):
    x = np.concatenate([RNG.integers(-32768, 32768, (4, c)),
                        RNG.integers(-3, 4, (2, c)),            # tiny variance
                        np.full((1, c), 1234), np.full((1, c), -32768),   # V = 0
                        np.where(np.arange(c) % 2, 32767, -32768)[None]]).reshape(3, 3, c)
    m, e = spec.dyadic(RNG.uniform(-2, 2, c) * 2.0 ** -12)
    bias = RNG.integers(-2 ** 40, 2 ** 40, c)
    layer = Layer("n", "layernorm", ["x"], {"out_bits": 8, "tokens": "all"},
                  {"m": m, "e": e, "bias": bias})
    got = _np(LOWER["layernorm"](ctx, layer, _dev(ctx, x, torch.int16)))
    np.testing.assert_array_equal(got, spec.ilayernorm(x, m, e, bias, 8))
    cls = Layer("n", "layernorm", ["x"], {"out_bits": 8, "tokens": "cls"},
                {"m": m, "e": e, "bias": bias})
    got = _np(LOWER["layernorm"](ctx, cls, _dev(ctx, x, torch.int16)))
    np.testing.assert_array_equal(got, spec.ilayernorm(x[:, :1], m, e, bias, 8))


def test_residual_kernel_equals_spec(ctx):
    c = 96
    a = np.concatenate([RNG.integers(-2 ** 31, 2 ** 31, (5, c)), np.full((1, c), -2 ** 31)])
    b = np.concatenate([RNG.integers(-32768, 32768, (5, c)), np.full((1, c), 32767)])
    m_a, e_a = spec.dyadic(RNG.uniform(1e-5, 1e-2, c))
    layer = Layer("r", "residual_add", ["a", "b"],
                  {"m_b": 1073741825, "e_b": 30, "out_bits": 16}, {"m_a": m_a, "e_a": e_a})
    got = _np(LOWER["residual_add"](ctx, layer, _dev(ctx, a[None], torch.int32),
                                    _dev(ctx, b[None], torch.int16)))
    want = spec.residual_add(a, m_a, e_a, b, 1073741825, 30, 16)
    np.testing.assert_array_equal(got[0], want)


def test_pv_kernel_extreme_probabilities(ctx):
    """P·v with P in {0, 2^15} and v = -128: the split of P into two int8 halves is exact."""
    h, hd, t = 2, 16, 9
    probs = RNG.choice([0, 1, 255, 256, 32767, 32768], size=(1, h, t, t))
    qkv = RNG.integers(-128, 128, (1, t, 3 * h * hd))
    qkv[..., 2 * h * hd:2 * h * hd + 3] = -128
    m, e = spec.dyadic(2.0 ** -16)
    layer = Layer("pv", "pv_matmul", ["p", "qkv"],
                  {"heads": h, "head_dim": hd, "m": int(m), "e": int(e), "out_bits": 8})
    got = _np(LOWER["pv_matmul"](ctx, layer, _dev(ctx, probs, torch.int32),
                                 _dev(ctx, qkv, torch.int8)))
    v = qkv[..., 2 * h * hd:].reshape(1, t, h, hd).transpose(0, 2, 1, 3)
    want = spec.requant(np.einsum("bhij,bhjd->bhid", probs, v), int(m), int(e), 8)
    np.testing.assert_array_equal(got, want.transpose(0, 2, 1, 3).reshape(1, t, h * hd))


@pytest.fixture(scope="module")
def small():
    return testing.model("deit_tiny", depth=2, img_size=32, seed=1)


def test_each_layer_kernel_equals_golden_on_model_tensors(ctx, small):
    """Every layer's launcher fed the golden inputs returns the golden output."""
    img = testing.images(small, 2, seed=3)
    ref = golden.run(small, img, trace=True).trace
    ref["image"] = img
    for layer in small.layers:
        ins = [_dev(ctx, ref[s], torch.int32 if ref[s].max(initial=0) > 127 or
                    ref[s].min(initial=0) < -128 else torch.int8) for s in layer.inputs]
        got = _np(LOWER[layer.kind](ctx, layer, *ins))
        np.testing.assert_array_equal(got, ref[layer.name], err_msg=layer.name)


def test_fused_plan_equals_golden(small):
    """Without a trace the executor fuses GEMM epilogues; logits stay golden."""
    img = testing.images(small, 3, seed=4)
    steps = plan(small, fuse=True)
    assert any(len(s) == 3 and s[2] == "residual" for s in steps)
    res = run(small, img, backend="triton")
    np.testing.assert_array_equal(res.logits, golden.run(small, img).logits)


def test_mismatch_names_first_layer(small):
    img = testing.images(small, 1, seed=5)
    ex = TritonExecutor(small)
    layer = small.layer("blocks.1.mlp.fc1")
    ex.ctx.params(layer)["bias"] += 1           # corrupt one layer on the device only
    with pytest.raises(Exception, match="blocks.1.mlp.fc1"):
        check(small, img, backend="triton", runner=ex)


def test_whole_deit_tiny_equals_golden_per_layer():
    model = testing.model("deit_tiny")
    img = testing.images(model, 1, seed=6)
    want = golden.run(model, img, trace=True)
    got = run(model, img, backend="triton", trace=True)
    golden.assert_traces_equal(want.trace, got.trace, [l.name for l in model.layers])
    np.testing.assert_array_equal(got.logits, want.logits)


def test_device_parameters_follow_the_layer_object_not_its_id(small):
    """The parameter cache is keyed by id(layer): an entry left by another layer object under
    the same id (a freed layer's id reused) must not be returned for a new layer."""
    fresh = Context("cpu")
    embed = next(ly for ly in small.layers if ly.kind == "patch_embed")
    norm = next(ly for ly in small.layers if ly.kind == "layernorm")
    fresh._params[id(embed)] = (norm, {"not": torch.zeros(1)})   # as if norm had had that id
    got = fresh.params(embed)
    assert set(got) == set(embed.params)
    assert torch.equal(got["weight"].cpu(), torch.as_tensor(np.asarray(embed.params["weight"]),
                                                            dtype=torch.int8))
    assert fresh.params(embed) is got                                 # cached for the same object

"""Which layers the engine runs in one pass (a *step*), and the kernel call of each step.

Fused patterns (each layer's output consumed only by the next layer of the pattern):

* ``linear`` (raw int32) -> ``residual_add`` (as its branch): the add is the GEMM epilogue,
  written into the residual stream's buffer when the stream dies there (``linear_residual``);
* ``linear`` (requantized) -> ``gelu`` (shift, symmetric or table form): GELU in the epilogue
  (``linear_gelu``);
* ``qk_matmul`` -> ``shiftmax`` -> ``pv_matmul`` on the same qkv: one ``attention`` unit that
  keeps one strip of scores and probabilities on chip.

Everything else is one layer per step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Kinds the engine has a unit for (the rest run through their own layer kernel).
ENGINE_KINDS = frozenset({"patch_embed", "linear", "qk_matmul", "shiftmax", "pv_matmul",
                          "gelu", "residual_add", "layernorm"})
_FUSED_GELU_FORMS = ("shift", "symmetric", "table")


@dataclass
class Step:
    """One kernel call of the generated top."""

    kernel: str
    layers: list                     # HlsLayer, in order; the last one's output is the step's
    inputs: list                     # Tensors read from buffers (or the image)
    weighted: bool = False
    inplace: object = None           # the residual Tensor a fused add may overwrite
    engine: bool = True
    array: bool = False              # runs on the GEMM array (takes the engine's shared state)
    slots: list = field(default_factory=list)
    iterations: list = field(default_factory=list)   # the same step in every block

    @property
    def out(self):
        return self.layers[-1].out

    def key(self) -> tuple:
        """What must agree between blocks: kernel, layer kinds and buffers."""
        return (self.kernel, tuple(ly.layer.kind for ly in self.layers),
                tuple(t.buffer for t in self.inputs), self.out.buffer)

    def args(self, it: str) -> list[str]:
        """Arguments of the call: input buffers, output buffer, weights, iteration and the
        batch's image count ``nb`` (engine units run over the whole batch)."""
        ins = ["img" if t.buffer == "image" else f"{t.buffer}[0]" for t in self.inputs]
        out = [f"{self.out.buffer}[0]"]
        w = ["weights"] if self.weighted else []
        state = ["eng_acc", "eng_panel"] if self.array else []
        return ins + out + w + ([it, "nb"] + state if self.engine else [])

    def image_args(self, n: str) -> list[str]:
        """Arguments of a plain layer kernel (one image) for image ``n`` of the batch: each
        buffer's image starts at ``n`` times its tensor's size."""
        ins = [f"img + {n} * IVIT_IMAGE_SIZE" if t.buffer == "image"
               else f"{t.buffer}[0] + {n} * {t.size}" for t in self.inputs]
        out = [f"{self.out.buffer}[0] + {n} * {self.out.size}"]
        return ins + out + (["weights"] if self.weighted else [])

    def template_args(self) -> str:
        return ", ".join(s.cname for s in self.slots)


def _consumers(layers: list) -> dict:
    uses: dict = {}
    for op in layers:
        for name in op.layer.inputs:
            uses.setdefault(name, []).append(op.index)
    return uses


def find_steps(layers: list, types: dict) -> list:
    """Group ``layers`` (HlsLayer, model order) into steps."""
    uses = _consumers(layers)
    only = lambda op, nxt: uses.get(op.layer.name) == [nxt.index]  # noqa: E731
    steps: list = []
    i = 0
    while i < len(layers):
        op = layers[i]
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        nxt2 = layers[i + 2] if i + 2 < len(layers) else None
        kind = op.layer.kind
        if (kind == "linear" and nxt is not None and nxt.layer.kind == "residual_add"
                and op.layer.attrs.out_bits is None and nxt.layer.inputs[0] == op.layer.name
                and nxt.layer.inputs[1] != op.layer.name and only(op, nxt)):
            steps.append(Step("linear_residual", [op, nxt], [op.inputs[0], nxt.inputs[1]],
                              weighted=True, inplace=nxt.inputs[1], array=True))
            i += 2
            continue
        if (kind == "linear" and nxt is not None and nxt.layer.kind == "gelu"
                and op.layer.attrs.out_bits is not None
                and nxt.layer.attrs.form in _FUSED_GELU_FORMS and only(op, nxt)):
            steps.append(Step("linear_gelu", [op, nxt], [op.inputs[0]], weighted=True,
                              array=True))
            i += 2
            continue
        if (kind == "qk_matmul" and nxt is not None and nxt2 is not None
                and nxt.layer.kind == "shiftmax" and nxt2.layer.kind == "pv_matmul"
                and nxt.layer.inputs == [op.layer.name]
                and nxt2.layer.inputs == [nxt.layer.name, op.layer.inputs[0]]
                and only(op, nxt) and only(nxt, nxt2)):
            steps.append(Step("attention", [op, nxt, nxt2], [op.inputs[0]], array=True))
            i += 3
            continue
        engine = kind in ENGINE_KINDS
        gemm = op.layer.op.gemm(op.layer, [types[n] for n in op.layer.inputs])
        steps.append(Step(op.kernel, [op], list(op.inputs), weighted=op.weighted,
                          engine=engine, array=engine and gemm is not None))
        i += 1
    return steps

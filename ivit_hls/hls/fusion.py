"""Which layers the engine runs in one pass (a *step*), and the kernel call of each step.

Fused patterns (each layer's output consumed only by the next layer of the pattern):

* ``linear`` (raw int32) -> ``residual_add`` (as its branch): the add is the GEMM epilogue,
  written into the residual stream's buffer when the stream dies there (``linear_residual``);
* ``linear`` (requantized) -> ``gelu`` (shift, symmetric or table form): GELU in the epilogue
  (``linear_gelu``);
* ``qk_matmul`` -> ``shiftmax`` -> ``pv_matmul`` on the same qkv: one ``attention`` unit that
  keeps one strip of scores and probabilities on chip.

Everything else is one layer per step.

A LayerNorm step whose input the step just before it wrote through a GEMM drain that can
gather row statistics (``kernels.Kernel.gathers_row_stats``) takes each row's sum and sum of
squares from that drain instead of sweeping its input once more (``mark_row_stats``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .kernels import kernel

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
    row_stats: str = ""              # "out": gathers its output rows' LayerNorm statistics;
                                     # "in": a LayerNorm that reads them (mark_row_stats)

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
        state += ["eng_half"] if self.array and self.weighted else []
        stats = ["eng_sx", "eng_sxx"] if self.row_stats else []
        return ins + out + w + ([it, "nb"] + state + stats if self.engine else [])

    def image_args(self, n: str) -> list[str]:
        """Arguments of a plain layer kernel (one image) for image ``n`` of the batch: each
        buffer's image starts at ``n`` times its tensor's size."""
        ins = [f"img + {n} * IVIT_IMAGE_SIZE" if t.buffer == "image"
               else f"{t.buffer}[0] + {n} * {t.size}" for t in self.inputs]
        out = [f"{self.out.buffer}[0] + {n} * {self.out.size}"]
        return ins + out + (["weights"] if self.weighted else [])

    def template_args(self) -> str:
        return ", ".join([s.cname for s in self.slots] + (["true"] if self.row_stats else []))


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


def program_runs(prologue: list, body: list, epilogue: list, iterations: int) -> list:
    """``(step, instance)`` in the order one batch runs them: the prologue, the body's steps
    ``iterations`` times (``instance``: that block's step, ``step.iterations[b]``), the
    epilogue. ``step`` is what the generated top calls (its slots serve every block)."""
    runs = [(st, st) for st in prologue]
    for b in range(iterations if body else 0):
        runs += [(st, st.iterations[b] if st.iterations else st) for st in body]
    return runs + [(st, st) for st in epilogue]


def mark_row_stats(prologue: list, body: list, epilogue: list, iterations: int) -> None:
    """Mark every LayerNorm step that can take its statistics from the step before it
    (``row_stats = "in"``) and that producer (``"out"``). The program runs ``prologue``, then
    ``body`` ``iterations`` times (its steps' ``iterations`` are the per-block instances),
    then ``epilogue``; one generated call serves every block, so a body step is marked only
    when every one of its instances qualifies: the instance run just before it is a
    kernel that gathers row statistics (``Kernel.gathers_row_stats``) and wrote the
    LayerNorm's input."""
    runs = program_runs(prologue, body, epilogue, iterations)
    verdict: dict = {}
    for k, (step, inst) in enumerate(runs):
        if step.kernel != "layernorm" or not step.engine:
            continue
        prev_step, prev = runs[k - 1] if k else (None, None)
        ok = (prev is not None and kernel(prev_step.kernel).gathers_row_stats
              and prev.out.name == inst.inputs[0].name)
        entry = verdict.setdefault(id(step), [step, True, []])
        entry[1] = entry[1] and ok
        entry[2].append(prev_step)
    for step, ok, producers in verdict.values():
        if ok:
            step.row_stats = "in"
            for p in producers:
                p.row_stats = "out"

"""Whole-model Triton executor: layer launchers in model order, optional fusions, CUDA graphs."""

from __future__ import annotations

import numpy as np
import torch

from ..common import attr, check_table, check_widths, gelu_form
from .lower import LOWER, Context, linear


def _consumers(model) -> dict[str, int]:
    count: dict[str, int] = {}
    for layer in model.layers:
        for src in layer.inputs:
            count[src] = count.get(src, 0) + 1
    return count


def plan(model, fuse: bool) -> list[tuple]:
    """The launch sequence: ``(layer,)`` steps, or fused pairs ``(first, second, how)``.

    Fused (when ``fuse``): a raw ``linear`` with the ``residual_add`` that alone consumes it
    (the add becomes the GEMM's epilogue), and a requantizing ``linear`` with an elementwise
    ``gelu`` (shift or symmetric form) that alone consumes it. A fused pair produces only the second layer's tensor.
    """
    check_table(LOWER, "triton", model)
    check_widths(model)
    uses = _consumers(model)
    steps, layers, i = [], model.layers, 0
    while i < len(layers):
        cur = layers[i]
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        if fuse and nxt is not None and cur.kind == "linear" and uses.get(cur.name) == 1:
            if (nxt.kind == "residual_add" and nxt.inputs[0] == cur.name
                    and attr(cur, "out_bits") is None):
                steps.append((cur, nxt, "residual"))
                i += 2
                continue
            if (nxt.kind == "gelu" and nxt.inputs == [cur.name] and gelu_form(nxt) in ("shift", "symmetric")
                    and attr(cur, "out_bits") is not None and int(attr(cur, "out_bits")) <= 8):
                steps.append((cur, nxt, "gelu"))
                i += 2
                continue
        steps.append((cur,))
        i += 1
    return steps


class TritonExecutor:
    """Runs an integer model with the Triton kernels on ``device`` (CPU = interpreter)."""

    def __init__(self, model, device=None):
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model = model
        self.ctx = Context(torch.device(device))
        self._graphs: dict[int, tuple] = {}
        self._plans = {fuse: plan(model, fuse) for fuse in (False, True)}

    def forward(self, images: torch.Tensor, trace: bool = False) -> dict[str, torch.Tensor]:
        """Every layer's output (``trace``) or only the logits tensor, keyed by layer name."""
        tensors = {"image": images}
        for step in self._plans[not trace]:
            first = step[0]
            args = [tensors[s] for s in first.inputs]
            if len(step) == 1:
                tensors[first.name] = LOWER[first.kind](self.ctx, first, *args)
            elif step[2] == "residual":
                second = step[1]
                tensors[second.name] = linear(self.ctx, first, *args, residual_layer=second,
                                              residual=tensors[second.inputs[1]])
            else:
                tensors[step[1].name] = linear(self.ctx, first, *args, gelu_layer=step[1])
        if trace:
            tensors.pop("image")
            return tensors
        out = self.model.output
        return {out: tensors[out]}

    def run_numpy(self, images: np.ndarray, trace: bool = False) -> dict[str, np.ndarray]:
        """Integer images (numpy) in, int64 numpy outputs by layer name out."""
        dev = torch.as_tensor(np.asarray(images, dtype=np.int8)).to(self.ctx.device)
        return to_numpy(self.forward(dev, trace=trace))

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Integer logits ``(B, classes)`` of images already on the device."""
        out = self.forward(images)[self.model.output]
        return out.reshape(images.shape[0], -1)

    def graphed(self, batch: int):
        """A CUDA-graph replay of the whole forward for ``batch`` images (GPU only).

        Returns ``(static_images, replay)``: copy images into ``static_images`` and call
        ``replay()``; it returns the static logits tensor (overwritten by the next replay).
        """
        if self.ctx.device.type != "cuda":
            raise RuntimeError("CUDA graphs need a CUDA device")
        if batch not in self._graphs:
            cfg = self.model.config
            shape = (batch, cfg["in_chans"], cfg["img_size"], cfg["img_size"])
            static = torch.zeros(shape, dtype=torch.int8, device=self.ctx.device)
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for _ in range(2):  # compile every kernel before capture
                    self.logits(static)
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                out = self.logits(static)
            self._graphs[batch] = (static, graph, out)
        static, graph, out = self._graphs[batch]

        def replay():
            graph.replay()
            return out
        return static, replay


def to_numpy(tensors: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """Device tensors → int64 numpy arrays."""
    return {k: v.detach().to("cpu").to(torch.int64).numpy() for k, v in tensors.items()}

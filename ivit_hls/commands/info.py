"""``ivit-hls info``: what an integer model file holds."""

from __future__ import annotations

import argparse

import numpy as np

NAME = "info"
HELP = "show an integer model file's layers, widths, constants, size and range headroom"

_SCALARS = ("k", "i0", "n", "m", "e", "m_b", "e_b", "form", "tokens")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="integer model file (.ivit)")


def _shape(layer) -> str:
    w = layer.params.get("weight")
    return "x".join(str(d) for d in w.shape) if w is not None else ""


def _constants(layer) -> str:
    parts = [f"{k}={layer.attrs[k]}" for k in _SCALARS if k in layer.attrs]
    if "m" in layer.params:
        e = np.asarray(layer.params["e"])
        parts.append(f"e∈[{int(e.min())},{int(e.max())}]")
    return " ".join(parts)


def run(args: argparse.Namespace) -> int:
    from .. import ir

    model = ir.load(args.file)
    cfg = model.config
    bits = cfg["bits"]
    print(f"{args.file}: {cfg['name']} ({cfg['arch']}), {cfg['img_size']}px, patch {cfg['patch']}, "
          f"dim {cfg['dim']}, depth {cfg['depth']}, heads {cfg['heads']}, "
          f"mlp {cfg['mlp_hidden']}, tokens {cfg['tokens']}, classes {cfg['num_classes']}")
    print(f"widths: weights int{bits['weight']}, activations int{bits['act']}, residual "
          f"int{bits['residual']}, softmax uint{bits['softmax']}, logits int{bits['logit']}; "
          f"Shiftmax N={bits['shiftmax_n']}, ShiftGELU N={bits['gelu_n']} ({bits['gelu_form']})")
    print(f"input: int{cfg['input']['bits']} scale {cfg['input']['scale']:.6g}, "
          f"mean {cfg['input']['mean']}, std {cfg['input']['std']}")
    print(f"{'layer':28} {'kind':13} {'weight':>10} {'out':>5}  constants")
    for layer in model.layers:
        out = layer.attrs.get("out_bits")
        print(f"{layer.name:28} {layer.kind:13} {_shape(layer):>10} "
              f"{'acc' if out is None else out:>5}  {_constants(layer)}")
    bounds = ir.ranges.analyze(model)
    tight = min(bounds, key=lambda b: b.headroom_bits)
    status = "all widths proven" if all(b.ok for b in bounds) else "OVERFLOW POSSIBLE"
    print(f"{len(model.layers)} layers, {model.param_bytes() / 1e6:.2f} MB integer parameters; "
          f"range analysis: {status}, least headroom {tight.headroom_bits:.1f} bits "
          f"({tight.layer}: {tight.quantity})")
    return 0

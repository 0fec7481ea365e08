"""``ivit-hls info``: what an integer model file holds."""

from __future__ import annotations

import argparse

NAME = "info"
HELP = "show an integer model file's layers, widths, constants, size and range headroom"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="integer model file (.ivit)")


def _constants(layer) -> str:
    """Scalar attrs (not shapes or widths) and the range of per-channel shifts."""
    import dataclasses

    import numpy as np

    skip = {"out_bits", "patch", "in_chans", "dim", "grid", "heads", "head_dim"}
    parts = [f"{f.name}={getattr(layer.attrs, f.name)}" for f in dataclasses.fields(layer.attrs)
             if f.name not in skip]
    for key in ("e", "e_a"):
        if key in layer.params:
            e = np.asarray(layer.params[key])
            parts.append(f"{key}∈[{int(e.min())},{int(e.max())}]")
    return " ".join(parts)


def run(args: argparse.Namespace) -> int:
    from .. import ir

    model = ir.load(args.file)
    cfg = model.config
    types = model.tensor_types()
    bits = cfg.get("bits", {})
    print(f"{args.file}: {cfg['name']} ({cfg.get('arch', '?')}), {cfg['img_size']}px, patch "
          f"{cfg['patch']}, dim {cfg['dim']}, depth {cfg['depth']}, heads {cfg['heads']}, "
          f"mlp {cfg['mlp_hidden']}, tokens {cfg['tokens']}, classes {cfg['num_classes']}")
    if bits:
        print("widths: " + ", ".join(f"{k} {v}" for k, v in sorted(bits.items())))
    print(f"input: int{cfg['input']['bits']} scale {cfg['input']['scale']:.6g}, "
          f"mean {cfg['input']['mean']}, std {cfg['input']['std']}")
    print(f"{'layer':28} {'kind':13} {'output':>16}  constants")
    for layer in model.layers:
        t = types[layer.name]
        out = f"{'x'.join(map(str, t.shape))} {t.dtype}"
        print(f"{layer.name:28} {layer.kind:13} {out:>16}  {_constants(layer)}")
    bounds = ir.ranges.analyze(model)
    failing = [b for b in bounds if not b.ok]
    tight = ir.ranges.tightest(bounds)
    status = "all widths proven" if not failing else f"OVERFLOW POSSIBLE ({failing[0].describe()})"
    least = (f", least headroom {tight.headroom_bits:.1f} bits ({tight.layer}: {tight.quantity})"
             if tight else "")
    print(f"{len(model.layers)} layers, {model.param_bytes() / 1e6:.2f} MB integer parameters; "
          f"range analysis: {status}{least}")
    return 0

"""Python API: from a timm model name (or module) to a calibrated integer model."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from .errors import IvitError
from .ir.model import IntegerModel

#: Random calibration images when none are given (quantize and generate agree on it).
DEFAULT_CALIB_IMAGES = 8

#: Short names accepted everywhere, mapped to timm model names.
SUPPORTED_MODELS = {
    "deit_tiny": "deit_tiny_patch16_224",
    "deit_s": "deit_small_patch16_224",
    "deit_b": "deit_base_patch16_224",
    "vit_s": "vit_small_patch16_224",
    "vit_b": "vit_base_patch16_224",
    "swin_t": "swin_tiny_patch4_window7_224",
    "swin_s": "swin_small_patch4_window7_224",
}

#: timm's blocks per stage of the Swin models (``depth=`` caps every stage at that number).
SWIN_DEPTHS = {
    "swin_tiny_patch4_window7_224": (2, 2, 6, 2),
    "swin_small_patch4_window7_224": (2, 2, 18, 2),
}


def timm_name(name: str) -> str:
    """Resolve a short or full model name; unknown names raise ``IvitError`` listing the choices."""
    if name in SUPPORTED_MODELS:
        return SUPPORTED_MODELS[name]
    if name in SUPPORTED_MODELS.values():
        return name
    raise IvitError(f"unknown model {name!r}; supported: {', '.join(SUPPORTED_MODELS)}")


def create_float_model(name: str, *, checkpoint: str | Path | None = None,
                       pretrained: bool = False, seed: int = 0, depth: int | None = None,
                       img_size: int | None = None) -> torch.nn.Module:
    """Create the timm float model: local checkpoint, timm's own pretrained loading, or a
    deterministic random init (with a warning that accuracy is meaningless).

    ``depth`` builds a shallower model: N blocks for a ViT/DeiT, at most N blocks per stage
    for a Swin."""
    import timm

    if not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise IvitError(f"seed {seed}: expected an integer in 0..2^63-1")
    kwargs = {}
    if depth is not None:
        if not isinstance(depth, int) or depth < 1:
            raise IvitError(f"depth {depth}: expected a positive number of blocks")
        stages = SWIN_DEPTHS.get(timm_name(name))
        if stages:   # Swin: at most ``depth`` blocks in every stage
            kwargs["depths"] = tuple(min(d, depth) for d in stages)
        else:
            kwargs["depth"] = depth
    if img_size is not None:
        kwargs["img_size"] = img_size
    torch.manual_seed(seed)
    try:
        model = timm.create_model(timm_name(name), pretrained=pretrained, **kwargs)
    except IvitError:
        raise
    except Exception as exc:  # network errors from the hub, bad kwargs
        raise IvitError(f"could not create {name}: {_first_line(exc)}") from None
    if checkpoint is not None:
        load_checkpoint(model, checkpoint)
    elif not pretrained:
        warnings.warn(f"{name}: no checkpoint given, using a deterministic random init "
                      f"(seed {seed}); predictions are meaningless", stacklevel=2)
    return model.eval()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _state_dict(state, path: Path) -> dict:
    """The tensors of a checkpoint: a state dict, or a dict holding one under a known key."""
    for key in ("model", "state_dict", "model_ema"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict):
        raise IvitError(f"checkpoint {path}: holds a {type(state).__name__}, not a state dict "
                        f"(a dict of parameter names to tensors)")
    if not state:
        raise IvitError(f"checkpoint {path}: an empty state dict")
    bad = [k for k, v in state.items() if not isinstance(k, str) or not torch.is_tensor(v)]
    if bad:
        raise IvitError(f"checkpoint {path}: entry {bad[0]!r} is not a named tensor")
    return state


def _fit_problems(model: torch.nn.Module, state: dict) -> str | None:
    """Why ``state`` does not load into ``model``: missing/unexpected keys, shape mismatches."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} is {list(state[k].shape)} in the checkpoint, {list(own[k].shape)} in the "
              f"model" for k in own if k in state and state[k].shape != own[k].shape]
    parts = []
    if shapes:
        parts.append(f"{len(shapes)} shape mismatch(es), e.g. {shapes[0]}")
    if missing:
        parts.append(f"{len(missing)} missing key(s), e.g. {missing[0]}")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected key(s), e.g. {unexpected[0]}")
    return "; ".join(parts) or None


def check_weights(model: torch.nn.Module, origin: str) -> None:
    """Refuse non-finite parameters and all-zero weight matrices or LayerNorm gains (their
    integer scale would be 0: nothing to quantize)."""
    for name, param in model.named_parameters():
        if not torch.isfinite(param).all():
            raise IvitError(f"{origin}: {name} holds NaN or Inf values")
    for name, module in model.named_modules():
        weight = getattr(module, "weight", None)
        if (isinstance(module, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.LayerNorm))
                and torch.is_tensor(weight) and not weight.detach().any()):
            raise IvitError(f"{origin}: {name}.weight is all zeros (no integer scale exists "
                            f"for it)")


def load_checkpoint(model: torch.nn.Module, path: str | Path) -> None:
    """Load float weights (a state dict, or a dict holding one under 'model'/'state_dict'),
    refusing files that are not one, that belong to another model, or that hold NaN/Inf or
    all-zero weights, each with the reason in one line."""
    path = Path(path)
    if not path.is_file():
        raise IvitError(f"checkpoint {path}: no such file")
    if path.stat().st_size == 0:
        raise IvitError(f"checkpoint {path}: empty file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors of every kind: the file is not a checkpoint
        raise IvitError(f"checkpoint {path}: unreadable ({_first_line(exc)})") from None
    state = _state_dict(state, path)
    problems = _fit_problems(model, state)
    if problems:
        raise IvitError(f"checkpoint {path} is for another model: {problems}")
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise IvitError(f"checkpoint {path} does not fit the model: {_first_line(exc)}") from None
    check_weights(model, f"checkpoint {path}")


def random_images(n: int, in_chans: int, img_size: int, seed: int = 0) -> torch.Tensor:
    """Deterministic normalized random images (standard normal), for calibration or tests."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, in_chans, img_size, img_size, generator=gen)


def quantize_module(model: torch.nn.Module, calib: torch.Tensor | list, *, name: str = "custom",
                    batch_size: int = 8, progress: bool = False, config=None) -> IntegerModel:
    """Calibrate the I-ViT version of a timm ``VisionTransformer`` and export its integer model."""
    from .qat import calibrate
    from .qat.swin import check_model, quant_model

    check_model(model)
    check_weights(model, name)
    qmodel = quant_model(model, config)
    if isinstance(calib, torch.Tensor):
        batches = list(torch.split(calib, batch_size))
    else:
        batches = list(calib)
    calibrate(qmodel, batches, progress=progress)
    return qmodel.export(name)


def quantize_model(name: str, *, checkpoint=None, pretrained: bool = False, calib_images=None,
                   calib_files=None, calib_random: int = DEFAULT_CALIB_IMAGES, seed: int = 0, depth: int | None = None,
                   img_size: int | None = None, progress: bool = False, config=None) -> IntegerModel:
    """Quantize a supported timm model into an integer model.

    ``calib_images``: normalized float images ``(N, C, H, W)`` (array or tensor);
    ``calib_files``: image files, preprocessed as the model expects; without either,
    ``calib_random`` deterministic random images are used.
    """
    model = create_float_model(name, checkpoint=checkpoint, pretrained=pretrained, seed=seed,
                               depth=depth, img_size=img_size)
    size = int(model.patch_embed.img_size[0])
    chans = int(model.patch_embed.proj.in_channels)
    if calib_files is not None:
        from .preprocess import input_config, load_image

        cfg = input_config(model)
        calib_images = np.stack([load_image(f, cfg, size, chans) for f in calib_files])
    if calib_images is None:
        if calib_random < 1:
            raise IvitError("calibration needs at least one image")
        calib = random_images(calib_random, chans, size, seed)
    else:
        calib = torch.as_tensor(np.asarray(calib_images, dtype=np.float32))
        if calib.ndim != 4 or tuple(calib.shape[1:]) != (chans, size, size):
            raise IvitError(f"calibration images have shape {tuple(calib.shape)}, "
                            f"expected (N, {chans}, {size}, {size})")
    with torch.no_grad():
        return quantize_module(model, calib, name=name, progress=progress, config=config)

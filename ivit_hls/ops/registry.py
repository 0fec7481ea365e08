"""The table of layer kinds: kind string -> its ``OpDef`` (one instance per kind)."""

from __future__ import annotations

from ..errors import FormatError

REGISTRY: dict = {}


def register(cls):
    """Class decorator: add an ``OpDef`` subclass to the table under its ``kind``."""
    if cls.kind in REGISTRY:
        raise ValueError(f"layer kind {cls.kind!r} registered twice")
    REGISTRY[cls.kind] = cls()
    return cls


def op_for(kind: str):
    """The ``OpDef`` of ``kind``; ``FormatError`` listing the known kinds otherwise."""
    try:
        return REGISTRY[kind]
    except (KeyError, TypeError):
        raise FormatError(f"unknown layer kind {kind!r}; known: "
                          f"{', '.join(sorted(REGISTRY))}") from None

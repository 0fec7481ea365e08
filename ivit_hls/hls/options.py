"""Generation options of an HLS project: systolic array shape, FPGA part, clock."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from ..errors import IvitError

DEFAULT_PART = "xcu250-figd2104-2L-e"
DEFAULT_ARRAY = "16x16"
DEFAULT_CLOCK = "300MHz"
#: Golden test vectors (random images) embedded in each project's testbench.
DEFAULT_TB_IMAGES = 3
#: Most golden images a project may hold (each costs one golden-model run at generation).
MAX_TB_IMAGES = 1000


@dataclass(frozen=True)
class HlsOptions:
    """What the generated hardware looks like (everything that changes the project's bytes)."""

    rows: int = 16
    cols: int = 16
    lanes: int = 0          # vector-unit lanes (0: the columns, at most the rows)
    drain: int = 0          # epilogue lanes: rows of a column drained per cycle (0: min(R, C))
    att_lanes: int = 0      # attention lanes: its drain rows and Shiftmax lanes (0: the vector lanes)
    helpers: str = "dsp"    # helper multipliers in fabric: "dsp" (none), "vector-fabric", "fabric"
    batch: int = 1          # images held on chip and run together (IVIT_MAX_BATCH)
    im2col_words: str = "row"  # im2col words: "row" (a patch row) or "half" (lower.IM2COL_WORDS)
    ln_product: str = "auto"   # LayerNorm normalize product: "auto", "split", "whole"
    part: str = DEFAULT_PART
    clock_mhz: float = 300.0
    tb_images: int = DEFAULT_TB_IMAGES
    tb_seed: int = 0

    def to_dict(self) -> dict:
        """Plain-JSON form for the manifest."""
        return asdict(self)


def parse_array(text: str) -> tuple[int, int]:
    """Parse ``RxC`` (e.g. ``16x16``) into positive integers."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not match:
        raise IvitError(f"--array {text!r}: expected ROWSxCOLS, e.g. 16x16")
    rows, cols = int(match.group(1)), int(match.group(2))
    if rows < 1 or cols < 1:
        raise IvitError(f"--array {text}: rows and columns must be at least 1")
    return rows, cols


def parse_clock(text: str) -> float:
    """Parse a clock given as ``300MHz``, ``300`` (MHz) or ``3.33ns`` into MHz."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(mhz|ns)?\s*", str(text), re.IGNORECASE)
    if not match or float(match.group(1)) <= 0:
        raise IvitError(f"--clock {text!r}: expected a frequency like 300MHz or a period like 3.33ns")
    value = float(match.group(1))
    if (match.group(2) or "mhz").lower() == "ns":
        value = 1000.0 / value
    if not 1.0 <= value <= 1000.0:
        raise IvitError(f"--clock {text}: {value:g} MHz is outside 1..1000 MHz")
    return round(value, 6)


def parse_part(text: str) -> str:
    """Check a Xilinx part name's shape (e.g. ``xcu250-figd2104-2L-e``)."""
    if not re.fullmatch(r"x[a-z0-9]+(-[a-zA-Z0-9]+)+", str(text)):
        raise IvitError(f"--part {text!r}: not a part name like {DEFAULT_PART}")
    return str(text)


def parse_tb_images(value: int) -> int:
    """Check ``--tb-images``: 1..MAX_TB_IMAGES golden images in the project."""
    if not 1 <= int(value) <= MAX_TB_IMAGES:
        raise IvitError(f"--tb-images {value}: expected 1..{MAX_TB_IMAGES}")
    return int(value)


#: Most images the on-chip buffers may hold (every activation buffer grows with the batch).
MAX_BATCH = 64


def parse_batch(value: int) -> int:
    """Check ``--batch``: 1..MAX_BATCH images held on chip and run together."""
    if not 1 <= int(value) <= MAX_BATCH:
        raise IvitError(f"--batch {value}: expected 1..{MAX_BATCH}")
    return int(value)


def parse_seed(value: int, option: str = "--seed") -> int:
    """Check a random seed: numpy and torch take 0..2^63-1 (torch's limit is the lower)."""
    if not 0 <= int(value) < 2**63:
        raise IvitError(f"{option} {value}: expected an integer in 0..2^63-1")
    return int(value)

"""Capacities of common AMD/Xilinx parts and boards (datasheet counts) for resource estimates."""

from __future__ import annotations

#: family prefix -> (DSP slices, BRAM36 blocks, URAM blocks, CLB LUTs, GB/s of one weight
#: port, GB/s of the board's external memory in all). Matched by the part's first field.
#: Device counts from the AMD product tables (Zynq UltraScale+ MPSoC DS891, Kria K26 DS987,
#: Alveo U250 DS962, U55C DS978, UltraScale+ FPGA DS890). Bandwidths: ZCU102 and KV260 have
#: one 64-bit DDR4-2400 (19.2 GB/s); U250 four DDR4-2400 banks (19.2 GB/s each, one per
#: port); U55C HBM2 (460 GB/s over 32 pseudo-channels, 14.4 GB/s per channel and port).
#: Others: one DDR4-2400 bank per port.
PARTS = {
    "xcu250": (12288, 2688, 1280, 1728000, 19.2, 76.8),
    "xcu200": (6840, 2160, 960, 1182240, 19.2, 76.8),
    "xcu280": (9024, 2016, 960, 1303680, 14.4, 460.0),
    "xcu55c": (9024, 2016, 960, 1303680, 14.4, 460.0),
    "xcu50": (5952, 1344, 640, 871680, 14.4, 316.0),
    "xcvu9p": (6840, 2160, 960, 1182240, 19.2, 76.8),
    "xczu9eg": (2520, 912, 0, 274080, 19.2, 19.2),
    "xczu7ev": (1728, 312, 96, 230400, 19.2, 19.2),
    "xck26": (1248, 144, 64, 117120, 19.2, 19.2),
    "xc7z020": (220, 140, 0, 53200, 4.2, 4.2),
}

#: Board names of the parts (explore and bench tables), with a full part name each.
BOARDS = {
    "ZCU102": "xczu9eg-ffvb1156-2-e",
    "KV260": "xck26-sfvc784-2LV-c",
    "U250": "xcu250-figd2104-2L-e",
    "U55C": "xcu55c-fsvh2892-2L-e",
}


def part_info(part: str) -> dict | None:
    """Capacities of ``part`` (e.g. ``xcu250-figd2104-2L-e``), or None for an unknown part."""
    family = part.split("-")[0].lower()
    if family not in PARTS:
        return None
    dsp, bram, uram, luts, port, total = PARTS[family]
    # every CLB pairs each LUT with two flip-flops (UltraScale+: 8 LUTs and 16 FFs a CLB;
    # 7-series: 4 LUTs and 8 FFs a slice)
    return {"family": family, "dsp": dsp, "bram36": bram, "uram": uram, "luts": luts,
            "ffs": 2 * luts, "port_gbps": port, "ddr_gbps": total}


def bytes_per_cycle(part: str, clock_mhz: float) -> int:
    """Bytes per cycle the 512-bit weight port can sustain at ``clock_mhz`` on ``part``
    (at most 64; 64 for an unknown part)."""
    info = part_info(part)
    if info is None:
        return 64
    return max(1, min(64, int(info["port_gbps"] * 1e3 // clock_mhz)))

"""SystemVerilog side of ivit-hls: RTL sources, simulation runner, cycle model, synthesis reports.

The units live in ``hw/rtl`` (one module per file). This package finds them, renders
per-model parameters, builds them with Verilator for cocotb, and runs Yosys on them.
"""

from .sources import RTL_DIR, rtl_sources

__all__ = ["RTL_DIR", "rtl_sources"]

"""Host driver for ivit-hls accelerators (numpy only; pyxrt / pynq optional)."""

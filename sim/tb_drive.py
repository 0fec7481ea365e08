"""cocotb bench driven by a controller: replays prepared stream jobs on any unit.

The job file (``config["jobs"]``, JSON) lists jobs; each sets static configuration inputs,
offers its input beats and collects ``n_out`` output beats, free-running (no stalls) so
that the measured cycles are the unit's own. Outputs and cycles go back in the result.
"""

from __future__ import annotations

import json

import cocotb
import numpy as np

import streams


@cocotb.test()
async def drive(dut):
    cfg = streams.config()
    with open(cfg["jobs"]) as fh:
        jobs = json.load(fh)
    rng = np.random.default_rng(cfg.get("seed", 0))
    await streams.start(dut)
    results = []
    for job in jobs:
        for name, val in job.get("static", {}).items():
            getattr(dut, name).value = int(val)
        beats = [{k: int(v) for k, v in b.items()} for b in job["beats"]]
        outs, cycles = await streams.stream(dut, beats, job["out_fields"], job["n_out"], rng,
                                            cfg.get("idle", 0.0), cfg.get("bp", 0.0))
        results.append({"outs": [[o[f] for f in job["out_fields"]] for o in outs],
                        "cycles": cycles})
    with open(cfg["out"], "w") as fh:
        json.dump(results, fh)
    streams.write_result({"checked": len(results), "cycles": sum(r["cycles"] for r in results)})

"""Console script `source-haloitsm` and the image's entry point (main.py): loads the CDK without the
parts the connector does not use (startup.py), tunes Python's garbage collector, then runs the
connector (entrypoint.py).

Python's cyclic garbage collector runs every 700 allocations and walks every object still alive. A
read keeps tens of thousands of parsed ticket fields alive in the pages ahead of emission and parses
about 110 objects per ticket, and loading the CDK creates hundreds of thousands of objects. Records
hold no reference cycles (reference counting frees them), so the collector is off while the CDK
loads, everything loaded is then frozen out of its walks, and it runs every 100,000 allocations
instead of 700. Measured with benchmarks/throughput.py, 50,000 tickets: about 0.8 s of the
connector's 5.4 s of CPU, and 0.15 s of its start-up.
"""
from __future__ import annotations

import gc
from typing import List, Optional

GC_THRESHOLDS = (100_000, 50, 100)


def run(args: Optional[List[str]] = None) -> None:
    gc.disable()
    from source_haloitsm.startup import prepare

    prepare()  # loads the CDK without the parts the connector does not use (startup.py)
    from source_haloitsm.entrypoint import launch

    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    gc.enable()
    launch(args)

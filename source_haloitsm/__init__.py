"""Airbyte source for HaloITSM."""
from typing import Any

__all__ = ["SourceHaloitsm"]


def __getattr__(name: str) -> Any:
    # Loaded on first use, so the console script (run.py) can tune the garbage collector first.
    if name == "SourceHaloitsm":
        from source_haloitsm.source import SourceHaloitsm

        return SourceHaloitsm
    raise AttributeError(name)

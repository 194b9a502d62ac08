"""Airbyte source for HaloITSM tickets."""
from source_haloitsm.source import SourceHaloitsm

__all__ = ["SourceHaloitsm"]

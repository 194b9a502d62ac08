import sys

from airbyte_cdk.entrypoint import launch

from source_haloitsm.source import SourceHaloitsm


def run() -> None:
    launch(SourceHaloitsm(), sys.argv[1:])

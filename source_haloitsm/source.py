"""Placeholder while the connector is written; replaced in the next commits."""
from airbyte_cdk.sources import AbstractSource


class SourceHaloitsm(AbstractSource):
    def check_connection(self, logger, config):
        return False, "not implemented yet"

    def streams(self, config):
        return []

"""Shared fixtures for integration tests. Keep this small; add fixtures below."""
import pytest

from integration_tests.halo_simulator import HaloSimulator


@pytest.fixture
def simulator():
    """Factory: ``sim = simulator(tickets=500, rate_limit=10, ...)`` starts a HaloSimulator
    on an ephemeral port; every simulator made is stopped after the test."""
    made = []

    def make(**kwargs):
        kwargs.setdefault("tickets", 500)
        sim = HaloSimulator(**kwargs).start()
        made.append(sim)
        return sim

    yield make
    for sim in made:
        sim.stop()

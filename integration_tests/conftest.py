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


def pytest_terminal_summary(terminalreporter):
    """The fault-injection suite's delivery table (integration_tests/fault_report.py), one row per
    case that ran: tickets expected (ground truth), delivered, duplicates, lost."""
    from integration_tests.fault_report import FIGURES, ROWS, table

    if FIGURES:
        terminalreporter.write_sep("=", "figures: delivered vs the simulator's truth")
        for line in FIGURES:
            terminalreporter.write_line(line)
    if not ROWS:
        return
    terminalreporter.write_sep("=", "delivery under faults (at-least-once, keyed by id)")
    for line in table(ROWS):
        terminalreporter.write_line(line)


@pytest.fixture
def time_limit():
    """Bounds a test that runs the connector in process: if it is still running after 150 s (a hung
    read), the test process prints every thread's stack and exits instead of hanging the suite."""
    import faulthandler
    import sys

    faulthandler.dump_traceback_later(150, exit=True, file=sys.stderr)
    yield
    faulthandler.cancel_dump_traceback_later()

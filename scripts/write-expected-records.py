"""Writes integration_tests/expected_records/<config>.jsonl, the records Airbyte's acceptance tests
expect from each `basic_read` config of acceptance-test-config.yml (`expect_records.path`).

It starts the Halo simulator with the fixed arguments CAT is run against
(integration_tests/cat_records.py: CAT_SIMULATOR_ARGS), discovers each config's catalog and reads
every stream in full refresh, as CAT's basic_read does. integration_tests/test_cat_records.py checks
the committed files against the same read; rerun this after a change to the connector's output or
to the simulator's data, and review the diff.

Run: .venv/bin/python scripts/write-expected-records.py
"""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from integration_tests.cat_records import CAT_SIMULATOR_ARGS, generate  # noqa: E402


def main() -> int:
    files = generate()
    for path, expected in files.items():
        text = expected.text
        target = ROOT / path
        target.parent.mkdir(parents=True, exist_ok=True)
        old = target.read_text() if target.exists() else None
        target.write_text(text)
        lines = text.count("\n")
        state = "unchanged" if old == text else ("written" if old is None else "changed")
        print(f"{path}: {lines} records, {len(text.encode()) // 1024} KiB, {state}")
    print(f"simulator: {' '.join(CAT_SIMULATOR_ARGS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

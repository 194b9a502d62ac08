"""Halo rows -> records: the fast datetime path gives exactly what the exact (datetime-parsing) path
gives, nulls and every other field stay as Halo sent them, decimals in integer fields become integers."""
import random

import pytest

from source_haloitsm.datetimes import normalize
from source_haloitsm.records import RecordNormalizer, normalize_datetime


def _halo_datetimes(n: int, seed: int = 7):
    rng = random.Random(seed)
    for _ in range(n):
        year = rng.choice([1, 1899, 1900, 1980, 1981, 1999, 2000, 2023, 2024, 2025, 2026, 9999])
        month, day = rng.randint(1, 12), rng.randint(1, 31)  # some days do not exist (Feb 30, Apr 31)
        text = f"{year:04d}-{month:02d}-{day:02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
        digits = rng.randint(0, 7)
        if digits:
            text += "." + "".join(rng.choice("0123456789") for _ in range(digits))
        yield text


ODD_VALUES = [
    None, "", "   ", 17, 3.5, True, [], {},
    "1900-01-01T00:00:00", "1899-12-30T00:00:00", "0001-01-01T00:00:00", "1980-12-31T23:59:59.997",
    "2024-06-20T14:45:15.97", "2024-06-20T14:45:15.000", "2024-06-20T14:45:15.0000001", "2024-06-20T14:45:15.1234567",
    "2024-06-20T14:45:15.9700000Z", "2024-06-20T14:45:15Z", "2024-06-20T14:45:15+02:00", "2024-06-20T14:45:15.5-05:30",
    "2024-02-30T10:00:00", "2024-13-01T10:00:00", "2024-06-20T24:00:00", "2024-06-20 14:45:15", "2024-06-20",
    "not a date", "2024-06-20T1٤:45:15", "2024-06-20T14:45:1٥.5", "2024-06-20T14:45:15.", "2024-06-20T14:45:15.abc", "٢٠٢٤-06-20T14:45:15",
]


@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_fast_path_matches_the_exact_path_on_odd_values(value):
    assert normalize_datetime(value) == normalize(value)


def test_fast_path_matches_the_exact_path_on_many_halo_datetimes():
    values = list(_halo_datetimes(20000))
    mismatches = [(v, normalize_datetime(v), normalize(v)) for v in values if normalize_datetime(v) != normalize(v)]
    assert not mismatches, mismatches[:5]


def test_records_keep_nulls_and_unknown_fields_and_fix_decimal_ids():
    normalizer = RecordNormalizer(["last_update", "dateclosed", "targetdate"], ["site_id", "agent_id"])
    row = {
        "id": 1,
        "last_update": "2024-03-01T08:30:15.12",
        "dateclosed": None,
        "targetdate": "1900-01-01T00:00:00",
        "site_id": 18.0,
        "agent_id": 2.5,
        "summary": None,
        "cf_unknown": {"nested": None},
    }
    assert normalizer(dict(row)) == {
        "id": 1,
        "last_update": "2024-03-01T08:30:15.120000+00:00",
        "dateclosed": None,
        "targetdate": None,
        "site_id": 18,
        "agent_id": 2.5,  # not integral: left as Halo sent it
        "summary": None,
        "cf_unknown": {"nested": None},
    }


def test_a_field_list_keeps_only_those_fields():
    normalizer = RecordNormalizer(["last_update", "dateclosed"], ["site_id"], keep=["id", "last_update", "summary"])
    out = normalizer({"id": 3, "last_update": "2024-03-01T08:30:15", "dateclosed": "2024-03-02T00:00:00", "summary": None, "site_id": 1.0})
    assert out == {"id": 3, "last_update": "2024-03-01T08:30:15+00:00", "summary": None}

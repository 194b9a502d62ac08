"""Redaction of personal data (source_haloitsm/redaction.py, the `redaction` setting).

The corpus (unit_tests/redaction_corpus.json) holds texts in several languages and formats (plain text,
HTML, e-mail) with known personal data and near misses: every case must come out exactly as expected,
with none of its personal data left and every near miss as written. Then the same through the row
transform the streams apply (tickets with custom fields, actions with HTML bodies), with the log captured
at debug level; the schema without the dropped fields; the setting's validation; and the debug log of
response bodies, withheld when redaction is on. Timings are in benchmarks/redaction.py, never here.
"""
from __future__ import annotations

import collections
import json
import logging
import random
from pathlib import Path

import pytest

from source_haloitsm import redaction
from source_haloitsm.config import parse_config
from source_haloitsm.custom_fields import CustomField
from source_haloitsm.errors import ConfigError
from source_haloitsm.redaction import DETECTORS, PLACEHOLDERS, RedactionSettings, RowRedactor, TextRedactor
from source_haloitsm.source import SourceHaloitsm
from unit_tests.halo_mock import config as make_config

CORPUS = json.loads((Path(__file__).parent / "redaction_corpus.json").read_text(encoding="utf-8"))
CASES = CORPUS["cases"]
ALL = TextRedactor(CORPUS["detectors"], CORPUS["phone_regions"])


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_corpus_case(case):
    out = ALL(case["text"])
    assert out == case["expected"]
    assert [p["value"] for p in case["pii"] if p["value"] in out] == [], "personal data left"
    assert [n for n in case["near_misses"] if n not in out] == [], "a near miss was masked"
    # one stable placeholder per finding: as many of each as the case holds of that kind
    found = collections.Counter({kind: out.count(PLACEHOLDERS[kind]) - case["text"].count(PLACEHOLDERS[kind]) for kind in DETECTORS})
    assert +found == collections.Counter(p["kind"] for p in case["pii"])  # pii lists each occurrence


def test_corpus_covers_languages_formats_and_kinds():
    assert {c["lang"] for c in CASES} >= {"en", "de", "fr", "es", "nl"}
    assert {c["format"] for c in CASES} >= {"text", "html", "email"}
    kinds = collections.Counter(p["kind"] for c in CASES for p in c["pii"])
    assert all(kinds[k] >= 5 for k in DETECTORS), kinds
    assert sum(len(c["near_misses"]) for c in CASES) >= 60


@pytest.mark.parametrize("limit", CORPUS["limits"], ids=[l["why"][:40] for l in CORPUS["limits"]])
def test_documented_limits_are_what_they_say(limit):
    assert ALL(limit["text"]) == limit["text"]


@pytest.mark.parametrize("detector", DETECTORS)
def test_each_detector_masks_its_own_kind_only(detector):
    alone = TextRedactor([detector], CORPUS["phone_regions"])
    for case in CASES:
        out = alone(case["text"])
        for p in case["pii"]:
            assert (p["value"] in out) == (p["kind"] != detector), (case["id"], p, out)
        assert all(n in out for n in case["near_misses"]), case["id"]


def test_phone_regions_decide_national_numbers():
    text = "Call 0412 345 678 or 1300 655 506; or (415) 867-5309."
    assert TextRedactor(["phone"], ["AU"])(text) == "Call [phone] or 1300 655 506; or (415) 867-5309."
    assert TextRedactor(["phone"], ["US"])(text) == "Call 0412 345 678 or 1300 655 506; or [phone]."
    # international format does not depend on them
    assert TextRedactor(["phone"], [])("Ring +61 412 345 678.") == "Ring [phone]."


def test_random_text_never_breaks_and_redaction_is_idempotent():
    rng = random.Random(11)
    alphabet = "0123456789 ()+-./:@%,#aZDEGBfe\u00a0\n"
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 48)))
        once = ALL(text)
        assert ALL(once) == once, (text, once)


# ---- records: tickets and actions as the streams transform them ----

PII = {p["value"] for c in CASES for p in c["pii"]}
NOTES = CustomField(169, "CFinternalNotes", "Internal notes", 1, "cf_internal_notes")
CALLBACK = CustomField(168, "CFcallbackNumber", "Callback number", 0, "cf_callback_number")
IMPACT = CustomField(165, "CFimpact", "Impact", 2, "cf_impact")


def _ticket(text: str) -> dict:
    return {
        "id": 7, "last_update": "2024-06-20T14:45:15.970000+00:00", "summary": text[:60], "details": text,
        "idsummary": f"7 - {text[:60]}", "user_email": "reporter@example.net", "reportedby": "reporter@example.net",
        "cf_internal_notes": text, "cf_callback_number": "+44 20 7946 0958", "cf_impact": "Single User Affected",
        "customfields": [
            {"id": 169, "name": "CFinternalNotes", "type": 1, "value": text, "display": text},
            {"id": 168, "name": "CFcallbackNumber", "type": 0, "value": "+44 20 7946 0958", "display": "+44 20 7946 0958"},
            {"id": 165, "name": "CFimpact", "type": 2, "value": 3, "display": "Single User Affected"},
        ],
    }


def _action(text: str) -> dict:
    html = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return {"ticket_id": 7, "id": 3, "datetime": "2024-06-20T14:45:15+00:00", "note": text, "note_html": f"<p>{html}</p>",
            "emailbody_html": f"<html><body>{html}</body></html>", "emailsubject": f"RE: {text[:40]}",
            "emailfrom": "reporter@example.net", "who": "Jane Doe"}


def test_rows_hold_no_personal_data_in_records_or_logs(caplog):
    settings = RedactionSettings(drop_fields=("user_email", "CFcallbackNumber", "emailfrom"), detectors=DETECTORS,
                                 phone_regions=tuple(CORPUS["phone_regions"]))
    tickets = RowRedactor(settings, "tickets", (NOTES, CALLBACK, IMPACT))
    actions = RowRedactor(settings, "actions")
    emitted = []
    with caplog.at_level(logging.DEBUG):
        for case in CASES:
            row = tickets(_ticket(case["text"]))
            assert row["details"] == row["cf_internal_notes"] == case["expected"]
            assert "user_email" not in row and "cf_callback_number" not in row
            assert [e["id"] for e in row["customfields"]] == [169, 165]  # the dropped field's entry went too
            assert row["customfields"][0]["value"] == row["customfields"][0]["display"] == case["expected"]
            assert row["cf_impact"] == "Single User Affected" and row["reportedby"] == "reporter@example.net"
            action = actions(_action(case["text"]))
            assert action["note"] == case["expected"] and "emailfrom" not in action and action["who"] == "Jane Doe"
            emitted += [row, action]
    records = json.dumps(emitted, ensure_ascii=False)
    html_escaped = {p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for p in PII}
    assert [p for p in PII | html_escaped if p in records] == []
    assert [p for p in PII if p in caplog.text] == [] and "reporter@example.net" not in caplog.text


def test_idsummary_follows_the_summary_or_is_scanned_itself():
    tickets = RowRedactor(RedactionSettings(detectors=DETECTORS), "tickets")
    row = tickets({"id": 7, "summary": "call +44 20 7946 0958", "idsummary": "7 - call +44 20 7946 0958"})
    assert row["idsummary"] == "7 - call [phone]" and row["summary"] == "call [phone]"
    row = tickets({"id": 7, "summary": "VPN", "idsummary": "7: VPN, call +44 20 7946 0958"})
    assert row["idsummary"] == "7: VPN, call [phone]" and row["summary"] == "VPN"


def test_custom_field_entries_are_scanned_without_their_column():
    settings = RedactionSettings(drop_fields=("cf_internal_notes",), detectors=DETECTORS)
    row = RowRedactor(settings, "tickets", (NOTES, IMPACT))({
        "id": 7, "cf_impact": "Single User Affected", "customfields": [
            {"id": 169, "type": 1, "value": "call +44 20 7946 0958", "display": "call +44 20 7946 0958"},
            {"id": 165, "type": 2, "value": 3, "display": "Single User Affected"},
            {"id": 999, "type": 0, "value": "mail jane@example.org", "display": "mail jane@example.org"},  # not asked for
        ]})
    assert row["customfields"] == [
        {"id": 165, "type": 2, "value": 3, "display": "Single User Affected"},
        {"id": 999, "type": 0, "value": "mail [email]", "display": "mail [email]"},
    ]


def test_structured_fields_are_dropped_not_scanned():
    # reportedby is not free text: the detectors leave it; drop_fields is the tool for it.
    row = RowRedactor(RedactionSettings(detectors=DETECTORS), "tickets")(_ticket("nothing here"))
    assert row["reportedby"] == "reporter@example.net" and row["cf_callback_number"] == "+44 20 7946 0958"


def test_drop_only_changes_nothing_else():
    row = RowRedactor(RedactionSettings(drop_fields=("details",)), "tickets", (NOTES,))(_ticket("call +44 20 7946 0958"))
    assert "details" not in row and row["summary"] == "call +44 20 7946 0958"


# ---- schemas, through the source as discover builds them ----

def _schemas(**redaction_setting):
    source = SourceHaloitsm()
    cfg = make_config(redaction=redaction_setting) if redaction_setting else make_config()
    return {s.name: s.get_json_schema()["properties"] for s in source.streams(cfg)}


def test_dropped_fields_leave_the_schema_of_tickets_and_actions_only():
    before = _schemas()
    after = _schemas(drop_fields=["user_email", "reportedby", "emailfrom", "note_html"])
    assert {"user_email", "reportedby"} <= set(before["tickets"]) and {"emailfrom", "note_html"} <= set(before["actions"])
    assert set(before["tickets"]) - set(after["tickets"]) == {"user_email", "reportedby"}
    assert set(before["actions"]) - set(after["actions"]) == {"emailfrom", "note_html"}
    assert after["users"] == before["users"]
    assert "user_email" in _schemas()["tickets"]  # the shared schema itself is untouched


def test_dropped_fields_leave_a_ticket_type_streams_schema():
    source = SourceHaloitsm()
    cfg = make_config(ticket_types=[{"name": "incidents", "type_id": 1, "fields": ["summary", "user_email"]}],
                      redaction={"drop_fields": ["user_email"]})
    schema = {s.name: s.get_json_schema()["properties"] for s in source.streams(cfg)}["incidents"]
    assert {"id", "last_update", "summary"} <= set(schema) and "user_email" not in schema


# ---- the setting ----

def test_setting_parses_with_defaults():
    assert parse_config(make_config()).redaction == RedactionSettings()
    assert not parse_config(make_config(redaction={})).redaction.active
    settings = parse_config(make_config(redaction={"drop_fields": [" user_email ", "user_email"], "detectors": ["ip_address", "email"],
                                                   "phone_regions": ["au", "GB"]})).redaction
    assert settings == RedactionSettings(("user_email",), ("ip_address", "email"), ("AU", "GB"))
    assert parse_config(make_config(redaction={"detectors": ["phone"]})).redaction.phone_regions == redaction.DEFAULT_PHONE_REGIONS


BAD = [
    ({"detector": ["email"]}, "'redaction'", "unknown key(s) 'detector'"),
    ({"detectors": ["emails"]}, "'redaction.detectors[0]'", "is not one of"),
    ({"detectors": "email"}, "'redaction.detectors'", "is not of type 'array'"),
    ({"drop_fields": ["usr_email"]}, "'redaction.drop_fields'", "did you mean 'user_email'"),
    ({"drop_fields": ["last_update"]}, "'redaction.drop_fields'", "cannot be dropped"),
    ({"drop_fields": ["ticket_id"]}, "'redaction.drop_fields'", "cannot be dropped"),
    ({"phone_regions": ["UK"]}, "'redaction.phone_regions'", "'UK' is not a country code"),
    ("all", "'redaction'", "is not of type 'object'"),
]


@pytest.mark.parametrize("value,setting,phrase", BAD, ids=[b[2] for b in BAD])
def test_bad_setting_is_named(value, setting, phrase):
    with pytest.raises(ConfigError) as info:
        parse_config(make_config(redaction=value))
    assert setting in info.value.message and phrase in info.value.message, info.value.message


def test_custom_fields_can_be_named_as_halo_names_them():
    assert parse_config(make_config(redaction={"drop_fields": ["CFcallbackNumber", "cf_internal_notes"]})).redaction.drop_fields == (
        "CFcallbackNumber", "cf_internal_notes")
    assert redaction.drop_column("CFcallbackNumber") == "cf_callback_number"


# ---- the debug log ----

def test_response_bodies_are_withheld_from_the_debug_log_when_redaction_is_on():
    logger = logging.getLogger("test-redaction-guard")
    redaction.guard_debug_log(RedactionSettings(), logger)
    assert logger.filters == []
    redaction.guard_debug_log(RedactionSettings(detectors=("email",)), logger)
    redaction.guard_debug_log(RedactionSettings(detectors=("email",)), logger)
    assert len(logger.filters) == 1
    record = logger.makeRecord(logger.name, logging.DEBUG, __file__, 1, "Receiving response", None, None,
                               extra={"body": '{"tickets": [{"details": "reporter@example.net"}]}', "status": 200})
    assert logger.filters[0].filter(record) and "reporter" not in record.body and record.status == 200


def test_short_and_long_texts_of_a_row_are_masked_alike_the_short_ones_once():
    """Short texts (summaries) are masked once per distinct text and then taken from a cache; long ones
    are scanned in one call: either way, every text comes out as the detectors alone make it."""
    settings = RedactionSettings(detectors=DETECTORS, phone_regions=tuple(CORPUS["phone_regions"]))
    tickets = RowRedactor(settings, "tickets")
    long_texts = [c["text"] + " " + "x" * 300 for c in CASES[:20]]  # past the short-text length
    calls = []
    mask = tickets.mask
    tickets.mask = lambda text: calls.append(text) or mask(text)
    for round_no in range(2):
        for case, long_text in zip(CASES[:20], long_texts):
            row = tickets({"id": 7, "summary": case["text"], "details": long_text, "lastnote": long_text + " y"})
            assert row["summary"] == case["expected"]
            assert row["details"] == ALL(long_text) and row["lastnote"] == ALL(long_text + " y")
    short_calls = [text for text in calls if "\x00" not in text and len(text) <= 256]
    assert sorted(short_calls) == sorted({c["text"] for c in CASES[:20]})  # each summary once over both rounds

"""Configuration: the map and list forms of ticket_types, and a message naming the setting for each
kind of bad value, from check (FAILED) and from read (a config_error TRACE)."""
import pytest
from airbyte_cdk.test.mock_http import HttpMocker

from source_haloitsm.config import parse_config
from source_haloitsm.errors import ConfigError
from integration_tests.harness import catalog, run_connector
from unit_tests.halo_mock import SECRET
from unit_tests.halo_mock import config as make_config


def test_ticket_types_as_a_map_and_as_a_list_give_the_same_streams():
    as_map = parse_config(make_config(ticket_types={"incidents": {"type_id": 1, "fields": ["summary"]}, "changes": {"type_id": 4}}))
    as_list = parse_config(make_config(ticket_types=[
        {"name": "incidents", "type_id": 1, "fields": ["summary"]},
        {"name": "changes", "type_id": 4},
    ]))
    assert as_map.ticket_types == as_list.ticket_types
    assert [(t.name, t.type_id, t.fields) for t in as_map.ticket_types] == [
        ("incidents", 1, ("id", "last_update", "summary")),
        ("changes", 4, None),
    ]


def test_defaults():
    config = parse_config({"base_url": "https://acme.haloitsm.com/", "client_id": "a", "client_secret": "b"})
    assert (config.base_url, config.tenant, config.scope, config.page_size, config.rate_limit,
            config.request_timeout, config.parallel_requests, config.max_retries) == (
        "https://acme.haloitsm.com", "", "all", 100, 30, 60, 4, 5)
    assert config.start_date is None and config.end_date is None and config.ticket_types == ()


BAD = [
    # (overrides, setting named in the message, a phrase of the message)
    ({"base_url": None}, "base_url", "Missing required setting"),
    ({"client_id": None}, "client_id", "Missing required setting"),
    ({"client_secret": None}, "client_secret", "Missing required setting"),
    ({"client_secret": ""}, "client_secret", "empty"),
    ({"client_secret": 12345}, "client_secret", "must be a string"),
    ({"base_url": "acme.haloitsm.com"}, "base_url", "scheme"),
    ({"base_url": "https://acme.haloitsm.com/api"}, "base_url", "path"),
    ({"base_url": "http://acme.haloitsm.com"}, "base_url", "https"),
    ({"base_url": 42}, "base_url", "not of type"),
    ({"start_date": "2024/01/01"}, "start_date", "YYYY-MM-DD"),
    ({"start_date": "2024-02-30"}, "start_date", "YYYY-MM-DD"),
    ({"end_date": "yesterday"}, "end_date", "YYYY-MM-DD"),
    ({"start_date": "2024-05-01", "end_date": "2024-04-01"}, "end_date", "before start_date"),
    ({"start_date": "2999-01-01"}, "start_date", "future"),
    ({"page_size": 0}, "page_size", "minimum"),
    ({"page_size": 500}, "page_size", "maximum"),
    ({"page_size": "100"}, "page_size", "not of type"),
    ({"rate_limit": 0}, "rate_limit", "minimum"),
    ({"rate_limit": 2.5}, "rate_limit", "not of type"),
    ({"request_timeout": 0}, "request_timeout", "minimum"),
    ({"parallel_requests": 100}, "parallel_requests", "maximum"),
    ({"max_retries": -1}, "max_retries", "minimum"),
    ({"tenant": 7}, "tenant", "not of type"),
    ({"ticket_types": [{"name": "incidents"}]}, "ticket_types", "'type' (its name"),
    ({"ticket_types": [{"name": "incidents", "type": "Incident", "type_id": 1}]}, "ticket_types", "not both"),
    ({"ticket_types": [{"name": "incidents", "type": "Incident", "feilds": ["summary"]}]}, "ticket_types", "unknown key(s) 'feilds'"),
    ({"custom_fields": ["all", "CFimpact"]}, "custom_fields", "'all' already takes every"),
    ({"ticket_types": [{"name": "bad name", "type_id": 1}]}, "ticket_types[0].name", "does not match"),
    ({"ticket_types": [{"name": "a", "type_id": "one"}]}, "ticket_types[0].type_id", "not of type"),
    ({"ticket_types": {"incidents": {"type_id": 1, "fields": ["sumary"]}}}, "ticket_types", "did you mean 'summary'"),
    ({"ticket_types": [{"name": "a", "type_id": 1}, {"name": "a", "type_id": 2}]}, "ticket_types", "used twice"),
]


@pytest.mark.parametrize("overrides,setting,phrase", BAD, ids=[f"{b[1]}:{b[2]}" for b in BAD])
def test_bad_setting_is_named_in_parse(overrides, setting, phrase):
    with pytest.raises(ConfigError) as info:
        parse_config(make_config(**overrides))
    message = info.value.message
    assert f"'{setting}'" in message and phrase in message, message
    assert SECRET not in message


@pytest.mark.parametrize("overrides,setting,phrase", BAD[:14:3], ids=[f"{b[1]}" for b in BAD[:14:3]])
def test_bad_setting_fails_check_and_read_with_a_config_error(overrides, setting, phrase, tmp_path):
    config = make_config(**overrides)
    with HttpMocker():  # nothing mocked: a run that sent any request would fail on it, not reach a network
        check = run_connector("check", config, tmp_path)
        read = run_connector("read", config, tmp_path, catalog("tickets"))
    assert check.connection_status["status"] == "FAILED"
    assert f"'{setting}'" in check.connection_status["message"]
    assert read.errors and read.errors[-1]["failure_type"] == "config_error"
    assert f"'{setting}'" in read.errors[-1]["message"]
    assert "Traceback" not in read.errors[-1]["message"]
    assert SECRET not in check.raw + read.raw


def test_a_ticket_type_is_named_by_name_or_by_id_and_custom_fields_by_name_id_or_all():
    config = parse_config(make_config(
        ticket_types=[{"name": "incidents", "type": "Incident"}, {"name": "changes", "type": "4"}, {"name": "old", "type_id": 2}],
        custom_fields=["CFimpact", "167", "CFimpact"],
    ))
    assert [(t.name, t.type_id, t.type_name) for t in config.ticket_types] == [
        ("incidents", None, "Incident"), ("changes", 4, None), ("old", 2, None)]
    assert config.custom_fields == ("CFimpact", "167")
    assert parse_config(make_config(custom_fields="all")).custom_fields == ("all",)
    assert parse_config(make_config(custom_fields="none")).custom_fields == ()
    assert parse_config(make_config()).custom_fields == ()

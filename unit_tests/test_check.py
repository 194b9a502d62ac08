"""check: each way it can fail says what is wrong and what to do; success reads one ticket.

Halo's answers come from the CDK's HttpMocker (halo_mock.py). Failures below HTTP are real: a name
the resolver does not know, a port nothing listens on, and TLS spoken to a plain-HTTP server."""
import socket

import pytest
from airbyte_cdk.test.mock_http import HttpMocker

from integration_tests.harness import run_connector
from unit_tests.halo_mock import (
    NOW,
    SECRET,
    check_tickets_request,
    config,
    dotnet_error,
    html_page,
    oauth_error,
    text_response,
    ticket,
    ticket_types_request,
    ticket_types_response,
    tickets_page,
    token_request,
    token_response,
)


def _check(cfg, tmp_path):
    out = run_connector("check", cfg, tmp_path)
    assert SECRET not in out.raw
    return out.connection_status


def test_check_succeeds_with_a_token_and_one_ticket(frozen_clock, tmp_path):
    cfg = config()
    with HttpMocker() as http:
        token = token_request(cfg).build()
        one_ticket = check_tickets_request().build()  # page_size=1: any other request matches nothing
        http.post(token, token_response("t-1").build())
        http.get(one_ticket, tickets_page([ticket(7, NOW)]).page(1, 1).record_count(120).build())
        status = _check(cfg, tmp_path)
        http.assert_number_of_calls(token, 1)
        http.assert_number_of_calls(one_ticket, 1)
    assert status["status"] == "SUCCEEDED", status


# ---- each failure: how Halo (or the network) answers, and what the message must say

def _token_answer(response):
    def arrange(http, cfg):
        http.post(token_request(cfg).build(), response)
    return arrange


def _tickets_answer(response):
    def arrange(http, cfg):
        http.post(token_request(cfg).build(), token_response("t-1").build())
        http.get(check_tickets_request().build(), response)
    return arrange


MOCKED = {
    "bad credentials": (
        _token_answer(oauth_error(401, "invalid_client", "The specified client credentials are invalid.").build()),
        ["client_id", "client_secret", "tenant 'acme'", "/auth/token"],
    ),
    "wrong tenant (Halo answers 500)": (
        _token_answer(dotnet_error(500, "Object reference not set to an instance of an object.").build()),
        ["tenant", "'acme'", "API Details"],
    ),
    "invalid scope": (
        _token_answer(oauth_error(400, "invalid_scope", "The specified 'scope' is invalid.").build()),
        ["scope", "read:tickets"],
    ),
    "404 on /api": (
        _tickets_answer(text_response("Not Found", 404, "text/plain")),
        ["404", "base_url", "without"],
    ),
    "403": (
        _tickets_answer(text_response('{"error": "You don\'t have permissions to access this"}', 403)),
        ["403", "read:tickets", "agent"],
    ),
    "HTML instead of the API": (
        _tickets_answer(html_page()),
        ["base_url", "JSON"],
    ),
    "no tickets visible": (
        _tickets_answer(tickets_page([]).page(1, 1).record_count(0).build()),
        ["no tickets", "agent", "permissions"],
    ),
}


def _unknown_host(monkeypatch):
    resolve = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host == "acme.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return {"base_url": "https://acme.invalid"}


def _closed_port(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return {"base_url": f"http://127.0.0.1:{port}"}  # nothing listens there any more


NETWORK = {
    "DNS": (_unknown_host, ["could not be found", "base_url"]),
    "connection refused": (_closed_port, ["refused", "base_url"]),
    "TLS": (None, ["TLS", "base_url"]),  # https spoken to the simulator, which speaks plain HTTP
}


def _assert_names_cause_and_fix(status, phrases):
    assert status["status"] == "FAILED"
    assert status["message"][0] not in "'\"", status["message"]  # shown as written, not as a repr()
    for phrase in phrases:
        assert phrase in status["message"], (phrase, status["message"])
    assert "Traceback" not in status["message"]


@pytest.mark.parametrize("case", list(MOCKED) + list(NETWORK))
def test_check_failure_names_cause_and_fix(case, frozen_clock, tmp_path, monkeypatch, simulator):
    cfg = config(max_retries=1)
    if case in MOCKED:
        arrange, phrases = MOCKED[case]
        with HttpMocker() as http:
            arrange(http, cfg)
            status = _check(cfg, tmp_path)
    else:
        arrange, phrases = NETWORK[case]
        if arrange is None:
            overrides = {"base_url": simulator(tickets=1).base_url.replace("http://", "https://")}
        else:
            overrides = arrange(monkeypatch)
        status = _check(config(max_retries=1, **overrides), tmp_path)
    _assert_names_cause_and_fix(status, phrases)


def test_unknown_type_id_lists_the_types_halo_has(frozen_clock, tmp_path):
    cfg = config(ticket_types=[{"name": "problems", "type_id": 3}])
    with HttpMocker() as http:
        http.post(token_request(cfg).build(), token_response("t-1").build())
        http.get(check_tickets_request().build(), tickets_page([ticket(7, NOW)]).page(1, 1).build())
        types = ticket_types_request()
        http.get(types, ticket_types_response({1: "Incident", 2: "Service Request"}).build())
        status = _check(cfg, tmp_path)
        http.assert_number_of_calls(types, 1)
    assert status["status"] == "FAILED"
    assert "'ticket_types' entry 'problems'" in status["message"] and "type_id 3" in status["message"]
    assert "1 (Incident), 2 (Service Request)" in status["message"]

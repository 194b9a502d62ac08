"""The answer table (responses.py) on its own: what each Halo answer means, how long each wait is,
and that no wait is longer than the cap."""
import json
import logging

import pytest
import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.streams.http.error_handlers import ResponseAction

from source_haloitsm import waits
from source_haloitsm.auth import HaloTokenProvider
from source_haloitsm.config import parse_config
from source_haloitsm.errors import ConfigError, TransientHaloError
from source_haloitsm.responses import HaloBackoffStrategy, HaloErrorHandler, TokenErrorHandler, body_of

CONFIG = parse_config({"base_url": "https://acme.haloitsm.com", "tenant": "acme", "client_id": "id", "client_secret": "s3cr3t-value"})


def answer(status, body=b"", url="https://acme.haloitsm.com/api/Tickets?pageinate=true&page_size=100&page_no=2", headers=None, token="t-1"):
    request = requests.Request("GET", url, headers={"Authorization": f"Bearer {token}"}).prepare()
    response = requests.Response()
    response.status_code = status
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response.headers.update(headers or {})
    response.request = request
    response.url = url
    return response


@pytest.fixture
def tokens():
    issued = iter(f"t-{n}" for n in range(1, 100))
    provider = HaloTokenProvider(CONFIG, lambda: (next(issued), 3600))
    assert provider.token() == "t-1"  # the token the first request was signed with
    return provider


@pytest.fixture
def handler(tokens):
    return HaloErrorHandler(CONFIG, tokens, max_retries=3)


def test_a_page_with_the_list_is_a_success_and_its_body_is_parsed_once(handler, tokens):
    response = answer(200, {"record_count": 1, "tickets": [{"id": 1}]})
    assert handler.interpret_response(response).response_action == ResponseAction.SUCCESS
    assert body_of(response)["tickets"] == [{"id": 1}]
    assert tokens.api_accepted_a_token


@pytest.mark.parametrize("body", [b"<html>Halo is updating</html>", b'{"record_count": 5, "tick', {"record_count": 17, "message": "Object moved"}, {"tickets": []}, []])
def test_a_200_that_is_not_the_list_is_asked_for_again(handler, body):
    resolution = handler.interpret_response(answer(200, body, headers={"Content-Type": "text/html"}))
    assert resolution.response_action == ResponseAction.RETRY
    assert resolution.failure_type == FailureType.transient_error
    assert "base_url" in resolution.error_message


@pytest.mark.parametrize(
    "status,url,action,failure",
    [
        (403, None, ResponseAction.FAIL, FailureType.config_error),
        (404, None, ResponseAction.FAIL, FailureType.config_error),
        (400, None, ResponseAction.FAIL, FailureType.system_error),
        (429, None, ResponseAction.RATE_LIMITED, FailureType.transient_error),
        (500, None, ResponseAction.RETRY, FailureType.transient_error),
        (503, None, ResponseAction.RETRY, FailureType.transient_error),
        (502, None, ResponseAction.REDUCE_PAGE_SIZE, FailureType.transient_error),
        (504, None, ResponseAction.REDUCE_PAGE_SIZE, FailureType.transient_error),
        (502, "https://acme.haloitsm.com/api/Tickets?pageinate=true&page_size=1&page_no=7", ResponseAction.RETRY, FailureType.transient_error),
        (502, "https://acme.haloitsm.com/api/TicketType?showall=true", ResponseAction.RETRY, FailureType.transient_error),
    ],
)
def test_each_status_has_one_meaning(handler, status, url, action, failure):
    kwargs = {"url": url} if url else {}
    resolution = handler.interpret_response(answer(status, {"error": "x"}, **kwargs))
    assert (resolution.response_action, resolution.failure_type) == (action, failure)


def test_403_and_404_say_what_to_check(handler):
    assert "read:tickets" in handler.interpret_response(answer(403)).error_message
    assert "base_url" in handler.interpret_response(answer(404)).error_message


@pytest.mark.parametrize(
    "exc,action,phrase",
    [
        (requests.exceptions.SSLError("certificate verify failed"), ResponseAction.FAIL, "TLS"),
        (requests.exceptions.ConnectionError("Failed to resolve 'acme.haloitsm.com' ([Errno -2] Name or service not known)"), ResponseAction.FAIL, "could not be found"),
        (requests.exceptions.ConnectionError("[Errno 111] Connection refused"), ResponseAction.RETRY, "refused"),
        (requests.exceptions.ReadTimeout("read timed out"), ResponseAction.RETRY, "request_timeout"),
        (requests.exceptions.ChunkedEncodingError("IncompleteRead"), ResponseAction.RETRY, "cut off"),
    ],
)
def test_network_failures(handler, exc, action, phrase):
    resolution = handler.interpret_response(exc)
    assert resolution.response_action == action and phrase in resolution.error_message


def test_401_first_gets_a_new_token_then_is_a_config_error_if_no_token_ever_worked(handler, tokens):
    response = answer(401, b"", token="t-1")
    assert handler.interpret_response(response).response_action == ResponseAction.REFRESH_TOKEN_THEN_RETRY
    assert tokens.token() == "t-2"  # the rejected token is never sent again
    again = answer(401, b"", token="t-2")  # the retry, with the new token (requests-mock's proxy: another object)
    resolution = handler.interpret_response(again)
    assert (resolution.response_action, resolution.failure_type) == (ResponseAction.FAIL, FailureType.config_error)
    assert "tenant" in resolution.error_message and "https://acme.haloitsm.com" in resolution.error_message
    with pytest.raises(ConfigError):  # and nothing more is sent: no token will do
        tokens.token()


def test_401_again_after_the_api_accepted_tokens_is_retried_with_yet_another_token(handler, tokens):
    handler.interpret_response(answer(200, {"record_count": 0, "tickets": []}))
    handler.interpret_response(answer(401, b"", token="t-1"))
    assert tokens.token() == "t-2"
    assert handler.interpret_response(answer(401, b"", token="t-2")).response_action == ResponseAction.RETRY
    assert tokens.token() == "t-3"


@pytest.mark.parametrize(
    "status,body,failure,phrases",
    [
        (401, {"error": "invalid_client", "error_description": "The specified client credentials are invalid. s3cr3t-value"}, FailureType.config_error, ["client_id", "client_secret", "tenant"]),
        (400, {"error": "invalid_scope"}, FailureType.config_error, ["scope", "read:tickets"]),
        (404, b"Not Found", FailureType.config_error, ["base_url"]),
        (500, {"ClassName": "System.Exception"}, FailureType.transient_error, ["tenant", "'acme'", "API Details"]),
        (200, {"token_type": "Bearer"}, FailureType.transient_error, ["access_token"]),
    ],
)
def test_token_answers(status, body, failure, phrases):
    resolution = TokenErrorHandler(CONFIG, 3).interpret_response(answer(status, body, url="https://acme.haloitsm.com/auth/token?tenant=acme"))
    assert resolution.failure_type == failure
    assert all(p in resolution.error_message for p in phrases), resolution.error_message
    assert "s3cr3t-value" not in resolution.error_message


def test_retry_after_is_honoured_and_announced(monkeypatch, caplog):
    monkeypatch.setenv(waits.BACKOFF_SCALE_ENV, "1")
    with caplog.at_level(logging.INFO, logger="airbyte"):
        wait = HaloBackoffStrategy().backoff_time(answer(429, headers={"Retry-After": "42"}), 1)
    assert wait == 42
    assert any("Waiting 43 s" in r.getMessage() and "Retry-After 42" in r.getMessage() for r in caplog.records)


def test_429_without_retry_after_waits_for_halos_rolling_window(monkeypatch):
    monkeypatch.setenv(waits.BACKOFF_SCALE_ENV, "1")
    strategy = HaloBackoffStrategy()
    assert [strategy.backoff_time(answer(429), n) for n in range(1, 7)] == [30, 60, 120, 240, 300, 300]


def test_no_wait_is_longer_than_the_cap(monkeypatch):
    monkeypatch.setenv(waits.BACKOFF_SCALE_ENV, "0.001")  # the cap applies to what Halo asked, not to test scaling
    hours = str(int(waits.MAX_WAIT_SECONDS * 6))
    with pytest.raises(TransientHaloError) as raised:
        HaloBackoffStrategy().backoff_time(answer(429, headers={"Retry-After": hours}), 1)
    assert hours in raised.value.message and "next sync resumes" in raised.value.message
    assert HaloBackoffStrategy().backoff_time(answer(429, headers={"Retry-After": str(int(waits.MAX_WAIT_SECONDS))}), 1) is not None


def test_short_waits_are_not_announced(monkeypatch, caplog):
    monkeypatch.setenv(waits.BACKOFF_SCALE_ENV, "1")
    with caplog.at_level(logging.INFO, logger="airbyte"):
        wait = HaloBackoffStrategy().backoff_time(answer(503), 1)
    assert wait < waits.ANNOUNCE_AFTER_SECONDS
    assert not any("Waiting" in r.getMessage() for r in caplog.records)

"""The canary checks themselves: each must fail when the key leaks, or it proves nothing."""

from __future__ import annotations

import logging

import pytest

from connector import redact
from connector.redact import register_secret
from tests.conftest import CANARY_KEY, leaked_records


def record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("connector.test", logging.INFO, __file__, 1, message, args, None)


def test_a_record_holding_an_unregistered_key_is_a_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redact, "_secrets", set())  # as before any client registered the key
    assert leaked_records([record("key=%s", "prefix-" + CANARY_KEY)]) == ["connector.test"]


def test_a_url_with_the_key_in_its_query_is_masked_even_before_registration() -> None:
    url = f"GET http://127.0.0.1/v2/products?API_KEY={CANARY_KEY}&accountId=1"
    assert leaked_records([record("%s", url)]) == []


def test_a_registered_key_is_masked_anywhere() -> None:
    register_secret(CANARY_KEY)
    assert leaked_records([record("the key %s in the open", CANARY_KEY)]) == []

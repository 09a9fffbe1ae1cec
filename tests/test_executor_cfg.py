"""Executor.check_cfg: unknown keys are typos (did-you-mean), and a secret is never echoed."""

from __future__ import annotations

from typing import Any

import pytest

from skiff.component import resolve_component
from skiff.errors import ConfigError
from skiff.executor import Executor

BILLBEE = {"baseUrl": "http://127.0.0.1:1/api/v1", "apiKey": "k", "username": "u", "password": "p"}


def check(component: str, function: str, cfg: dict[str, Any], **options: Any) -> str:
    comp = resolve_component(component)
    with pytest.raises(ConfigError) as info:
        Executor(**options).check_cfg(comp, comp.function(function), cfg)
    return str(info.value)


def test_a_typo_in_a_key_is_an_error_with_did_you_mean() -> None:
    cfg = {**BILLBEE, "baseURL": "https://app.billbee.io"}
    del cfg["baseUrl"]
    assert check("billbee", "orderApiGetList", cfg) == (
        "cfg.baseURL: unknown field of billbee.orderApiGetList (did you mean 'baseUrl'?)"
    )


def test_an_unknown_key_without_a_near_name_lists_the_known_ones() -> None:
    message = check("http", "request", {"baseUrl": "http://127.0.0.1:1", "zzz": 1})
    assert message.startswith("cfg.zzz: unknown field of http.request; known: ")
    assert {"auth", "baseUrl", "rateLimit"} <= set(message.split("; known: ")[1].split(", "))


def test_function_fields_are_known_keys() -> None:
    comp = resolve_component("http")
    cfg = {"baseUrl": "http://127.0.0.1:1", "path": "/items", "cursorField": "updatedAt"}
    assert Executor().check_cfg(comp, comp.function("poll"), cfg) == cfg


def test_a_host_that_adds_keys_of_its_own_can_ignore_them() -> None:
    comp = resolve_component("billbee")
    cfg = {**BILLBEE, "_platformKey": "x"}
    assert Executor(unknown_cfg="ignore").check_cfg(comp, comp.function("orderApiGetList"), cfg) == cfg


@pytest.mark.parametrize("secret", [98765432123, 98765.4321, ["s3cr3t-in-a-list"], {"nested": "s3cr3t-value"}])
def test_a_secret_of_any_type_is_not_echoed(secret: Any) -> None:
    message = check("billbee", "orderApiGetList", {**BILLBEE, "password": secret})
    assert message == "cfg.password: expected a string (the value is secret: not shown)"


def test_a_secret_inside_an_object_field_is_not_echoed() -> None:
    # The http component's auth object: a bearer token of the wrong type, deep inside.
    comp = resolve_component("http")
    cfg = {"baseUrl": "http://127.0.0.1:1", "auth": 12345678901}
    with pytest.raises(ConfigError) as info:
        Executor().check_cfg(comp, comp.function("request"), cfg)
    assert "12345678901" not in str(info.value)

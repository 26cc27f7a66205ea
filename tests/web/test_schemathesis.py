"""Requests generated from the published OpenAPI spec, as an admin: never a 5xx, and every
refusal in the coded shape. Bounded (a few examples per operation) to keep the suite fast.

Operations are driven one by one with hypothesis over schemathesis' strategies (its pytest
plugin does not run under the pytest this project uses)."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from joignable.web.accounts import Role

from .conftest import Org

MAX_EXAMPLES = 15
SKIPPED = {"DELETE /api/session"}  # logging the admin out would leave only 401s to test


def test_no_generated_request_gets_a_server_error(org: Org) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", org.app)
    admin = org.clients[Role.ADMIN]
    auth: dict[str, Any] = {
        "headers": {"X-CSRF-Token": admin.headers["X-CSRF-Token"]},
        "cookies": {"joignable_session": admin.cookies["joignable_session"]},
    }
    # the customer's routes take a chat token: a real one, for its own contact
    from fastapi.testclient import TestClient

    chat = TestClient(org.app).post("/api/chat", json={"name": "Léa", "topic": "billing"}).json()
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()
        label = operation.label
        if label in SKIPPED:
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            # the spec's security schemes make it invent credentials: use the admin's instead
            case.headers = {
                k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"
            }
            case.cookies = {}
            if case.operation.path.startswith("/api/chat/{contact_id}"):
                case.headers["X-Chat-Token"] = chat["token"]
                case.path_parameters = {
                    **(case.path_parameters or {}),
                    "contact_id": chat["contact"],
                }
            r = case.call(**auth)
            where = f"{case.method} {case.formatted_path}: {r.status_code} {r.text[:300]}"
            assert r.status_code < 500, where
            if case.operation.label != "POST /api/session":  # a wrong login is a 401
                assert r.status_code != 401, where  # the admin session must survive the run
            if r.status_code >= 400:
                error = r.json()["error"]
                assert isinstance(error["code"], str), where
                assert isinstance(error["message"], str), where

        check()
        tested.append(label)
    assert len(tested) >= 40

"""Bad input gets a coded JSON error with the status of the one table, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from joignable.core.errors import HTTP_STATUS

from .conftest import Org

CASES: list[tuple[str, str, Any, int, str]] = [
    # framework validation: the same shape, code invalid_input
    ("POST", "/api/contacts", {"queue": 3}, 422, "invalid_input"),
    ("POST", "/api/contacts", {"queue": "billing", "extra": 1}, 422, "invalid_input"),
    ("POST", "/api/contacts", {"queue": "billing", "channel": "fax"}, 422, "invalid_input"),
    ("POST", "/api/contacts", b"{not json", 422, "invalid_input"),
    ("POST", "/api/contacts", [], 422, "invalid_input"),
    ("GET", "/api/stats/intervals?start=yesterday", None, 422, "invalid_input"),
    ("GET", "/api/audit-log?limit=0", None, 422, "invalid_input"),
    ("POST", "/api/tokens", {"name": "", "scopes": ["stats:read"]}, 422, "invalid_input"),
    # msgspec bodies
    ("POST", "/api/queues", {"id": 7}, 422, "invalid_input"),
    ("POST", "/api/queues", b"", 422, "invalid_input"),
    ("POST", "/api/agents", {"id": "a9", "capacity": {"fax": 1}}, 422, "invalid_input"),
    ("PUT", "/api/settings", {"offer_timeout": "soon"}, 422, "invalid_input"),
    # the engine's own checks, with their stable codes
    ("POST", "/api/contacts", {"queue": "nowhere"}, 404, "unknown_queue"),
    ("POST", "/api/contacts", {"queue": "billing", "priority": 10**9}, 422, "invalid_input"),
    ("POST", "/api/contacts", {"queue": "billing", "skills": {"magic": 3}}, 422, "unknown_skill"),
    ("POST", "/api/contacts", {"queue": "billing", "channel": "callback"}, 422, "invalid_input"),
    ("POST", "/api/queues", {"id": "q", "sl_target": 3.0}, 422, "invalid_input"),
    ("POST", "/api/queues", {"id": "bad id!"}, 422, "invalid_input"),
    ("POST", "/api/agents", {"id": "a9", "capacity": {"voice": -1}}, 422, "invalid_capacity"),
    ("POST", "/api/callbacks", {"queue": "billing", "number": "call me"}, 422, "invalid_input"),
    (
        "POST",
        "/api/callbacks",
        {"queue": "billing", "number": "+3312345", "due": 5},
        422,
        "invalid_time",
    ),
    ("POST", "/api/contacts/c404/cancel", None, 404, "unknown_contact"),
    ("PUT", "/api/agents/nobody/presence", {"presence": "away"}, 404, "unknown_agent"),
    ("POST", "/api/agents/a01/contacts/c1/transfer", {}, 404, "unknown_contact"),
    ("POST", "/api/agents/a01/wrapups/c1", {"disposition": "x" * 65}, 422, "invalid_input"),
    ("GET", "/api/queues/nowhere", None, 404, "unknown_queue"),
    ("PATCH", "/api/users/ghost", {"name": "x"}, 404, "unknown_user"),
    ("DELETE", "/api/wrapup-codes/none", None, 404, "not_found"),
    # the HTTP layer
    ("GET", "/api/nothing-here", None, 404, "not_found"),
    ("DELETE", "/api/queues", None, 405, "method_not_allowed"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), CASES)
def test_bad_input_gets_a_coded_error(
    org: Org, method: str, path: str, body: Any, status: int, code: str
) -> None:
    kwargs: dict[str, Any] = {"content": body} if isinstance(body, bytes) else {"json": body}
    if isinstance(body, bytes):
        kwargs["headers"] = {"Content-Type": "application/json"}
    r = org.admin.request(method, path, **kwargs)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    if code in HTTP_STATUS:
        assert HTTP_STATUS[code] == status  # the one table decides


def test_a_refused_command_changed_nothing(org: Org) -> None:
    before = org.services.center.read(lambda e: len(e.state.queues))
    r = org.admin.post("/api/queues", json={"id": "q2", "widening": [{"after": -1}]})
    assert r.status_code == 422
    assert org.services.center.read(lambda e: len(e.state.queues)) == before
    assert org.admin.get("/api/queues/q2").status_code == 404

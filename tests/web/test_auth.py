"""Sessions and CSRF, API tokens and their scopes, password hashes, the admin audit log."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from joignable.web.accounts import Role

from .conftest import Org, login, with_token


def _db(org: Org) -> sqlite3.Connection:
    return sqlite3.connect(org.services.db_path)


def test_a_session_needs_its_csrf_token_to_change_anything(org: Org) -> None:
    sup = org.clients[Role.SUPERVISOR]
    token = sup.headers.pop("X-CSRF-Token")
    assert sup.get("/api/agents/a02/work").status_code == 200  # reading needs none
    r = sup.put("/api/agents/a02/presence", json={"presence": "available"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    r = sup.put(
        "/api/agents/a02/presence", json={"presence": "available"}, headers={"X-CSRF-Token": "x"}
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    assert sup.get("/api/agents/a02").json()["presence"] == "offline"  # nothing changed
    r = sup.put(
        "/api/agents/a02/presence", json={"presence": "available"}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 200
    # another session's token does not do either
    other = login(org.app, "supervisor", org.logins[Role.SUPERVISOR].password)
    r = sup.put(
        "/api/agents/a02/presence",
        json={"presence": "away"},
        headers={"X-CSRF-Token": other.headers["X-CSRF-Token"]},
    )
    assert r.status_code == 403


def test_session_cookie_is_httponly_and_logout_ends_it(org: Org) -> None:
    client = TestClient(org.app)
    x = org.logins[Role.AGENT]
    r = client.post("/api/session", json={"username": x.username, "password": x.password})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
    assert client.get("/api/me").json()["agent_id"] == "a01"
    sid = client.cookies["joignable_session"]
    assert client.delete("/api/session", headers=csrf).status_code == 200
    replay = TestClient(org.app, cookies={"joignable_session": sid})
    assert replay.get("/api/me").status_code == 401


def test_wrong_passwords_are_refused_and_recorded(org: Org) -> None:
    client = TestClient(org.app)
    r = client.post("/api/session", json={"username": "admin", "password": "guess"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    r = client.post("/api/session", json={"username": "ghost", "password": "guess"})
    assert r.status_code == 401
    failed = [e for e in org.admin.get("/api/audit-log").json() if e["action"] == "login.failed"]
    assert [e["actor"] for e in failed] == ["admin", "ghost"]
    assert all("guess" not in str(e) for e in failed)


def test_passwords_are_stored_as_argon2_hashes_only(org: Org) -> None:
    rows = dict(_db(org).execute("SELECT username, password_hash FROM users").fetchall())
    assert set(rows) == {"admin", "supervisor", "a01", "expert"}
    for x in org.logins.values():
        assert rows[x.username].startswith("$argon2id$")
        assert x.password not in rows[x.username]
    data = Path(org.services.db_path).read_bytes()
    assert all(x.password.encode() not in data for x in org.logins.values())


def test_a_token_is_shown_once_hashed_at_rest_and_scoped(org: Org) -> None:
    secret, token = org.token("contacts:write", name="chat channel")
    assert secret.startswith("jgn_")
    listed = org.admin.get("/api/tokens").json()
    assert [t["id"] for t in listed] == [token["id"]]
    assert "secret" not in listed[0] and secret not in str(listed)
    stored = _db(org).execute("SELECT secret_hash FROM api_tokens").fetchone()[0]
    assert stored == hashlib.sha256(secret.encode()).hexdigest()

    chat = with_token(org.app, secret)
    assert chat.post("/api/contacts", json={"queue": "billing"}).status_code == 201
    assert chat.get("/api/me").json()["name"] == f"token:{token['id']}"
    r = chat.get("/api/stats/live")
    assert r.status_code == 403 and r.json()["error"]["needs"] == "stats:read"
    assert chat.get("/api/contacts/c1").status_code == 403  # contacts:read not granted
    assert chat.put("/api/agents/a01/presence", json={"presence": "away"}).status_code == 403

    assert org.admin.delete(f"/api/tokens/{token['id']}").json()["revoked_at"] is not None
    r = chat.post("/api/contacts", json={"queue": "billing"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize(
    "scopes", [["users:manage"], ["tokens:manage"], ["agent:self"], ["root"], []]
)
def test_a_token_cannot_manage_people_or_tokens(org: Org, scopes: list[str]) -> None:
    r = org.admin.post("/api/tokens", json={"name": "x", "scopes": scopes})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"


def test_bad_authorization_headers_are_refused(org: Org) -> None:
    for header in ("Bearer", "Basic YWRtaW46YWRtaW4=", "Bearer jgn_not_a_token"):
        r = TestClient(org.app).get("/api/me", headers={"Authorization": header})
        assert r.status_code == 401, header
        assert r.headers["www-authenticate"] == "Bearer"


def test_deactivating_a_user_ends_its_sessions(org: Org) -> None:
    agent = org.clients[Role.AGENT]
    assert agent.get("/api/me").status_code == 200
    r = org.admin.patch("/api/users/a01", json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert agent.get("/api/me").status_code == 401
    x = org.logins[Role.AGENT]
    r = TestClient(org.app).post(
        "/api/session", json={"username": x.username, "password": x.password}
    )
    assert r.status_code == 401
    r = org.admin.patch("/api/users/admin", json={"active": False})
    assert r.status_code == 422  # an admin cannot lock themselves out


def test_a_new_user_logs_in_with_its_role(org: Org) -> None:
    r = org.admin.post(
        "/api/users",
        json={"username": "lea", "password": "a long passphrase", "role": "supervisor"},
    )
    assert r.status_code == 201 and "password" not in r.text
    lea = login(org.app, "lea", "a long passphrase")
    assert lea.get("/api/stats/live").status_code == 200
    assert lea.get("/api/users").status_code == 403
    r = org.admin.post(
        "/api/users", json={"username": "lea", "password": "another one!", "role": "agent"}
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_exists"


def test_administrative_actions_are_in_an_append_only_audit_log(org: Org) -> None:
    admin = org.admin
    admin.post("/api/skills", json={"id": "vip", "name": "VIP"})
    admin.post("/api/queues", json={"id": "vip", "requirements": {"vip": 2}})
    admin.put("/api/wrapup-codes/upsell", json={"label": "Upsell"})
    _, token = org.token("stats:read")
    admin.patch("/api/users/expert", json={"password": "a brand new secret"})

    entries = org.clients[Role.SUPERVISOR].get("/api/audit-log").json()
    mine = [(e["action"], e["target"]) for e in entries if e["actor"] == "admin"]
    assert mine[1:] == [  # after the admin's login
        ("skill.define", "vip"),
        ("queue.configure", "vip"),
        ("wrapup_code.put", "upsell"),
        ("token.create", token["id"]),
        ("user.update", "expert"),
    ]
    assert entries[-1]["detail"] == {"password": "changed"}
    assert "a brand new secret" not in str(entries)
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids)
    page = admin.get("/api/audit-log", params={"after": ids[-3], "limit": 2}).json()
    assert [e["id"] for e in page] == ids[-2:]
    assert org.clients[Role.AGENT].get("/api/audit-log").status_code == 403

    db = _db(org)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE admin_audit SET actor = 'someone else'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM admin_audit")


def test_a_tokens_last_use_is_kept_to_the_minute(org: Org) -> None:
    """Each call with a token does not write its last use (a durable write per API call): at
    most once a minute, and the first use always."""
    from joignable.web.accounts import LAST_USE_PRECISION

    accounts = org.services.accounts
    now = [2_000_000.0]
    accounts.clock = lambda: now[0]
    secret, info = org.token("stats:read")
    client = TestClient(org.app)
    headers = {"Authorization": f"Bearer {secret}"}

    def last_use() -> float | None:
        return next(t.last_used_at for t in accounts.tokens() if t.id == info["id"])

    assert last_use() is None
    assert client.get("/api/stats/live", headers=headers).status_code == 200
    assert last_use() == 2_000_000.0
    now[0] += LAST_USE_PRECISION - 1
    assert client.get("/api/stats/live", headers=headers).status_code == 200
    assert last_use() == 2_000_000.0  # not written again within the minute
    now[0] += 1
    assert client.get("/api/stats/live", headers=headers).status_code == 200
    assert last_use() == 2_000_000.0 + LAST_USE_PRECISION


def test_a_token_is_looked_up_in_the_table_once_then_in_memory(org: Org) -> None:
    """Each API call must not cost a query on the event loop; revoking still takes effect at
    the next call."""
    secret, info = org.token("stats:read")
    lookups: list[str] = []
    org.services.accounts.db.set_trace_callback(
        lambda sql: lookups.append(sql) if "FROM api_tokens WHERE secret_hash" in sql else None
    )
    client = with_token(org.app, secret)
    for _ in range(3):
        assert client.get("/api/stats/live").status_code == 200
    assert len(lookups) == 1
    assert org.admin.delete(f"/api/tokens/{info['id']}").status_code == 200
    r = client.get("/api/stats/live")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"


def test_a_token_revoked_while_it_is_looked_up_is_not_kept(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lookup read the token live, a revocation landed before it was kept in memory: that
    call may pass (it was valid when read), the next must not."""
    accounts = org.services.accounts
    secret, info = org.token("stats:read")
    query = accounts._query

    def query_then_revoke(sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        rows = query(sql, args)
        if "secret_hash" in sql:
            monkeypatch.setattr(accounts, "_query", query)
            accounts.revoke_token(info["id"])
        return rows

    monkeypatch.setattr(accounts, "_query", query_then_revoke)
    assert accounts.token_for_secret(secret) is not None
    assert accounts.token_for_secret(secret) is None


def test_the_spec_says_which_routes_take_a_token_or_a_session(org: Org) -> None:
    """The schemes are published by the app (not solved as dependencies at every request):
    each route that authenticates lists both, the public and chat-token routes neither."""
    from joignable.web.app import PUBLIC

    spec = TestClient(org.app).get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "an API token (jgn_...)",
    }
    assert schemes["APIKeyCookie"]["in"] == "cookie"
    assert schemes["APIKeyCookie"]["name"] == "joignable_session"
    both = [{"HTTPBearer": []}, {"APIKeyCookie": []}]
    ops = {(m.upper(), p): op for p, item in spec["paths"].items() for m, op in item.items()}
    assert ops[("POST", "/api/contacts")]["security"] == both
    assert ops[("POST", "/api/agents/{agent_id}/offers/{contact_id}/accept")]["security"] == both
    assert ops[("GET", "/api/kb/contacts/{contact_id}")]["security"] == both
    for key in PUBLIC & ops.keys():
        assert all("HTTPBearer" not in s for s in ops[key].get("security", [])), key
    assert sum(op.get("security") == both for op in ops.values()) >= 80

"""Failed logins slow, then refuse, further tries per username and per client address (429
login_throttled with Retry-After), in the audit log; an attacker cannot lock a real user out
from the address it logs in from, nor for longer than the cap."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from joignable.web.accounts import LoginThrottle, LoginThrottled, Role

from .conftest import Org


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _from(org: Org, address: str) -> TestClient:
    return TestClient(org.app, client=(address, 40000))


def _try(client: TestClient, username: str, password: str) -> Any:
    return client.post("/api/session", json={"username": username, "password": password})


def test_failures_per_username_slow_then_refuse_with_retry_after(org: Org) -> None:
    clock = Clock()
    org.services.accounts.throttle.clock = clock
    attacker = _from(org, "203.0.113.7")
    for _ in range(6):  # five free, the sixth locks for a second
        assert _try(attacker, "supervisor", "guess").status_code == 401
    r = _try(attacker, "supervisor", "guess")
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "login_throttled"
    assert r.headers["Retry-After"] == "1" and r.json()["error"]["retry_after"] == 1
    # the right password changes nothing while the lock holds (it is not even checked)
    password = org.logins[Role.SUPERVISOR].password
    assert _try(attacker, "supervisor", password).status_code == 429
    # from another address too: the username is locked
    assert _try(_from(org, "198.51.100.9"), "supervisor", "guess").status_code == 429
    clock.now += 1
    assert _try(attacker, "supervisor", "guess").status_code == 401  # then 2 s
    r = _try(attacker, "supervisor", "guess")
    assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    clock.now += 2
    assert _try(attacker, "supervisor", password).status_code == 200
    locks = [e for e in org.admin.get("/api/audit-log").json() if e["action"] == "login.throttled"]
    assert [(e["target"], e["detail"]["seconds"]) for e in locks] == [
        ("user:supervisor", 1.0),
        ("user:supervisor", 2.0),
    ]


def test_a_real_user_is_not_locked_out_from_where_it_logs_in(org: Org) -> None:
    clock = Clock()
    org.services.accounts.throttle.clock = clock
    home = _from(org, "192.0.2.10")
    password = org.logins[Role.AGENT].password
    username = org.logins[Role.AGENT].username
    assert _try(home, username, password).status_code == 200
    attacker = _from(org, "203.0.113.7")
    for _ in range(40):
        assert _try(attacker, username, "guess").status_code in (401, 429)
    assert _try(attacker, username, password).status_code == 429
    assert _try(home, username, password).status_code == 200  # still gets in from home


def test_failures_per_address_refuse_any_username(org: Org) -> None:
    clock = Clock()
    org.services.accounts.throttle.clock = clock
    spray = _from(org, "203.0.113.99")
    for i in range(20):  # a different username each time: only the address adds up
        assert _try(spray, f"user{i}", "guess").status_code == 401
    assert _try(spray, "user20", "guess").status_code == 401  # the 21st locks the address
    r = _try(spray, "admin", org.logins[Role.ADMIN].password)
    assert r.status_code == 429 and r.json()["error"]["code"] == "login_throttled"
    assert _try(_from(org, "198.51.100.1"), "user0", "guess").status_code == 401
    entries = org.admin.get("/api/audit-log").json()
    assert any(e["target"] == "address:203.0.113.99" for e in entries)


def test_a_lock_never_outlasts_the_cap_once_tries_stop(org: Org) -> None:
    clock = Clock()
    throttle = org.services.accounts.throttle
    throttle.clock = clock
    attacker = _from(org, "203.0.113.7")
    for _ in range(200):
        r = _try(attacker, "expert", "guess")
        if r.status_code == 429:
            clock.now += int(r.headers["Retry-After"])
    clock.now += throttle.max_lock
    password = org.logins[Role.KNOWLEDGE_EXPERT].password
    assert _try(_from(org, "198.51.100.1"), "expert", password).status_code == 200


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["alice", "bob", "Alice "]),
            st.sampled_from(["10.0.0.1", "10.0.0.2"]),
            st.booleans(),  # the right password?
            st.floats(0, 400),  # seconds before this try
        ),
        max_size=80,
    )
)
def test_no_lock_is_longer_than_the_cap_and_none_outlives_the_window(
    steps: list[tuple[str, str, bool, float]],
) -> None:
    clock = Clock()
    throttle = LoginThrottle(clock, user_free=3, address_free=5, max_lock=60.0)
    for username, address, right, wait in steps:
        clock.now += wait
        try:
            throttle.check(username, address)
        except LoginThrottled as exc:
            assert 0 < int(str(exc.details["retry_after"])) <= 60
            continue
        if right:
            throttle.succeeded(username, address)
        else:
            for lock in throttle.failed(username, address):
                assert 0 < lock.seconds <= 60
    clock.now += throttle.WINDOW + 60
    for username in ("alice", "bob"):
        for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
            throttle.check(username, address)  # nothing holds any more

"""The web API over a real SQLite ledger in tmp_path, seeded with the demo organisation.

``Client`` is a logged-in TestClient (a session cookie, CSRF header set) or one that calls with
an API token; ``Org`` holds the app, its services and one client per role.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from joignable.bootstrap import Login, open_services, seed_demo
from joignable.web.accounts import Role
from joignable.web.services import Services

with warnings.catch_warnings():  # starlette points at httpx's successor; httpx still works
    warnings.filterwarnings("ignore", message="Using `httpx` with")
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

from joignable.web.app import create_app


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("filterwarnings", "ignore:Using `httpx` with")


def login(app: FastAPI, username: str, password: str) -> TestClient:
    client = TestClient(app)
    r = client.post("/api/session", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return client


def with_token(app: FastAPI, secret: str) -> TestClient:
    return TestClient(app, headers={"Authorization": f"Bearer {secret}"})


@dataclass
class Org:
    app: FastAPI
    services: Services
    logins: dict[Role, Login]
    clients: dict[Role, TestClient] = field(default_factory=dict)

    @property
    def admin(self) -> TestClient:
        return self.clients[Role.ADMIN]

    def token(self, *scopes: str, name: str = "integration") -> tuple[str, dict[str, Any]]:
        r = self.admin.post("/api/tokens", json={"name": name, "scopes": list(scopes)})
        assert r.status_code == 201, r.text
        body = r.json()
        return body.pop("secret"), body

    def channel(self) -> TestClient:
        """An integration that creates contacts (a chat channel, say)."""
        secret, _ = self.token("contacts:write", "contacts:read", name="channel")
        return with_token(self.app, secret)


def open_org(db: Path) -> tuple[Services, list[Login]]:
    # argon2 at its cheapest: the tests check hashing happens, not what it costs
    services = open_services(str(db), tick_every=0, hasher=PasswordHasher.from_parameters(CHEAPEST))
    return services, seed_demo(services)


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    services, logins = open_org(tmp_path / "center.db")
    app = create_app(services)
    by_role = {x.role: x for x in logins}
    o = Org(app, services, by_role)
    try:
        with TestClient(app):  # runs the lifespan
            for role, x in by_role.items():
                o.clients[role] = login(app, x.username, x.password)
            yield o
    finally:
        services.close()

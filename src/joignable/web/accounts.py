"""People, integrations and what administrators did: users, API tokens, login sessions, wrap-up
codes and the administrative audit log, in SQLite tables beside the ledger's.

None of this is routing state, so none of it goes through the event log. Passwords are hashed
with argon2id; API tokens and session ids are long random secrets, so a SHA-256 of them is what
is stored (a fast hash is enough when the secret cannot be guessed, and it lets a request be
checked with one indexed lookup). The audit log refuses UPDATE and DELETE in the database itself.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from joignable.core.errors import AlreadyExists, DomainError, InvalidInput, NotFound

SESSION_SECONDS = 12 * 3600.0
TOKEN_PREFIX = "jgn_"


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    KNOWLEDGE_EXPERT = "knowledge_expert"


class UnknownUser(NotFound):
    code = "unknown_user"


class UnknownToken(NotFound):
    code = "unknown_token"


class LoginThrottled(DomainError):
    code = "login_throttled"
    status = 429


class User(msgspec.Struct, kw_only=True):
    username: str
    role: Role
    name: str = ""
    agent_id: str | None = None  # the agent this person works as (role agent)
    active: bool = True
    created_at: float = 0.0


class Token(msgspec.Struct, kw_only=True):
    id: str
    name: str
    scopes: list[str]
    created_at: float
    created_by: str
    revoked_at: float | None = None
    last_used_at: float | None = None


class Session(msgspec.Struct, kw_only=True):
    user: User
    csrf: str
    expires_at: float


class AuditEntry(msgspec.Struct, kw_only=True):
    id: int
    at: float
    actor: str
    action: str
    target: str
    detail: dict[str, Any]


class WrapupCode(msgspec.Struct, kw_only=True):
    code: str
    label: str = ""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
  username TEXT PRIMARY KEY, role TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',
  agent_id TEXT, password_hash TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1,
  created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS api_tokens (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, scopes TEXT NOT NULL, secret_hash TEXT UNIQUE NOT NULL,
  created_at REAL NOT NULL, created_by TEXT NOT NULL, revoked_at REAL, last_used_at REAL);
CREATE TABLE IF NOT EXISTS sessions (
  id_hash TEXT PRIMARY KEY, username TEXT NOT NULL, csrf TEXT NOT NULL,
  created_at REAL NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS wrapup_codes (code TEXT PRIMARY KEY, label TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS admin_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, actor TEXT NOT NULL,
  action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS admin_audit_no_update BEFORE UPDATE ON admin_audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS admin_audit_no_delete BEFORE DELETE ON admin_audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


@dataclass
class _Strikes:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


@dataclass(frozen=True)
class Lock:
    scope: str  # user | address
    key: str
    seconds: float
    failures: int


class LoginThrottle:
    """Failed logins slow, then stop, further tries, per username and per client address.

    Within ``WINDOW`` the first ``free`` failures cost nothing; each one after locks the key for
    1, 2, 4... seconds, up to ``max_lock``. While locked, a try is refused (429) before any
    password is checked, so it neither counts nor costs an argon2 hash. Failures older than the
    window are forgotten, so a lock never outlasts ``max_lock`` once the tries stop.

    An attacker could lock a real user out by failing on purpose; so an address that logged in
    as that user recently (``TRUST``) is not held by the username's lock, only by its own
    address's. Kept in memory: a restart forgets it, which an attacker cannot cause.
    """

    WINDOW = 900.0
    TRUST = 30 * 86400.0
    MAX_KEYS = 50_000  # beyond, quiet keys are dropped

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        user_free: int = 5,
        address_free: int = 20,  # an office behind one NAT shares an address
        max_lock: float = 900.0,
    ) -> None:
        self.clock = clock
        self.free = {"user": user_free, "address": address_free}
        self.max_lock = max_lock
        self.strikes: dict[tuple[str, str], _Strikes] = {}
        self.trusted: dict[tuple[str, str], float] = {}  # (username, address) -> until
        self.lock = threading.Lock()

    def _keys(self, username: str, address: str) -> list[tuple[str, str]]:
        return [("user", username.strip().lower()), ("address", address)]

    def check(self, username: str, address: str) -> None:
        """Refuse (``LoginThrottled``, with ``retry_after``) while a lock holds."""
        now = self.clock()
        with self.lock:
            trusted = self.trusted.get((username.strip().lower(), address), 0.0) > now
            wait = 0.0
            for key in self._keys(username, address):
                if key[0] == "user" and trusted:
                    continue
                found = self.strikes.get(key)
                if found is not None and found.locked_until > now:
                    wait = max(wait, found.locked_until - now)
        if wait > 0:
            raise LoginThrottled(
                "too many failed logins: try again later", retry_after=math.ceil(wait)
            )

    def failed(self, username: str, address: str) -> list[Lock]:
        """Count a failure; return the locks it started (for the audit log)."""
        now = self.clock()
        locks = []
        with self.lock:
            if len(self.strikes) > self.MAX_KEYS:
                self._forget(now)
            for scope, key in self._keys(username, address):
                found = self.strikes.setdefault((scope, key), _Strikes())
                found.failures.append(now)
                while found.failures and found.failures[0] <= now - self.WINDOW:
                    found.failures.popleft()
                over = len(found.failures) - self.free[scope]
                if over > 0:
                    seconds = min(self.max_lock, 2.0 ** (over - 1))
                    found.locked_until = now + seconds
                    locks.append(Lock(scope, key, seconds, len(found.failures)))
        return locks

    def succeeded(self, username: str, address: str) -> None:
        """The username's failures are forgotten and this address is trusted for it (the
        address's own failures stay: a valid account must not wash an attacker's address)."""
        name = username.strip().lower()
        with self.lock:
            self.strikes.pop(("user", name), None)
            self.trusted[(name, address)] = self.clock() + self.TRUST
            if len(self.trusted) > self.MAX_KEYS:
                now = self.clock()
                self.trusted = {k: t for k, t in self.trusted.items() if t > now}

    def _forget(self, now: float) -> None:
        self.strikes = {
            k: s
            for k, s in self.strikes.items()
            if s.locked_until > now or (s.failures and s.failures[-1] > now - self.WINDOW)
        }


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _user(row: tuple[Any, ...]) -> User:
    username, role, name, agent_id, active, created_at = row
    return User(
        username=username,
        role=Role(role),
        name=name,
        agent_id=agent_id,
        active=bool(active),
        created_at=created_at,
    )


_USER_COLUMNS = "username, role, name, agent_id, active, created_at"
_TOKEN_COLUMNS = "id, name, scopes, created_at, created_by, revoked_at, last_used_at"
LAST_USE_PRECISION = 60.0  # seconds: a token's last use is recorded at most once a minute
MAX_CACHED_TOKENS = 10_000  # live tokens kept in memory (beyond, forgotten and found again)


def _token(row: tuple[Any, ...]) -> Token:
    tid, name, scopes, created_at, created_by, revoked_at, last_used_at = row
    return Token(
        id=tid,
        name=name,
        scopes=json.loads(scopes),
        created_at=created_at,
        created_by=created_by,
        revoked_at=revoked_at,
        last_used_at=last_used_at,
    )


class Accounts:
    """One connection, used under a lock: every call is a short indexed query (hashing a
    password is not done under the lock)."""

    def __init__(
        self,
        path: str,
        clock: Callable[[], float] = time.time,
        hasher: PasswordHasher | None = None,  # tests pass a cheap one; the default is argon2id
    ) -> None:
        self.clock = clock
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.executescript(_SCHEMA)
        self.lock = threading.Lock()
        self.hasher = hasher if hasher is not None else PasswordHasher()
        # Verified against when the user does not exist, so a login takes as long either way.
        self._decoy = self.hasher.hash(secrets.token_urlsafe(16))
        self.throttle = LoginThrottle(clock)
        self._live_tokens: dict[str, Token] = {}  # by the secret's digest (token_for_secret)
        self._tokens_lock = threading.Lock()
        self._tokens_epoch = 0  # counts revocations

    def close(self) -> None:
        self.db.close()

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.db.execute(sql, args).fetchall()

    def _write(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        with self.lock:
            return self.db.execute(sql, args).rowcount

    # -- users -------------------------------------------------------------------------------

    def user_count(self) -> int:
        return int(self._query("SELECT count(*) FROM users")[0][0])

    def users(self) -> list[User]:
        return [_user(r) for r in self._query(f"SELECT {_USER_COLUMNS} FROM users ORDER BY 1")]

    def user(self, username: str) -> User:
        rows = self._query(f"SELECT {_USER_COLUMNS} FROM users WHERE username = ?", (username,))
        if not rows:
            raise UnknownUser(f"no user {username!r}", user=username)
        return _user(rows[0])

    def create_user(
        self, username: str, password: str, role: Role, name: str = "", agent_id: str | None = None
    ) -> User:
        digest = self.hasher.hash(password)
        try:
            self._write(
                "INSERT INTO users (username, role, name, agent_id, password_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (username, role.value, name, agent_id, digest, self.clock()),
            )
        except sqlite3.IntegrityError:
            raise AlreadyExists(f"user {username!r} exists", user=username) from None
        return self.user(username)

    def update_user(
        self,
        username: str,
        *,
        role: Role | None = None,
        name: str | None = None,
        agent_id: str | None = None,
        active: bool | None = None,
        password: str | None = None,
    ) -> User:
        self.user(username)  # raises UnknownUser
        changes: dict[str, Any] = {}
        if role is not None:
            changes["role"] = role.value
        if name is not None:
            changes["name"] = name
        if agent_id is not None:
            changes["agent_id"] = agent_id or None  # "" unlinks
        if active is not None:
            changes["active"] = int(active)
        if password is not None:
            changes["password_hash"] = self.hasher.hash(password)
        if changes:
            sets = ", ".join(f"{k} = ?" for k in changes)
            self._write(
                f"UPDATE users SET {sets} WHERE username = ?", (*changes.values(), username)
            )
        if active is False or password is not None:
            self._write("DELETE FROM sessions WHERE username = ?", (username,))
        return self.user(username)

    def check_password(self, username: str, password: str) -> User | None:
        rows = self._query(
            f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE username = ?", (username,)
        )
        digest = rows[0][-1] if rows else self._decoy
        try:
            self.hasher.verify(digest, password)
        except (VerificationError, InvalidHashError):
            return None
        if not rows or not rows[0][4]:
            return None
        return _user(rows[0][:-1])

    # -- sessions ----------------------------------------------------------------------------

    def open_session(self, user: User) -> tuple[str, str]:
        """A new session for ``user``: its id (for the cookie) and its CSRF token."""
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock()
        with self.lock:
            self.db.execute("DELETE FROM sessions WHERE expires_at < ?", (now,))
            self.db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                (_digest(sid), user.username, csrf, now, now + SESSION_SECONDS),
            )
        return sid, csrf

    def session(self, sid: str) -> Session | None:
        rows = self._query(
            f"SELECT {', '.join('u.' + c for c in _USER_COLUMNS.split(', '))}, s.csrf,"
            " s.expires_at FROM sessions s JOIN users u ON u.username = s.username"
            " WHERE s.id_hash = ? AND s.expires_at >= ? AND u.active = 1",
            (_digest(sid), self.clock()),
        )
        if not rows:
            return None
        *user, csrf, expires_at = rows[0]
        return Session(user=_user(tuple(user)), csrf=csrf, expires_at=expires_at)

    def close_session(self, sid: str) -> None:
        self._write("DELETE FROM sessions WHERE id_hash = ?", (_digest(sid),))

    # -- API tokens --------------------------------------------------------------------------

    def create_token(self, name: str, scopes: list[str], created_by: str) -> tuple[Token, str]:
        """A new token and its secret: the secret is shown once and only its hash is kept."""
        tid = "t" + secrets.token_hex(6)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self._write(
            "INSERT INTO api_tokens (id, name, scopes, secret_hash, created_at, created_by)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (tid, name, json.dumps(sorted(set(scopes))), _digest(secret), self.clock(), created_by),
        )
        return self.token(tid), secret

    def tokens(self) -> list[Token]:
        return [_token(r) for r in self._query(f"SELECT {_TOKEN_COLUMNS} FROM api_tokens")]

    def token(self, tid: str) -> Token:
        rows = self._query(f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE id = ?", (tid,))
        if not rows:
            raise UnknownToken(f"no token {tid!r}", token=tid)
        return _token(rows[0])

    def revoke_token(self, tid: str) -> Token:
        self.token(tid)
        self._write(
            "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            (self.clock(), tid),
        )
        with self._tokens_lock:  # rare: the next calls find the live ones in the table again
            self._tokens_epoch += 1
            self._live_tokens.clear()
        return self.token(tid)

    def token_for_secret(self, secret: str) -> Token | None:
        """The live token whose secret this is. Found once in the table, then in memory: an
        integration calls many times a second, and each query took the event loop's time
        (revoking goes through ``revoke_token``, which forgets them all)."""
        digest = _digest(secret)
        token = self._live_tokens.get(digest)
        if token is None:
            epoch = self._tokens_epoch
            rows = self._query(
                f"SELECT {_TOKEN_COLUMNS} FROM api_tokens"
                " WHERE secret_hash = ? AND revoked_at IS NULL",
                (digest,),
            )
            if not rows:
                return None
            token = _token(rows[0])
            with self._tokens_lock:  # not if a revocation came in since the query
                if epoch == self._tokens_epoch:
                    if len(self._live_tokens) >= MAX_CACHED_TOKENS:
                        self._live_tokens.clear()
                    self._live_tokens[digest] = token
        # The last use is kept to the minute: writing it at every request cost a durable write
        # (an fsync) per API call, and an integration makes many a second.
        now = self.clock()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USE_PRECISION:
            self._write("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (now, token.id))
            token.last_used_at = now
        return token

    # -- wrap-up codes -----------------------------------------------------------------------

    def wrapup_codes(self) -> list[WrapupCode]:
        rows = self._query("SELECT code, label FROM wrapup_codes ORDER BY code")
        return [WrapupCode(code=c, label=label) for c, label in rows]

    def put_wrapup_code(self, code: str, label: str) -> WrapupCode:
        self._write("INSERT OR REPLACE INTO wrapup_codes VALUES (?, ?)", (code, label))
        return WrapupCode(code=code, label=label)

    def delete_wrapup_code(self, code: str) -> None:
        if not self._write("DELETE FROM wrapup_codes WHERE code = ?", (code,)):
            raise NotFound(f"no wrap-up code {code!r}", code_id=code)

    def check_disposition(self, disposition: str) -> None:
        """With codes defined, a disposition must be one of them (or none given)."""
        if not disposition:
            return
        codes = {c.code for c in self.wrapup_codes()}
        if codes and disposition not in codes:
            raise InvalidInput(
                f"disposition {disposition!r} is not a wrap-up code ({', '.join(sorted(codes))})"
            )

    # -- the administrative audit ------------------------------------------------------------

    def record(self, actor: str, action: str, target: str, **detail: Any) -> None:
        self._write(
            "INSERT INTO admin_audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
            (self.clock(), actor, action, target, json.dumps(detail, sort_keys=True)),
        )

    def audit_log(self, after: int = 0, limit: int = 100) -> list[AuditEntry]:
        rows = self._query(
            "SELECT id, at, actor, action, target, detail FROM admin_audit WHERE id > ?"
            " ORDER BY id LIMIT ?",
            (after, limit),
        )
        return [
            AuditEntry(id=i, at=at, actor=actor, action=action, target=target, detail=json.loads(d))
            for i, at, actor, action, target, d in rows
        ]

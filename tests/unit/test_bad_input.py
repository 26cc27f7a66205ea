"""Bad input to every command: a refusal with a stable code and a sentence, and nothing changed.

Each refusal is checked the same way: time is let pass first (so that due timers do not blur the
comparison), then the command must raise a ``DomainError`` with the expected ``code`` and a
readable message, leave ``state.snapshot()`` as it was and emit no event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from joignable.core import errors as er
from joignable.core import events as ev
from joignable.core.engine import Engine
from joignable.core.model import (
    AgentConfig,
    Channel,
    OpeningSlot,
    QueueConfig,
    Settings,
    WideningStep,
)
from joignable.core.state import Status
from tests.conftest import Clock

NAN = float("nan")
INF = float("inf")


def refused(engine: Engine, code: str, command: Callable[..., Any], *args: Any, **kw: Any) -> str:
    """Run a command that must be refused; return its message."""
    engine.tick()
    engine.take()
    before = engine.state.snapshot()
    with pytest.raises(er.DomainError) as info:
        command(*args, **kw)
    err = info.value
    assert err.code == code, f"expected {code}, got {err.code}: {err.message}"
    assert isinstance(err.message, str) and len(err.message) >= 10, err.message
    assert err.message == str(err) and "Traceback" not in err.message
    assert err.to_dict()["code"] == code
    assert er.HTTP_STATUS[code] == err.status
    assert engine.take() == [], "a refused command emitted events"
    assert engine.state.snapshot() == before, "a refused command changed the state"
    return err.message


@pytest.fixture
def center(engine: Engine, clock: Clock) -> Engine:
    """ann and bob are available: one talks with `talking`, the other has an offer for `offered`;
    `waiting` waits in tech (cat is offline); `done` was abandoned."""
    engine.set_presence("bob", "available")
    engine.set_presence("ann", "available")
    engine.arrive("billing", contact_id="done")
    engine.abandon("done")
    engine.arrive("billing", contact_id="talking")
    talking_agent = engine.state.contacts["talking"].agent
    assert talking_agent is not None
    engine.accept(talking_agent, "talking")
    engine.arrive("billing", contact_id="offered")
    offered_agent = engine.state.contacts["offered"].agent
    assert {talking_agent, offered_agent} == {"ann", "bob"}
    engine.arrive("tech", contact_id="waiting")
    engine.take()
    return engine


def who(engine: Engine, contact: str) -> str:
    agent = engine.state.contacts[contact].agent
    assert agent is not None
    return agent


# -- unknown things -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command, args",
    [
        ("set_presence", ("ghost", "available")),
        ("disconnect", ("ghost",)),
        ("accept", ("ghost", "offered")),
        ("reject", ("ghost", "offered")),
        ("complete", ("ghost", "talking")),
        ("end_wrapup", ("ghost", "talking")),
        ("callback_not_reached", ("ghost", "talking")),
        ("transfer", ("ghost", "talking", "tech")),
        ("accept", (None, "offered")),
        ("accept", (42, "offered")),
    ],
)
def test_unknown_agent(center: Engine, command: str, args: tuple[Any, ...]) -> None:
    msg = refused(center, "unknown_agent", getattr(center, command), *args)
    assert repr(args[0]) in msg


@pytest.mark.parametrize(
    "command, args",
    [
        ("accept", ("bob", "ghost")),
        ("reject", ("bob", "ghost")),
        ("complete", ("bob", "ghost")),
        ("callback_not_reached", ("bob", "ghost")),
        ("transfer", ("bob", "ghost", "tech")),
        ("request_callback", ("ghost", "+33123456789")),
        ("abandon", ("ghost",)),
        ("deflect", ("ghost", True)),
        ("fail", ("ghost", "lost")),
        ("estimate", ("ghost",)),
        # ids of the wrong type are unknown contacts, not crashes
        ("accept", ("bob", None)),
        ("accept", ("bob", 7)),
        ("accept", ("bob", ["offered"])),
        ("abandon", ({"id": "offered"},)),
    ],
)
def test_unknown_contact(center: Engine, command: str, args: tuple[Any, ...]) -> None:
    refused(center, "unknown_contact", getattr(center, command), *args)


@pytest.mark.parametrize(
    "command, args, kw",
    [
        ("arrive", ("ghost",), {}),
        ("schedule_callback", ("ghost", "+33123456789"), {}),
        ("estimate_queue", ("ghost",), {}),
        ("arrive", (None,), {}),
    ],
)
def test_unknown_queue(
    center: Engine, command: str, args: tuple[Any, ...], kw: dict[str, Any]
) -> None:
    refused(center, "unknown_queue", getattr(center, command), *args, **kw)


def test_transfer_to_unknown_queue_or_agent(center: Engine) -> None:
    agent = who(center, "talking")
    refused(center, "unknown_queue", center.transfer, agent, "talking", queue="ghost")
    refused(center, "unknown_agent", center.transfer, agent, "talking", to_agent="ghost")


def test_overflow_to_unknown_queue(center: Engine) -> None:
    q = QueueConfig(id="sales", widening=[WideningStep(after=30, overflow_to="ghost")])
    refused(center, "unknown_queue", center.configure_queue, q)


def test_unknown_skill(center: Engine) -> None:
    msg = refused(center, "unknown_skill", center.arrive, "billing", skills={"cooking": 3})
    assert "cooking" in msg
    refused(
        center, "unknown_skill", center.configure_queue, QueueConfig(id="x", requirements={"y": 1})
    )
    refused(center, "unknown_skill", center.configure_agent, AgentConfig(id="dan", skills={"y": 1}))
    widen = QueueConfig(id="x", widening=[WideningStep(after=5, also_accept=[{"y": 1}])])
    refused(center, "unknown_skill", center.configure_queue, widen)


def test_operations_on_an_ended_contact(center: Engine) -> None:
    for command, args in [
        (center.accept, ("bob", "done")),
        (center.reject, ("bob", "done")),
        (center.complete, ("bob", "done")),
        (center.abandon, ("done",)),
        (center.deflect, ("done", True)),
        (center.fail, ("done", "again")),
        (center.request_callback, ("done", "+33123456789")),
        (center.estimate, ("done",)),
    ]:
        msg = refused(center, "contact_ended", command, *args)
        assert "abandoned" in msg


# -- offers: accept, reject -----------------------------------------------------------------------


def test_accept_twice_is_idempotent(center: Engine) -> None:
    agent = who(center, "offered")
    assert center.accept(agent, "offered") is True
    center.take()
    before = center.state.snapshot()
    assert center.accept(agent, "offered") is False
    assert center.take() == []
    assert center.state.snapshot() == before


def test_accept_after_timeout(center: Engine, clock: Clock) -> None:
    agent = who(center, "offered")
    config = center.state.agents[agent].config
    center.configure_agent(msgspec.structs.replace(config, max_missed=1))  # away after one miss
    clock.advance(center.state.settings.offer_timeout + 1)
    center.tick()
    offered = center.state.contacts["offered"]
    assert offered.status is Status.WAITING
    assert offered.history[-1][1:] == ("offer_timeout", agent)
    msg = refused(center, "offer_expired", center.accept, agent, "offered")
    assert "expired" in msg
    refused(center, "offer_expired", center.reject, agent, "offered")


def test_accept_the_offer_of_another_agent(center: Engine) -> None:
    other = "ann" if who(center, "offered") == "bob" else "bob"
    msg = refused(center, "no_such_offer", center.accept, other, "offered")
    assert other in msg and "offered" in msg
    refused(center, "no_such_offer", center.reject, other, "offered")
    refused(center, "no_such_offer", center.accept, "cat", "waiting")
    refused(center, "no_such_offer", center.accept, who(center, "offered"), "talking")


# -- agents and configuration -------------------------------------------------------------------


@pytest.mark.parametrize("cap", [-1, 101, 1.5, True, "2", None])
def test_invalid_capacity(center: Engine, cap: Any) -> None:
    agent = AgentConfig(id="dan", skills={"billing": 3}, capacity={Channel.VOICE: cap})
    refused(center, "invalid_capacity", center.configure_agent, agent)


def test_capacity_on_an_unknown_channel(center: Engine) -> None:
    agent = AgentConfig(id="dan", capacity={"fax": 1})  # type: ignore[dict-item]
    assert "fax" in refused(center, "invalid_input", center.configure_agent, agent)


@pytest.mark.parametrize("level", [0, 11, -3, 2.5, True, "5", None])
def test_skill_level_out_of_range(center: Engine, level: Any) -> None:
    refused(
        center,
        "invalid_input",
        center.configure_agent,
        AgentConfig(id="dan", skills={"tech": level}),
    )
    refused(
        center,
        "invalid_input",
        center.configure_queue,
        QueueConfig(id="x", requirements={"tech": level}),
    )
    refused(center, "invalid_input", center.arrive, "tech", skills={"tech": level})


@pytest.mark.parametrize(
    "agent",
    [
        AgentConfig(id="dan", max_missed=0),
        AgentConfig(id="dan", name=7),  # type: ignore[arg-type]
        AgentConfig(id="dan", mixing="yes"),  # type: ignore[arg-type]
        AgentConfig(id="dan", skills=["tech"]),  # type: ignore[arg-type]
    ],
)
def test_invalid_agent(center: Engine, agent: AgentConfig) -> None:
    refused(center, "invalid_input", center.configure_agent, agent)


@pytest.mark.parametrize("bad", ["", "dan smith", "-dan", "d" * 65, "dan/1", None, 12, "dän"])
def test_bad_ids(center: Engine, bad: Any) -> None:
    refused(center, "invalid_input", center.configure_agent, AgentConfig(id=bad))
    refused(center, "invalid_input", center.configure_queue, QueueConfig(id=bad))
    refused(center, "invalid_input", center.define_skill, bad)
    if bad is not None:  # None asks the engine to name the contact
        refused(center, "invalid_input", center.arrive, "billing", contact_id=bad)


def test_contact_id_already_used(center: Engine) -> None:
    refused(center, "already_exists", center.arrive, "billing", contact_id="waiting")
    refused(center, "already_exists", center.arrive, "billing", contact_id="done")


@pytest.mark.parametrize("presence", ["busy", "", None, 1])
def test_unknown_presence(center: Engine, presence: Any) -> None:
    refused(center, "invalid_input", center.set_presence, "bob", presence)


@pytest.mark.parametrize(
    "settings",
    [
        Settings(offer_timeout=0),
        Settings(offer_timeout=-5),
        Settings(offer_timeout=NAN),
        Settings(offer_timeout=INF),
        Settings(wrapup_limit=-1),
        Settings(wrapup_limit=NAN),
        Settings(wrapup_limit=INF),
        Settings(callback_max_attempts=0),
        Settings(callback_retry_delay=-1),
        Settings(callback_retry_delay=NAN),
        Settings(aht_smoothing=0),
        Settings(aht_smoothing=1.5),
        Settings(aht_smoothing=NAN),
        Settings(recover_agents_as="asleep"),  # type: ignore[arg-type]
        Settings(callback_max_attempts=2.5),  # type: ignore[arg-type]
    ],
)
def test_invalid_settings(center: Engine, settings: Settings) -> None:
    refused(center, "invalid_input", center.configure, settings)


@pytest.mark.parametrize(
    "queue",
    [
        QueueConfig(id="x", sl_target=0),
        QueueConfig(id="x", sl_target=1.5),
        QueueConfig(id="x", sl_target=NAN),
        QueueConfig(id="x", sl_threshold=0),
        QueueConfig(id="x", sl_threshold=INF),
        QueueConfig(id="x", max_size=-1),
        QueueConfig(id="x", short_abandon=-1),
        QueueConfig(id="x", default_aht=0),
        QueueConfig(id="x", default_aht=NAN),
        QueueConfig(id="x", callback_offer_after=NAN),
        QueueConfig(id="x", callback_offer_after=-1),
        QueueConfig(id="x", widening=[WideningStep(after=0)]),
        QueueConfig(id="x", widening=[WideningStep(after=NAN)]),
        QueueConfig(id="x", widening=[WideningStep(after=INF)]),
        QueueConfig(id="x", widening=[WideningStep(after=60), WideningStep(after=30)]),
        QueueConfig(id="x", widening=[WideningStep(after=60, lower_levels_by=-1)]),
        QueueConfig(id="x", hours=[]),
        QueueConfig(id="x", hours=[OpeningSlot(days=[7], start="08:00", end="18:00")]),
        QueueConfig(id="x", hours=[OpeningSlot(days=[], start="08:00", end="18:00")]),
        QueueConfig(id="x", hours=[OpeningSlot(days=[0], start="18:00", end="08:00")]),
        QueueConfig(id="x", hours=[OpeningSlot(days=[0], start="8h00", end="18:00")]),
        QueueConfig(id="x", hours=[OpeningSlot(days=[0], start="08:00", end="25:00")]),
        QueueConfig(id="x", timezone="Mars/Olympus_Mons"),
        QueueConfig(id="x", timezone="../../etc/passwd"),
        QueueConfig(id="x", strategy="random"),  # type: ignore[arg-type]
        QueueConfig(id="x", max_size=1.5),  # type: ignore[arg-type]
        QueueConfig(id="x", callbacks_allowed="no"),  # type: ignore[arg-type]
    ],
)
def test_invalid_queue(center: Engine, queue: QueueConfig) -> None:
    refused(center, "invalid_input", center.configure_queue, queue)


def test_accepted_configuration_survives_the_ledger(center: Engine) -> None:
    """What the engine accepts, the ledger can read back (no NaN, no foreign types)."""
    center.configure_agent(AgentConfig(id="dan", capacity={"chat": 2}))  # type: ignore[dict-item]
    center.configure(Settings(offer_timeout=15))
    center.configure_queue(QueueConfig(id="x", widening=[WideningStep(after=30)]))
    center.arrive("x", data={"order": "A-12"})
    for e in center.take():
        assert ev.decode(ev.encode(e)) == e
    assert [type(k) for k in center.state.agents["dan"].config.capacity] == [Channel]
    center.state.snapshot()


# -- customers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("priority", [1001, -1001, 1.5, True, "high", None])
def test_priority_out_of_range(center: Engine, priority: Any) -> None:
    assert "priority" in refused(
        center, "invalid_input", center.arrive, "billing", priority=priority
    )


@pytest.mark.parametrize(
    "kw",
    [
        {"channel": "fax"},
        {"channel": None},
        {"customer": "x" * 201},
        {"customer": 12},
        {"channel": "callback"},  # a callback needs a number
        {"skills": ["tech"]},
        {"data": {"order": 12}},
        {"data": {3: "x"}},
        {"data": "order=12"},
    ],
)
def test_malformed_arrival(center: Engine, kw: dict[str, Any]) -> None:
    refused(center, "invalid_input", center.arrive, "billing", **kw)


@pytest.mark.parametrize("number", ["abc", "", "12", "+", "call me", 33123456789, None, "1" * 40])
def test_bad_phone_numbers(center: Engine, number: Any) -> None:
    refused(center, "invalid_input", center.schedule_callback, "billing", number)
    refused(center, "invalid_input", center.request_callback, "waiting", number)
    if number is not None:
        refused(center, "invalid_input", center.arrive, "billing", callback_number=number)


@pytest.mark.parametrize("due", [NAN, INF, -INF, "tomorrow", "1700000000", [1.0]])
def test_malformed_callback_time(center: Engine, due: Any) -> None:
    refused(center, "invalid_time", center.schedule_callback, "billing", "+33123456789", due)
    refused(center, "invalid_time", center.request_callback, "waiting", "+33123456789", due)


def test_callback_time_in_the_past(center: Engine, clock: Clock) -> None:
    past = clock.now - 3600
    msg = refused(center, "invalid_time", center.schedule_callback, "billing", "+3312345", past)
    assert "past" in msg
    refused(center, "invalid_time", center.request_callback, "waiting", "+3312345", past)


def test_callbacks_on_a_queue_that_takes_none(center: Engine) -> None:
    center.configure_queue(QueueConfig(id="sales", callbacks_allowed=False))
    center.arrive("sales", contact_id="s1")
    for command, args, kw in [
        (center.schedule_callback, ("sales", "+33123456789"), {}),
        (center.request_callback, ("s1", "+33123456789"), {}),
        (center.arrive, ("sales",), {"channel": "callback", "callback_number": "+331234567"}),
    ]:
        assert "sales" in refused(center, "conflict", command, *args, **kw)


def test_request_callback_when_not_waiting(center: Engine) -> None:
    refused(center, "contact_not_active", center.request_callback, "talking", "+33123456789")


def test_second_callback_for_the_same_number(center: Engine) -> None:
    first = center.schedule_callback("tech", "+33123456789", due=center.clock() + 600)
    msg = refused(center, "already_exists", center.request_callback, "waiting", "+33123456789")
    assert first.contact in msg


@pytest.mark.parametrize("consent", [False, None, "yes", 1])
def test_deflect_without_consent(center: Engine, consent: Any) -> None:
    assert "consent" in refused(center, "invalid_input", center.deflect, "waiting", consent)


def test_cannot_abandon_or_deflect_a_contact_in_conversation(center: Engine) -> None:
    refused(center, "contact_not_active", center.abandon, "talking")
    refused(center, "contact_not_active", center.deflect, "talking", True)


@pytest.mark.parametrize("reason", ["", "   ", None, 5])
def test_fail_needs_a_reason(center: Engine, reason: Any) -> None:
    refused(center, "invalid_input", center.fail, "waiting", reason)


def test_text_that_goes_into_the_log_must_be_text(center: Engine) -> None:
    """Anything but text here would be stored, then refused by the ledger on every replay."""
    refused(center, "invalid_input", center.abandon, "waiting", reason=5)
    refused(center, "invalid_input", center.set_presence, "cat", "available", reason=["x"])
    refused(center, "invalid_input", center.define_skill, "spanish", name=3)
    refused(center, "invalid_input", center.schedule_callback, "tech", "+3312345", customer=9)
    refused(center, "invalid_input", center.arrive, "tech", customer="x" * 201)


# -- conversation -------------------------------------------------------------------------------


def test_transfer_to_both_or_neither(center: Engine) -> None:
    agent = who(center, "talking")
    msg = refused(center, "invalid_input", center.transfer, agent, "talking")
    assert "exactly one" in msg
    refused(
        center, "invalid_input", center.transfer, agent, "talking", queue="tech", to_agent="cat"
    )


def test_transfer_to_self_or_to_an_agent_not_available(center: Engine) -> None:
    agent = who(center, "talking")
    refused(center, "invalid_input", center.transfer, agent, "talking", to_agent=agent)
    refused(center, "agent_not_ready", center.transfer, agent, "talking", to_agent="cat")


def test_transfer_what_is_not_in_conversation(center: Engine) -> None:
    refused(center, "contact_not_active", center.transfer, "bob", "waiting", queue="tech")
    offered_to = who(center, "offered")
    refused(center, "contact_not_active", center.transfer, offered_to, "offered", queue="tech")


def test_complete_a_contact_not_connected(center: Engine) -> None:
    refused(center, "contact_not_active", center.complete, "cat", "waiting")
    refused(center, "contact_not_active", center.complete, who(center, "offered"), "offered")
    other = "ann" if who(center, "talking") == "bob" else "bob"
    refused(center, "contact_not_active", center.complete, other, "talking")


def test_end_wrapup_when_not_in_wrapup(center: Engine) -> None:
    agent = who(center, "talking")
    refused(center, "conflict", center.end_wrapup, agent, "talking")
    center.complete(agent, "talking")
    refused(center, "conflict", center.end_wrapup, "cat", "talking")
    refused(center, "conflict", center.end_wrapup, agent, "waiting")


@pytest.mark.parametrize(
    "kw", [{"disposition": "x" * 65}, {"notes": "x" * 10_001}, {"disposition": None}, {"notes": 3}]
)
def test_end_wrapup_with_bad_notes(center: Engine, kw: dict[str, Any]) -> None:
    agent = who(center, "talking")
    center.complete(agent, "talking")
    refused(center, "invalid_input", center.end_wrapup, agent, "talking", **kw)
    center.end_wrapup(agent, "talking", disposition="ok", notes="fine")


def test_callback_not_reached_on_what_is_not_a_callback(center: Engine) -> None:
    agent = who(center, "talking")
    refused(center, "conflict", center.callback_not_reached, agent, "talking")
    refused(center, "contact_not_active", center.callback_not_reached, "bob", "waiting")


# -- time itself --------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [NAN, INF, "now", None])
def test_a_broken_clock_changes_nothing(center: Engine, clock: Clock, bad: Any) -> None:
    center.tick()
    center.take()
    before = center.state.snapshot()
    good = clock.now
    clock.now = bad
    for command, args in [
        (center.tick, ()),
        (center.arrive, ("billing",)),
        (center.set_presence, ("cat", "available")),
        (center.abandon, ("waiting",)),
    ]:
        with pytest.raises(er.DomainError) as info:
            command(*args)
        assert info.value.code == "invalid_time"
    clock.now = good
    assert center.take() == []
    assert center.state.snapshot() == before
    assert center.state.contacts["waiting"].status is Status.WAITING


def test_codes_are_the_documented_ones() -> None:
    """Stable codes: a test that fails when one is renamed, so clients are not broken silently."""
    assert sorted(er.HTTP_STATUS) == sorted(
        [
            "invalid",
            "not_found",
            "unknown_queue",
            "unknown_agent",
            "unknown_contact",
            "unknown_skill",
            "invalid_input",
            "invalid_capacity",
            "invalid_time",
            "conflict",
            "no_such_offer",
            "offer_expired",
            "contact_not_active",
            "contact_ended",
            "agent_not_ready",
            "already_exists",
        ]
    )
    assert msgspec.json.encode(er.NoSuchOffer("x has no offer", agent="x").to_dict())

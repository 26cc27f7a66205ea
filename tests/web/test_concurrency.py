"""Hundreds of requests in flight at once on one event loop: each is answered only once its
events are on disk, and none is lost or doubled."""

from __future__ import annotations

import asyncio

import httpx

from joignable.ledger.store import SQLiteStore

from .conftest import Org

N = 300


def test_concurrent_arrivals_are_all_durable_and_distinct(org: Org) -> None:
    secret, _ = org.token("contacts:write")

    async def main() -> list[tuple[int, str]]:
        transport = httpx.ASGITransport(app=org.app)
        headers = {"Authorization": f"Bearer {secret}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=headers
        ) as c:

            async def one(i: int) -> tuple[int, str]:
                r = await c.post("/api/contacts", json={"queue": "billing", "customer": f"k{i}"})
                return r.status_code, r.json()["contact"]

            return await asyncio.gather(*(one(i) for i in range(N)))

    results = asyncio.run(main())
    assert all(status == 201 for status, _ in results)
    contacts = [cid for _, cid in results]
    assert len(set(contacts)) == N
    store = SQLiteStore(org.services.db_path, readonly=True)
    try:
        arrived = [e.contact for _, e in store.read() if type(e).__name__ == "ContactArrived"]
    finally:
        store.close()
    assert sorted(arrived) == sorted(contacts)

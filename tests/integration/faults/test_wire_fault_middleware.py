"""The shared fault middleware serves any wire simulator: a second venue, with its own routes, admission and
error bodies (nothing of OANDA's), gets the fault plan acted out on a real loopback socket.

"Executed afterwards" waits on an event the venue sets when it executes, with a bound that only keeps a
broken middleware from hanging the run; no assertion is about speed.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from broker_integration.sim.faults import (
    Fault,
    FaultKind,
    FaultPlan,
    fault_middleware,
    serve,
    silent_stream_requested,
)
from broker_integration.sim.faults.middleware import Handler
from broker_integration.sim.profile import VenueProfile

_GIVE_UP = 30.0  # seconds to wait for an execution before calling the test failed


class ToyError(Exception):
    """The toy venue's error answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def toy_answer(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response({"code": status * 100_000, "message": message}, status=status, headers=headers)


@dataclass
class ToyVenue:
    """A venue that is not OANDA: key header auth, JSON ``{"code", "message"}`` errors, three routes."""

    faults: FaultPlan = field(default_factory=lambda: FaultPlan(VenueProfile()))
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    hang_seconds: float = 0.2
    requests_served: Counter[str] = field(default_factory=Counter)
    faults_served: Counter[tuple[str, FaultKind]] = field(default_factory=Counter)
    executed: list[dict[str, Any]] = field(default_factory=list)
    execution: asyncio.Event = field(default_factory=asyncio.Event)
    silent_streams: int = 0

    route_operations: Mapping[str, tuple[str, bool]] = field(
        default_factory=lambda: {
            "ping": ("get_accounts", False),
            "orders": ("place_order", True),
            "stream": ("stream_prices", False),
        }
    )
    stream_operations: frozenset[str] = frozenset({"stream_prices"})
    answer_errors: tuple[type[Exception], ...] = (ToyError,)

    async def admit(self, request: web.Request) -> None:
        if request.headers.get("X-Key") != "k":
            raise ToyError(401, "request is not authorized")

    def not_found(self, request: web.Request) -> web.Response:
        return toy_answer(404, "route not found")

    def method_not_allowed(self, request: web.Request) -> web.Response:
        return toy_answer(405, "method not allowed")

    def unavailable(self, request: web.Request) -> web.Response:
        return toy_answer(503, "down for maintenance")

    def rate_limited(self, request: web.Request, retry_after_s: int) -> web.Response:
        return toy_answer(429, "too many requests", {"Retry-After": str(retry_after_s)})

    # ------------------------------------------------------------------ the venue's handlers

    async def ping(self, request: web.Request) -> web.Response:
        return web.json_response({"pong": True})

    async def order(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("refuse"):
            raise ToyError(422, "insufficient buying power")
        self.executed.append(body)
        self.execution.set()
        return web.json_response({"id": len(self.executed)}, status=201)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        if silent_stream_requested(request):
            self.silent_streams += 1
        else:
            await response.write(b'{"price": 1}\n')
        await response.write_eof()
        return response


@web.middleware
async def toy_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ToyError as error:
        return toy_answer(error.status, error.message)


@pytest.fixture
async def venue() -> AsyncIterator[tuple[ToyVenue, str]]:
    toy = ToyVenue()
    app = web.Application(middlewares=[toy_errors, fault_middleware(toy)])
    app.router.add_route("GET", "/ping", toy.ping, name="ping")
    app.router.add_route("POST", "/orders", toy.order, name="orders")
    app.router.add_route("GET", "/stream", toy.stream, name="stream")
    runner, port = await serve(app, "127.0.0.1", 0)
    try:
        yield toy, f"http://127.0.0.1:{port}"
    finally:
        toy.closing.set()
        await runner.cleanup()


KEY = {"X-Key": "k"}


async def test_the_venues_own_answers_for_unknown_routes_and_refused_admission(
    venue: tuple[ToyVenue, str],
) -> None:
    toy, url = venue
    async with aiohttp.ClientSession(headers=KEY) as session:
        async with session.get(f"{url}/nowhere") as missing:
            assert (missing.status, (await missing.json())["message"]) == (404, "route not found")
        async with session.delete(f"{url}/orders") as wrong:
            assert (wrong.status, (await wrong.json())["message"]) == (405, "method not allowed")
        async with session.get(f"{url}/ping", headers={"X-Key": "wrong"}) as refused:
            assert (refused.status, (await refused.json())["code"]) == (401, 40_100_000)
        async with session.get(f"{url}/ping") as admitted:
            assert admitted.status == 200
    assert toy.requests_served == Counter({"get_accounts": 1})  # refused requests are not served


@pytest.mark.parametrize(
    ("fault", "status", "message"),
    [
        (Fault(FaultKind.SERVICE_UNAVAILABLE), 503, "down for maintenance"),
        (Fault(FaultKind.RATE_LIMITED, retry_after_s=2.4), 429, "too many requests"),
    ],
)
async def test_answered_faults_use_the_venues_bodies_and_execute_nothing(
    venue: tuple[ToyVenue, str], fault: Fault, status: int, message: str
) -> None:
    toy, url = venue
    toy.faults.inject(fault, operations=["place_order"])
    async with (
        aiohttp.ClientSession(headers=KEY) as session,
        session.post(f"{url}/orders", json={"units": 1}) as answer,
    ):
        assert answer.status == status
        assert (await answer.json())["message"] == message
        if status == 429:
            assert answer.headers["Retry-After"] == "2"
    assert toy.executed == []
    assert toy.faults_served == Counter({("place_order", fault.kind): 1})


@pytest.mark.parametrize("kind", [FaultKind.TIMEOUT, FaultKind.CONNECTION_RESET])
async def test_unanswered_faults_drop_the_connection_and_execute_nothing(
    venue: tuple[ToyVenue, str], kind: FaultKind
) -> None:
    toy, url = venue
    toy.faults.inject(Fault(kind), operations=["place_order"])
    async with aiohttp.ClientSession(headers=KEY) as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            async with session.post(f"{url}/orders", json={"units": 1}) as answer:
                await answer.read()
        async with session.get(f"{url}/ping") as after:  # the venue is still there
            assert after.status == 200
    assert toy.executed == []


@pytest.mark.parametrize("body", [{"units": 1}, {"refuse": True}])
async def test_a_lost_answer_comes_after_the_request_ran(
    venue: tuple[ToyVenue, str], body: dict[str, Any]
) -> None:
    toy, url = venue
    toy.faults.inject(Fault(FaultKind.RESPONSE_LOST), operations=["place_order"])
    async with aiohttp.ClientSession(headers=KEY) as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            async with session.post(f"{url}/orders", json=body) as answer:
                await answer.read()
    assert toy.executed == ([] if body.get("refuse") else [body])  # a refusal is an answer, lost all the same


async def test_a_request_fully_received_executes_after_its_client_has_gone(
    venue: tuple[ToyVenue, str],
) -> None:
    toy, url = venue
    toy.faults.inject(Fault(FaultKind.LATENCY_SPIKE, delay_s=0.5), operations=["place_order"])
    async with aiohttp.ClientSession(headers=KEY) as session:
        with pytest.raises(TimeoutError):
            async with session.post(
                f"{url}/orders", json={"units": 7}, timeout=aiohttp.ClientTimeout(total=0.05)
            ) as answer:
                await answer.read()
    assert toy.executed == []  # the client left while the venue held its order
    await asyncio.wait_for(toy.execution.wait(), _GIVE_UP)
    assert toy.executed == [{"units": 7}]


async def test_a_timed_out_stream_answers_then_goes_silent(venue: tuple[ToyVenue, str]) -> None:
    toy, url = venue
    toy.faults.inject(Fault(FaultKind.TIMEOUT), operations=["stream_prices"])
    async with aiohttp.ClientSession(headers=KEY) as session:
        async with session.get(f"{url}/stream") as silent:
            assert silent.status == 200
            assert await silent.read() == b""
        async with session.get(f"{url}/stream") as talking:  # the flag is the request's, not the connection's
            assert await talking.read() == b'{"price": 1}\n'
    assert toy.silent_streams == 1

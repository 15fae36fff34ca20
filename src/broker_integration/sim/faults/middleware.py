"""One fault middleware for every wire-protocol simulator: the venue's fault plan acted out over HTTP.

Each request passes through, in this order:

1. a path the simulator does not serve, or a method its route does not take: the venue's 404 or 405;
2. the venue's own admission (its request-rate limit, its authentication), answered in its words;
3. the request's operation is counted, and its body read whole before any wait: a request fully received
   executes even if its client goes away during a latency wait;
4. the fault plan (:class:`~broker_integration.sim.faults.plan.FaultPlan`) decides whether the call
   misbehaves: the profile's latency, a latency spike, the venue's maintenance page (503), the venue's
   429, no answer (the request held, then its connection dropped; a stream instead answers and goes
   silent), a connection reset before the request is read, or the request executed and its connection
   dropped before the answer (a lost response).

A broker executes an order whose client timed out after sending it; so does a simulator served by
:func:`serve`, which turns aiohttp's handler cancellation off (a handler is not cancelled when its client
disconnects). What differs between venues (their 404, 429 and maintenance bodies, their authentication,
which routes are which operation) comes from the venue's :class:`WireFace`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Middleware

from broker_integration.broker_config import (
    BrokerConfiguration,
    BrokerCredentials,
    BrokerEndpoints,
    BrokerLimits,
)
from broker_integration.sim.faults.plan import Fault, FaultKind, FaultPlan

if TYPE_CHECKING:
    from broker_integration.sim.engine import VenueEngine

__all__ = [
    "Handler",
    "StateFace",
    "WireCounts",
    "WireFace",
    "WireSimulator",
    "cut_connection",
    "drop_connection",
    "fault_middleware",
    "serve",
    "silent_stream_requested",
    "wire_application",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Whether the stream request running in this task drew a TIMEOUT: it answers, then goes silent. A context
#: variable, since the handler runs in the middleware's own task.
_SILENT_STREAM: ContextVar[bool] = ContextVar("wire_simulator_silent_stream", default=False)


class WireFace(Protocol):
    """What one wire simulator tells the shared middleware: its routes' operations and its venue's answers.

    Operations are the adapter operation names (``place_order``, ``get_orders`` ...) a fault plan is keyed
    by, so one plan scripts the paper adapter and any wire simulator alike.
    """

    @property
    def route_operations(self) -> Mapping[str, tuple[str, bool]]:
        """Route name → (the operation it serves, whether it changes state: only those lose answers)."""

    @property
    def stream_operations(self) -> frozenset[str]:
        """Operations answered with a stream: a TIMEOUT makes them silent, a lost answer drops them."""

    @property
    def faults(self) -> FaultPlan:
        """The venue's fault plan."""

    @property
    def closing(self) -> asyncio.Event:
        """Set when the server stops: requests held by a TIMEOUT are dropped then."""

    @property
    def hang_seconds(self) -> float:
        """How long a request that drew a TIMEOUT is held before its connection is dropped."""

    @property
    def requests_served(self) -> Counter[str]:
        """Requests admitted, by operation (kept up to date by the middleware)."""

    @property
    def faults_served(self) -> Counter[tuple[str, FaultKind]]:
        """Faults acted out, by operation and kind (kept up to date by the middleware)."""

    @property
    def answer_errors(self) -> tuple[type[Exception], ...]:
        """The exceptions the venue's handlers raise as answers (a refusal): lost like any answer."""

    async def admit(self, request: web.Request) -> None:
        """The venue's own admission (rate limit, authentication): return to let the request in, raise one
        of :attr:`answer_errors` (or an ``HTTPException``) to refuse it."""

    def not_found(self, request: web.Request) -> web.StreamResponse:
        """The venue's answer to a path it does not serve."""

    def method_not_allowed(self, request: web.Request) -> web.StreamResponse:
        """The venue's answer to a method its route does not take."""

    def unavailable(self, request: web.Request) -> web.StreamResponse:
        """The venue's maintenance answer (503)."""

    def rate_limited(self, request: web.Request, retry_after_s: int) -> web.StreamResponse:
        """The venue's 429, telling the client to come back after ``retry_after_s`` seconds."""


class _Hanging(Protocol):
    @property
    def hang_seconds(self) -> float: ...


class _Served(Protocol):
    @property
    def closing(self) -> asyncio.Event: ...

    @property
    def engine(self) -> VenueEngine: ...

    @property
    def settings(self) -> _Hanging: ...

    @property
    def counts(self) -> WireCounts: ...


class StateFace:
    """What every venue's :class:`WireFace` reads from its simulator's state: the engine's fault plan, the
    closing event, how long a TIMEOUT holds a request and the counters the middleware keeps."""

    def __init__(self, state: _Served) -> None:
        self.faults: FaultPlan = state.engine.faults
        self.closing: asyncio.Event = state.closing
        self.hang_seconds: float = state.settings.hang_seconds
        self.requests_served: Counter[str] = state.counts.requests
        self.faults_served: Counter[tuple[str, FaultKind]] = state.counts.faults


def silent_stream_requested(request: web.Request) -> bool:
    """Whether this stream request drew a TIMEOUT fault: it answers, then sends nothing more."""
    return _SILENT_STREAM.get()


def drop_connection(request: web.Request) -> web.Response:
    """Close the client's connection without an answer (what the client sees as a dropped connection)."""
    cut_connection(request)
    return web.Response(status=204)  # never reaches the client: its transport is gone


def cut_connection(request: web.BaseRequest | None) -> bool:
    """Abort the connection ``request`` came on, at once and without a word; False when it has none left."""
    transport = None if request is None else request.transport
    if transport is None:
        return False
    transport.abort()
    return True


def fault_middleware(face: WireFace) -> Middleware:
    """The aiohttp middleware that routes, admits and misbehaves for ``face`` (see the module's docstring)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        _SILENT_STREAM.set(False)
        refusal = request.match_info.http_exception
        if refusal is not None:
            if isinstance(refusal, web.HTTPMethodNotAllowed):
                return face.method_not_allowed(request)
            return face.not_found(request)
        await face.admit(request)
        operation, mutating = face.route_operations.get(
            request.match_info.route.name or "", ("unknown", False)
        )
        face.requests_served[operation] += 1
        if request.can_read_body:
            # Take the whole body now: a request fully received executes even if its client goes away
            # during a latency wait (aiohttp keeps it; handlers read it from there).
            try:
                await request.read()
            except (ConnectionError, aiohttp.ClientPayloadError):
                return drop_connection(request)  # the body never arrived whole: nothing to execute
        plan = face.faults
        fault = plan.next_fault(operation, mutating=mutating)
        delay = plan.latency_seconds() + (fault.delay_s if fault is not None else 0.0)
        if delay > 0:
            await asyncio.sleep(delay)
        if fault is None:
            return await handler(request)
        face.faults_served[(operation, fault.kind)] += 1
        return await _misbehave(face, request, handler, fault, operation)

    return middleware


async def _misbehave(
    face: WireFace, request: web.Request, handler: Handler, fault: Fault, operation: str
) -> web.StreamResponse:
    kind = fault.kind
    if kind is FaultKind.LATENCY_SPIKE:
        return await handler(request)
    if kind is FaultKind.SERVICE_UNAVAILABLE:
        return face.unavailable(request)
    if kind is FaultKind.RATE_LIMITED:
        return face.rate_limited(request, max(0, round(fault.retry_after_s or 0.0)))
    streaming = operation in face.stream_operations
    if kind is FaultKind.TIMEOUT:
        if streaming:
            _SILENT_STREAM.set(True)
            return await handler(request)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(face.closing.wait(), face.hang_seconds)
        return drop_connection(request)
    if kind is FaultKind.CONNECTION_RESET or streaming:
        return drop_connection(request)
    # RESPONSE_LOST: the request runs to the end, then the connection drops before the answer.
    with contextlib.suppress(web.HTTPException, *face.answer_errors):  # a refusal is lost all the same
        await handler(request)
    return drop_connection(request)


async def serve(
    app: web.Application, host: str, port: int, *, shutdown_timeout: float = 1.0
) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on ``host:port`` (0: a free port) as a wire simulator must: a handler is not cancelled
    when its client disconnects, so a request fully received executes. Returns the runner (``cleanup()``
    stops it) and the port listened on."""
    runner = web.AppRunner(
        app, access_log=None, shutdown_timeout=shutdown_timeout, handler_cancellation=False
    )
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await web.SockSite(runner, sock).start()
    except BaseException:
        sock.close()
        await runner.cleanup()
        raise
    bound: int = sock.getsockname()[1]
    return runner, bound


class _Closing(Protocol):
    @property
    def closing(self) -> asyncio.Event: ...


_StateT = TypeVar("_StateT", bound=_Closing)


def wire_application(
    state: _StateT,
    key: web.AppKey[_StateT],
    middlewares: Iterable[Middleware],
    add_routes: Callable[[web.Application], None],
) -> web.Application:
    """The aiohttp application serving a simulator's ``state`` (under ``key``) without a listening socket:
    its ``middlewares`` around its routes, and its open streams told to end when the server shuts down."""
    app = web.Application(middlewares=list(middlewares))
    app[key] = state
    add_routes(app)

    async def stop_streams(_: web.Application) -> None:
        state.closing.set()

    app.on_shutdown.append(stop_streams)
    return app


@dataclass
class WireCounts:
    """What a wire simulator has done so far: requests by operation, faults by operation and kind, requests
    refused by its own rate limit, streams opened."""

    requests: Counter[str] = field(default_factory=Counter)
    faults: Counter[tuple[str, FaultKind]] = field(default_factory=Counter)
    rate_limited: int = 0
    streams_opened: int = 0

    def faults_of(self, operation: str) -> int:
        """Faults suffered by one operation (every kind)."""
        return sum(n for (op, _), n in self.faults.items() if op == operation)


class _Listening(Protocol):
    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...


class _Venue(_Closing, Protocol):
    def open_accounts(self) -> None: ...


class WireSimulator:
    """The life cycle every wire-protocol simulator shares: start listening on loopback through
    :func:`serve` (a request fully received executes even if its client has gone), stop and drop held
    requests, ``async with``, the port, and scripted faults. A subclass sets ``engine``, ``settings`` (its
    host and port) and ``state`` (accounts to open, the closing event) and builds its application."""

    engine: VenueEngine
    settings: _Listening
    state: _Venue
    shutdown_timeout: float = 1.0
    _runner: web.AppRunner | None = None
    _port: int | None = None

    def application(self) -> web.Application:
        """The aiohttp application serving this simulator's venue."""
        raise NotImplementedError

    async def start(self) -> None:
        """Open the accounts and start listening; the port is known afterwards."""
        if self._runner is not None:
            raise RuntimeError("the simulator is already running")
        self.state.open_accounts()
        self.state.closing.clear()
        self._runner, self._port = await serve(
            self.application(), self.settings.host, self.settings.port, shutdown_timeout=self.shutdown_timeout
        )

    async def stop(self) -> None:
        """Stop listening, end open streams and drop held requests."""
        runner, self._runner = self._runner, None
        if runner is not None:
            self.state.closing.set()
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the simulator has not been started")
        return self._port

    @property
    def base_url(self) -> str:
        """The REST base, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.settings.host}:{self.port}"

    @property
    def stream_url(self) -> str:
        """The websockets' base: the same server, ``ws://127.0.0.1:54321``."""
        return f"ws://{self.settings.host}:{self.port}"

    def _configuration(
        self,
        broker_name: str,
        credentials: BrokerCredentials,
        options: dict[str, Any],
        *,
        adapter: str | None = None,
    ) -> BrokerConfiguration:
        """A configuration pointing an adapter here, with client-side rate limits far above the simulator's
        (so the simulator's limit is the one a client meets)."""
        named: dict[str, Any] = {} if adapter is None else {"adapter": adapter}  # unset stays unset
        return BrokerConfiguration(
            broker_name=broker_name,
            **named,
            credentials=credentials,
            endpoints=BrokerEndpoints(base_url=self.base_url, stream_url=self.stream_url),
            limits=BrokerLimits(requests_per_second=10_000, max_orders_per_second=10_000),
            options=options,
        )

    def _where(self) -> str:
        """Where it listens, for a repr: the base URL, or that it has not started."""
        return self.base_url if self._port is not None else "not started"

    def inject(self, fault: Fault, *, operations: Iterable[str] | None = None, count: int = 1) -> None:
        """Make the next ``count`` requests of ``operations`` (adapter operation names such as
        ``place_order``; all when ``None``) suffer ``fault``."""
        self.engine.faults.inject(fault, operations=operations, count=count)

"""Loopback servers for the HTTP transport's tests: an ``aiohttp.web`` echo server that records what it was
sent, a raw ``asyncio`` server that answers with exact bytes (and can drop, reset or stall a connection at
any point), and a self-signed certificate made with ``cryptography``.

Everything listens on 127.0.0.1 on a port the kernel picks; every server counts the connections it
accepted and the requests it received, so a test can prove a request was sent once, or never.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gzip
import ipaddress
import json
import socket
import ssl
import struct
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from broker_integration.adapters.transport import HttpAnswer, HttpTransport

T = TypeVar("T")

HOST = "127.0.0.1"
#: The longest any test waits for something that should happen at once (a hang fails instead of stalling).
PATIENCE = 3.0


# ---------------------------------------------------------------------------------------------------------
# The aiohttp echo server
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeenRequest:
    """One request as the aiohttp server decoded it."""

    method: str
    path: str
    query: list[tuple[str, str]]
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes
    peer: tuple[str, int]

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        assert len(values) <= 1, f"header {name} sent {len(values)} times: {values}"
        return values[0] if values else None


class EchoServer:
    """An ``aiohttp.web`` server on loopback (https when given an SSL context) that records every request and
    answers with a JSON echo of it. ``hold`` seconds of delay per request let a test measure how many
    requests are in flight at once."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None, hold: float = 0.0) -> None:
        self.ssl_context = ssl_context
        self.hold = hold
        self.requests: list[SeenRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def origin(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{HOST}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.origin + path

    @property
    def peers(self) -> set[tuple[str, int]]:
        """The client ends of the connections requests came on (one per TCP connection)."""
        return {request.peer for request in self.requests}

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        peer = request.transport.get_extra_info("peername") if request.transport else ("?", 0)
        seen = SeenRequest(
            method=request.method,
            path=request.path,
            query=list(request.query.items()),
            raw_query=request.query_string,
            headers=list(request.headers.items()),
            body=body,
            peer=(peer[0], peer[1]),
        )
        self.requests.append(seen)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.hold:
                await asyncio.sleep(self.hold)
        finally:
            self.in_flight -= 1
        echo = {"method": seen.method, "path": seen.path, "query": seen.query, "length": len(body)}
        status = int(request.headers.get("X-Want-Status", "200"))
        return web.Response(status=status, body=json.dumps(echo).encode(), content_type="application/json")

    async def start(self) -> EchoServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0, ssl_context=self.ssl_context)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


# ---------------------------------------------------------------------------------------------------------
# The raw server
# ---------------------------------------------------------------------------------------------------------


@dataclass
class RawRequest:
    """One request as it arrived on the wire (the head parsed, the body read by its Content-Length)."""

    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes
    raw: bytes
    connection: int
    index: int

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return values[0] if values else None


@dataclass
class RawConnection:
    """One accepted connection of a :class:`RawServer`."""

    index: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle: bool = False
    closed: bool = False
    #: Set when the client closed its end (the server read EOF while waiting for a request).
    client_eof: asyncio.Event = field(default_factory=asyncio.Event)
    #: Bytes the client sent that did not make a whole request before the connection ended.
    leftover: bytes = b""

    async def send(self, data: bytes) -> None:
        """Writes ``data``; a client that has gone is not an error of the server's."""
        with contextlib.suppress(ConnectionError):
            self.writer.write(data)
            await self.writer.drain()

    async def close(self) -> None:
        """Closes the connection with a FIN (an orderly close)."""
        self.closed = True
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()

    def reset(self) -> None:
        """Closes the connection with a RST (SO_LINGER 0), as a crashed peer or a middlebox would."""
        self.closed = True
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


#: What a raw server does with one request: writes an answer (or not) and may close the connection.
Handler = Callable[[RawConnection, RawRequest], Awaitable[None]]


class RawServer:
    """An ``asyncio.start_server`` on loopback that reads HTTP/1.1 requests one after the other on each
    connection and lets ``handler`` answer them with exact bytes.

    With ``read_bodies=False`` the handler is called as soon as a request's head has arrived (its body left
    unread), to fail a request while the client is still writing it.
    """

    def __init__(self, handler: Handler, *, read_bodies: bool = True) -> None:
        self.handler = handler
        self.read_bodies = read_bodies
        self.connections: list[RawConnection] = []
        self.requests: list[RawRequest] = []
        self.errors: list[BaseException] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.origin + path

    async def start(self) -> RawServer:
        self._server = await asyncio.start_server(self._accept, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = RawConnection(len(self.connections), reader, writer)
        self.connections.append(connection)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(connection)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # Only close() cancels a connection's task; it ends quietly (asyncio logs an error for a task of
            # start_server's that ends cancelled).
            pass
        except Exception as error:  # a broken handler must show in the test, not vanish
            self.errors.append(error)
        finally:
            self._tasks.discard(task)
            if not connection.closed:
                connection.closed = True
                writer.close()

    async def _serve(self, connection: RawConnection) -> None:
        reader = connection.reader
        while not connection.closed:
            connection.idle = True
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as error:
                connection.leftover = error.partial
                connection.client_eof.set()
                return
            except asyncio.LimitOverrunError:
                connection.leftover = await reader.read(1 << 20)
                return
            finally:
                connection.idle = False
            request_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
            method, target, version = request_line.split(" ", 2)
            headers = [
                (name.strip(), value.strip())
                for name, _, value in (line.partition(":") for line in header_lines)
            ]
            request = RawRequest(
                method, target, version, headers, b"", head, connection.index, len(self.requests)
            )
            length = int(request.header("Content-Length") or 0)
            if self.read_bodies and length:
                request.body = await reader.readexactly(length)
                request.raw += request.body
            self.requests.append(request)
            await self.handler(connection, request)

    async def drop_idle(self) -> int:
        """Closes (FIN) every connection waiting for its next request, as a server's keep-alive timeout
        does; returns how many it closed."""
        idle = [connection for connection in self.connections if connection.idle and not connection.closed]
        for connection in idle:
            await connection.close()
        return len(idle)

    async def close(self) -> None:
        for connection in self.connections:
            if not connection.closed:
                connection.closed = True
                connection.writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=PATIENCE)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


# Handlers and answers -------------------------------------------------------------------------------------


def answer(
    status: int = 200,
    body: bytes = b"",
    *,
    headers: Sequence[tuple[str, str]] = (),
    length: bool = True,
    reason: str = "OK",
    version: str = "HTTP/1.1",
) -> bytes:
    """The exact bytes of an answer (``Content-Length`` added unless ``length`` is false)."""
    lines = [f"{version} {status} {reason}", *(f"{name}: {value}" for name, value in headers)]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def chunked(*chunks: bytes, extension: str = "", trailers: Sequence[tuple[str, str]] = ()) -> bytes:
    """``chunks`` in chunked transfer coding (sizes in upper-case hex, each with ``extension``), then the
    last chunk and ``trailers``."""
    assert all(chunks), "an empty chunk is the last chunk"
    out = b"".join(f"{len(chunk):X}{extension}\r\n".encode() + chunk + b"\r\n" for chunk in chunks)
    out += f"0{extension}\r\n".encode()
    out += b"".join(f"{name}: {value}\r\n".encode() for name, value in trailers)
    return out + b"\r\n"


def writes(data: bytes | Callable[[RawRequest], bytes], *, close: bool = False) -> Handler:
    """A handler that writes ``data`` (or what it makes of the request), then closes if ``close``."""

    async def handle(connection: RawConnection, request: RawRequest) -> None:
        await connection.send(data(request) if callable(data) else data)
        if close:
            await connection.close()

    return handle


def echo_target(request: RawRequest) -> bytes:
    """A keep-alive 200 whose body is the request's target (tells which request an answer belongs to)."""
    return answer(200, request.target.encode())


async def close_silently(connection: RawConnection, request: RawRequest) -> None:
    """Reads the whole request, then closes (FIN) without a byte of answer."""
    await connection.close()


async def reset_silently(connection: RawConnection, request: RawRequest) -> None:
    """Reads the request (its head at least), then resets the connection."""
    connection.reset()


def in_turn(*handlers: Handler) -> Handler:
    """The n-th request the server receives is handled by the n-th handler (the last one for the rest)."""
    count = 0

    async def handle(connection: RawConnection, request: RawRequest) -> None:
        nonlocal count
        chosen = handlers[min(count, len(handlers) - 1)]
        count += 1
        await chosen(connection, request)

    return handle


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data)


def deflated(data: bytes) -> bytes:
    """``deflate`` as HTTP means it: a zlib stream (RFC 9110 §8.4.1.2)."""
    return zlib.compress(data)


async def wait_for_event(event: asyncio.Event, what: str) -> None:
    try:
        await asyncio.wait_for(event.wait(), PATIENCE)
    except TimeoutError:
        raise AssertionError(f"{what} did not happen within {PATIENCE} s") from None


async def eventually(condition: Callable[[], bool], what: str) -> None:
    """Waits (polling the loop) until ``condition()`` holds, failing after :data:`PATIENCE` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"{what} did not happen within {PATIENCE} s")
        await asyncio.sleep(0.005)


def closed_port() -> socket.socket:
    """A socket bound to a loopback port but not listening: a connection to its port is refused, and no
    other test can take the port while the socket is held. Close it after the test."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((HOST, 0))
    return sock


# ---------------------------------------------------------------------------------------------------------
# Certificates
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate and its key, written as PEM files (the certificate is its own CA, so a
    client context that loads it trusts the server that presents it)."""

    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context (host name checked) that trusts this certificate alone."""
        context = ssl.create_default_context(cafile=str(self.cert_file))
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname
        return context


def self_signed(
    folder: Path,
    *,
    name: str = "test",
    ips: Iterable[str] = (HOST,),
    dns: Iterable[str] = ("localhost",),
) -> Certificate:
    """A self-signed certificate for ``ips`` and ``dns`` names, valid from an hour ago for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"broker-integration {name}")])
    now = datetime.datetime.now(datetime.UTC)
    alt_names: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    alt_names += [x509.DNSName(host) for host in dns]
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
    )
    cert = builder.sign(key, hashes.SHA256())
    cert_file = folder / f"{name}-cert.pem"
    key_file = folder / f"{name}-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return Certificate(cert_file, key_file)


class Harness:
    """The servers and transports of one test, all closed when it ends (each module's ``harness`` fixture)."""

    def __init__(self) -> None:
        self._open: list[Any] = []
        self._raw: list[RawServer] = []

    def track(self, thing: T) -> T:
        """Closes ``thing`` (anything with an async ``close()``) when the test ends; returns it."""
        self._open.append(thing)
        return thing

    async def echo(self, *, ssl_context: ssl.SSLContext | None = None, hold: float = 0.0) -> EchoServer:
        return await self.track(EchoServer(ssl_context=ssl_context, hold=hold)).start()

    async def raw(self, handler: Handler, *, read_bodies: bool = True) -> RawServer:
        server = await self.track(RawServer(handler, read_bodies=read_bodies)).start()
        self._raw.append(server)
        return server

    async def close(self) -> None:
        """Closes in reverse order: transports (made after their servers) before the servers."""
        hung = []
        while self._open:
            thing = self._open.pop()
            try:
                await asyncio.wait_for(thing.close(), PATIENCE)
            except TimeoutError:
                hung.append(thing)
        assert not hung, f"close() did not return within {PATIENCE} s: {hung!r}"
        errors = [error for server in self._raw for error in server.errors]
        assert not errors, f"a raw server's handler failed: {errors!r}"


class SocketServer:
    """A listening socket driven by hand with the loop's low-level socket calls (no asyncio transport in
    between), so a test can close a connection synchronously: the FIN is in the client's kernel before the
    event loop has had a chance to see it."""

    def __init__(self) -> None:
        self.listener = socket.create_server((HOST, 0))
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.targets: list[tuple[int, str]] = []

    def url(self, path: str = "/") -> str:
        return f"http://{HOST}:{self.port}{path}"

    async def serve_one(self) -> socket.socket:
        """Accepts a connection, reads one request and answers it with its target (keep-alive); returns the
        connection, left open."""
        loop = asyncio.get_running_loop()
        conn, _ = await loop.sock_accept(self.listener)
        conn.setblocking(False)
        self.sockets.append(conn)
        head = b""
        while b"\r\n\r\n" not in head:
            data = await loop.sock_recv(conn, 65536)
            if not data:
                raise AssertionError("the client closed before sending a whole request")
            head += data
        target = head.split(b" ", 2)[1].decode()
        self.targets.append((len(self.sockets) - 1, target))
        await loop.sock_sendall(conn, answer(200, target.encode()))
        return conn

    async def close(self) -> None:
        for conn in self.sockets:
            conn.close()
        self.listener.close()


# Transports ---------------------------------------------------------------------------------------------


def make(harness: Harness, **options: Any) -> HttpTransport:
    """A transport closed at the end of the test."""
    return harness.track(HttpTransport(**options))


async def call(transport: HttpTransport, method: str, url: str, **options: Any) -> HttpAnswer:
    """``transport.request`` bounded in time, so a transport that hangs fails the test instead of stalling it."""
    try:
        return await asyncio.wait_for(transport.request(method, url, **options), PATIENCE)
    except TimeoutError:
        raise AssertionError(f"{method} {url} had no answer within {PATIENCE} s (hung)") from None

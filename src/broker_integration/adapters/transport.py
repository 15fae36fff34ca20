"""HTTP/1.1 over asyncio streams for the REST adapters: keep-alive connections, and an exact answer to
"can this request have reached the server?".

Why not aiohttp for REST calls: an order is one small JSON request and one small JSON answer, and aiohttp's
general machinery (its request and response objects, timers, cookie jar, tracing) costs about 130 µs of
client CPU per call on loopback, more than the rest of an order's path together (``benchmarks/
bench_alpaca.py``). The streams (websockets, chunked price streams) stay on aiohttp.

What a failure means for an order is the one promise here: a failure before any byte of the request was
written raises :class:`TransportError` with ``sent=False`` (nothing can have reached the server); any later
failure has ``sent=None`` (it may have been received and executed; the order journal settles it by lookup).
Nothing is ever sent twice: a keep-alive connection found closed *before* writing is dropped and another
taken, and a connection that failed after writing is never retried.

Wire facts: RFC 9112 (message framing: ``Content-Length``, ``chunked``, read to close; 1xx answers;
``HEAD``, 204 and 304 carry no body) and RFC 9110 §8.4 (``Content-Encoding`` gzip and deflate).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import select
import ssl
import time
import zlib
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import quote, urlencode

from multidict import CIMultiDict, CIMultiDictProxy

from broker_integration import __version__

__all__ = ["HttpAnswer", "HttpTransport", "TransportError"]

#: The longest answer head (status line and headers) read before giving up on the server.
MAX_HEAD_BYTES = 64 * 1024
#: Characters sent as they are in a request target; anything else is percent-encoded.
_TARGET_SAFE = "/%:@!$&'()*+,;=-._~?"
_NO_BODY_STATUSES = frozenset({204, 304})
#: Methods sent without ``Content-Length`` when they carry no body (RFC 9110 §8.6: a request without
#: content whose method anticipates none).
_NO_CONTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Headers the transport writes itself (a caller's copy would frame the request twice).
_FRAMING_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
#: How long :meth:`HttpTransport.close` waits for idle connections to close in order.
_CLOSE_SECONDS = 1.0


class TransportError(Exception):
    """A request that got no complete answer. ``sent`` is ``False`` when no byte of it left this process,
    ``None`` when it may have reached the server."""

    def __init__(self, message: str, *, sent: bool | None) -> None:
        super().__init__(message)
        self.sent = sent


class HttpAnswer(NamedTuple):
    """A whole answer: its status, its headers (case-insensitive, repeats kept) and its decoded body."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


@dataclass(frozen=True, slots=True)
class _Origin:
    scheme: str
    host: str
    port: int
    #: The ``Host`` header's value, encoded: the port only where it is not the scheme's default.
    authority: bytes

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


@dataclass(slots=True, eq=False)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0
    #: How long the server said it keeps an idle connection (its ``Keep-Alive: timeout=``), less a margin.
    server_idle_seconds: float = float("inf")

    def usable(self, now: float, idle_seconds: float) -> bool:
        """Whether a request can go out on it: open, nothing unread, not idle longer than we or the server
        allow. Checked before writing, so a connection the server closed (or is about to close) while idle
        is not written to: a request lost in that race would leave an order's outcome open."""
        if (
            self.writer.is_closing()
            or self.reader.at_eof()
            # bytes nobody asked for (StreamReader has no public view of them): the connection is out of step
            or self.reader._buffer  # type: ignore[attr-defined]
            or self.expired(now, idle_seconds)
        ):
            return False
        # The loop may not have read yet what the socket already holds (a busy loop, or a FIN that came in
        # the same turn): on an idle connection, anything waiting to be read, an end or stray bytes, means
        # it cannot carry a request.
        sock = self.writer.get_extra_info("socket")
        return sock is None or not select.select([sock], [], [], 0)[0]

    def expired(self, now: float, idle_seconds: float) -> bool:
        """Idle longer than we or the server allow."""
        return now - self.idle_since > min(idle_seconds, self.server_idle_seconds)

    def abort(self) -> None:
        self.writer.transport.abort()


@dataclass(slots=True)
class _Slots:
    """At most ``free`` requests in flight; the rest wait in arrival order."""

    free: int
    waiters: deque[asyncio.Future[None]] = field(default_factory=deque)

    async def take(self) -> None:
        if self.free > 0 and not self.waiters:
            self.free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.give()  # woken and cancelled at once: the slot it was handed goes on
            elif waiter in self.waiters:
                self.waiters.remove(waiter)
            raise

    def give(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free += 1


class HttpTransport:
    """HTTP/1.1 client with keep-alive connections per origin: ``request`` sends one request and returns
    the whole answer, whatever its status."""

    def __init__(
        self,
        *,
        connections: int = 64,
        idle_seconds: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if connections < 1:
            raise ValueError(f"connections must be at least 1, got {connections}")
        self._slots = _Slots(connections)
        self._connections = connections
        self._idle_seconds = idle_seconds
        self._ssl_context = ssl_context
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._busy: set[_Connection] = set()
        self._origins: dict[str, _Origin] = {}
        self._fixed_headers: dict[str, str] = {}
        self._fixed = b""
        self._closed = False
        self.set_headers(headers or {})

    def set_headers(self, headers: Mapping[str, str]) -> None:
        """Send ``headers`` with every request from the next one on (credentials rotate here)."""
        fixed = {"User-Agent": f"broker-integration/{__version__}", "Accept-Encoding": "gzip, deflate"}
        fixed.update(headers)
        self._fixed = _header_lines(_one_per_name(fixed))
        self._fixed_headers = fixed

    def idle_count(self) -> int:
        """Keep-alive connections open and waiting for a request."""
        return sum(len(idle) for idle in self._idle.values())

    async def close(self) -> None:
        """Close every connection; a request after this raises ``TransportError(sent=False)``."""
        self._closed = True
        idle, self._idle = self._idle, {}
        for connection in list(self._busy):
            connection.abort()
        closing = [connection for connections in idle.values() for connection in connections]
        for connection in closing:
            connection.writer.close()
        if not closing:
            return
        # An orderly close; a TLS peer that never answers the close gets cut off instead of holding
        # this up for asyncio's 30 s shutdown timeout.
        waits = [asyncio.ensure_future(connection.writer.wait_closed()) for connection in closing]
        await asyncio.wait(waits, timeout=_CLOSE_SECONDS)
        for connection, wait in zip(closing, waits, strict=True):
            if wait.done():
                with contextlib.suppress(asyncio.CancelledError, OSError, ssl.SSLError):
                    wait.result()
            else:
                wait.cancel()
                connection.abort()

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        before_write: Callable[[], None] | None = None,
    ) -> HttpAnswer:
        """Send one request to the absolute ``url`` (``params`` URL-encoded onto it) and read the whole
        answer. ``headers`` go with this request only, in place of fixed ones of the same name. Raises
        ``TransportError`` when no complete answer came; ``ValueError`` for a bad URL or header, before
        anything is sent.

        ``before_write`` is called once a connection is ready, just before the first byte is written:
        the moment the request can start to reach the server. A call cancelled before it (waiting for a
        slot or for a connection to open) sent nothing; the order pipeline's ``note_request_sent`` goes
        here."""
        origin, target = self._split(url)
        if params:
            target = f"{target}{'&' if '?' in target else '?'}{urlencode(params)}"
        length = (
            b""
            if body is None and method in _NO_CONTENT_METHODS
            else b"Content-Length: %d\r\n" % len(body or b"")
        )
        head = b"%s %s HTTP/1.1\r\nHost: %s\r\n%s%s\r\n" % (
            method.encode("ascii"),
            target.encode("ascii"),
            origin.authority,
            _header_lines(_one_per_name({**self._fixed_headers, **headers})) if headers else self._fixed,
            length,
        )
        self._refuse_if_closed(method, origin)
        await self._slots.take()
        try:
            self._refuse_if_closed(method, origin)  # closed while this request waited for a slot
            connection = await self._connection(method, origin)
            if self._closed:  # closed while its connection opened: nothing was sent on it
                connection.abort()
                self._refuse_if_closed(method, origin)
            self._busy.add(connection)
            reusable = False
            try:
                if before_write is not None:
                    before_write()
                answer, reusable = await _exchange(connection, head, body, method, origin)
            finally:
                self._busy.discard(connection)
                self._put_back(origin, connection, reusable)
            return answer
        finally:
            self._slots.give()

    def _refuse_if_closed(self, method: str, origin: _Origin) -> None:
        if self._closed:
            raise TransportError(f"{method} {origin}: the transport is closed", sent=False)

    # ------------------------------------------------------------------ connections

    def _split(self, url: str) -> tuple[_Origin, str]:
        start = url.find("//")
        end = 0
        if start >= 0:
            ends = [i for i in (url.find(c, start + 2) for c in "/?#") if i >= 0]
            end = min(ends) if ends else len(url)
        base, target = url[:end], url[end:].partition("#")[0]
        if not target.startswith("/"):
            target = "/" + target
        origin = self._origins.get(base)
        if origin is None:
            origin = self._origins[base] = _origin(base, url)
        if not (target.isascii() and target.isprintable()) or " " in target:
            target = quote(target, safe=_TARGET_SAFE)
        return origin, target

    async def _connection(self, method: str, origin: _Origin) -> _Connection:
        idle = self._idle.get(origin)
        if idle:
            now = time.monotonic()
            while idle:
                connection = idle.pop()
                if connection.usable(now, self._idle_seconds):
                    return connection
                connection.abort()
        try:
            reader, writer = await asyncio.open_connection(
                origin.host,
                origin.port,
                ssl=(self._ssl_context or _default_ssl_context()) if origin.tls else None,
                server_hostname=origin.host if origin.tls else None,
                limit=MAX_HEAD_BYTES,
                happy_eyeballs_delay=0.25,
            )
        except ssl.SSLCertVerificationError as exc:
            raise TransportError(
                f"{method} {origin}: the server's certificate is not trusted ({exc.verify_message})",
                sent=False,
            ) from exc
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError) as exc:
            raise TransportError(f"{method} {origin}: cannot connect ({_reason(exc)})", sent=False) from exc
        return _Connection(reader, writer)

    def _put_back(self, origin: _Origin, connection: _Connection, reusable: bool) -> None:
        idle = self._idle.setdefault(origin, [])
        if reusable and not self._closed and len(idle) < self._connections:
            now = connection.idle_since = time.monotonic()
            while idle and idle[0].expired(now, self._idle_seconds):  # the longest idle retired on time
                idle.pop(0).abort()
            idle.append(connection)
        else:
            connection.abort()


async def _exchange(
    connection: _Connection, head: bytes, body: bytes | None, method: str, origin: _Origin
) -> tuple[HttpAnswer, bool]:
    """Write one request on ``connection`` and read its answer; returns it and whether the connection can
    carry another request. Every failure here is ``sent=None``: the request may have been read."""
    writer, reader = connection.writer, connection.reader
    try:
        writer.write(head + body if body else head)
        if writer.transport.get_write_buffer_size():
            await writer.drain()
        while True:
            status, headers, keep_alive = _parse_head(await reader.readuntil(b"\r\n\r\n"))
            if status >= 200 or status == 101:
                break
        content = await _read_body(reader, method, status, headers)
        if content is None:  # the body runs to the end of the connection
            return HttpAnswer(status, headers, _decoded(await reader.read(), headers)), False
        if (announced := headers.get("Keep-Alive")) is not None:
            connection.server_idle_seconds = _server_idle_seconds(announced)
        return HttpAnswer(status, headers, content), keep_alive
    except asyncio.IncompleteReadError as exc:
        what = (
            "closed the connection before answering"
            if not exc.partial
            else "closed the connection mid-answer"
        )
        raise TransportError(f"{method} {origin}: the server {what}", sent=None) from exc
    except (OSError, ssl.SSLError, EOFError) as exc:
        raise TransportError(f"{method} {origin}: the connection failed ({_reason(exc)})", sent=None) from exc
    except (ValueError, asyncio.LimitOverrunError, zlib.error, UnicodeDecodeError) as exc:
        raise TransportError(
            f"{method} {origin}: the answer is not valid HTTP ({_reason(exc)})", sent=None
        ) from exc


def _parse_head(raw: bytes) -> tuple[int, CIMultiDictProxy[str], bool]:
    """The status, headers and keep-alive of an answer head (status line and header lines)."""
    lines = raw[:-4].decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    if not version.startswith("HTTP/1.") or len(rest) < 3 or not rest[:3].isdigit():
        raise ValueError(f"bad status line {lines[0][:80]!r}")
    headers: CIMultiDict[str] = CIMultiDict()
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise ValueError(f"bad header line {line[:80]!r}")
        headers.add(name, value.strip())
    connection = headers.get("Connection", "").lower()
    keep_alive = "close" not in connection and (version == "HTTP/1.1" or "keep-alive" in connection)
    return int(rest[:3]), CIMultiDictProxy(headers), keep_alive


async def _read_body(
    reader: asyncio.StreamReader, method: str, status: int, headers: CIMultiDictProxy[str]
) -> bytes | None:
    """The answer's body, decoded; ``None`` when it runs to the end of the connection (read by the
    caller, and the connection not kept)."""
    if method == "HEAD" or status in _NO_BODY_STATUSES or status == 101:
        return b""
    if "chunked" in headers.get("Transfer-Encoding", "").lower():
        content = await _read_chunked(reader)
    elif (length := headers.getall("Content-Length", None)) is not None:
        if len(set(length)) != 1 or not length[0].isdigit():
            raise ValueError(f"bad Content-Length {length!r}")
        content = await reader.readexactly(int(length[0]))
    else:
        return None
    return _decoded(content, headers)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # trailer fields: nothing here reads them
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise ValueError("a chunk does not end with CRLF")


def _decoded(content: bytes, headers: CIMultiDictProxy[str]) -> bytes:
    """``content`` with its ``Content-Encoding`` undone (gzip of one member or several, RFC 1952 §2.2;
    deflate, zlib-wrapped or raw as some servers send it)."""
    encoding = headers.get("Content-Encoding")
    if not encoding or encoding.lower() == "identity":
        return content
    coding = encoding.lower()
    if coding in ("gzip", "x-gzip"):
        parts = []
        while True:
            member = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            parts.append(member.decompress(content))
            if not member.eof:
                raise ValueError("the gzip body is cut short")
            content = member.unused_data
            if not content:
                return b"".join(parts)
    if coding == "deflate":
        try:
            return zlib.decompress(content)
        except zlib.error:
            return zlib.decompress(content, wbits=-zlib.MAX_WBITS)  # raw deflate, as some servers send
    raise ValueError(f"unsupported Content-Encoding {encoding!r}")


def _origin(base: str, url: str) -> _Origin:
    scheme, sep, netloc = base.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in _DEFAULT_PORTS or not netloc or "@" in netloc:
        raise ValueError(f"not an http(s) URL with a host: {url!r}")
    host, port = netloc, _DEFAULT_PORTS[scheme]
    if netloc.startswith("["):
        close = netloc.find("]")
        host, rest = netloc[1:close], netloc[close + 1 :]
        if rest.startswith(":"):
            port = _port(rest[1:], url)
    elif ":" in netloc:
        host, _, text = netloc.rpartition(":")
        port = _port(text, url)
    if not host:
        raise ValueError(f"not an http(s) URL with a host: {url!r}")
    name = f"[{host}]" if ":" in host else host.encode("idna").decode("ascii")
    authority = name if port == _DEFAULT_PORTS[scheme] else f"{name}:{port}"
    return _Origin(scheme, host, port, authority.encode("ascii"))


def _port(text: str, url: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"bad port in URL {url!r}")
    return int(text)


def _server_idle_seconds(keep_alive: str) -> float:
    """From a ``Keep-Alive: timeout=5, max=100`` header, how long to keep the connection idle: a second
    less than the server's timeout, so that a request never meets the server closing it."""
    for part in keep_alive.split(","):
        name, _, value = part.strip().partition("=")
        if name.lower() == "timeout" and value.strip().isdigit():
            return max(int(value) - 1.0, 0.0)
    return float("inf")


def _one_per_name(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` with one value per name, ignoring case: the later value of a name wins. The framing
    headers are the transport's own and are left out."""
    latest = {name.lower(): (name, value) for name, value in headers.items()}
    return {name: value for key, (name, value) in latest.items() if key not in _FRAMING_HEADERS}


def _header_lines(headers: Mapping[str, str]) -> bytes:
    """The header lines of ``headers``. A bad one is a ``ValueError`` that names the header, never its
    value (which may be a key)."""
    lines = []
    for name, value in headers.items():
        if not name or any(c in name or c in value for c in "\r\n"):
            raise ValueError(f"header {name!r} has a line break or no name")
        try:
            lines.append(f"{name}: {value}\r\n".encode("latin-1"))
        except UnicodeEncodeError:
            raise ValueError(f"header {name!r} has characters outside Latin-1") from None
    return b"".join(lines)


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    """The system's trust store, loaded once (loading it takes milliseconds)."""
    return ssl.create_default_context()

"""Loopback helpers shared by the test folders (imported by name: the tests folder is on the path): an
``aiohttp.web`` application served on 127.0.0.1 for the length of a test, and a port where a connection
never opens."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import AsyncIterator, Iterator

from aiohttp import web


@contextlib.asynccontextmanager
async def serving_app(app: web.Application) -> AsyncIterator[str]:
    """``app`` listening on a port the kernel picks; yields its base URL (``http://127.0.0.1:PORT``)."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def port_that_never_accepts(port: int = 0) -> Iterator[int]:
    """A loopback port (``port``, or one the kernel picks) where a new connection never opens: a listening
    socket whose accept queue is kept full, so the kernel drops further SYNs and a client's connect hangs,
    as with a venue behind a black hole. Yields the port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", port))
        listener.listen(0)
        for _ in range(3):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            fillers.append(filler)
            with contextlib.suppress(BlockingIOError):
                filler.connect(listener.getsockname())
        time.sleep(0.05)  # the fillers' handshakes complete and fill the queue
        yield listener.getsockname()[1]
    finally:
        for filler in fillers:
            filler.close()
        listener.close()

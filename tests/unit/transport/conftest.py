"""The transport tests' one fixture: the servers and transports of a test, all closed when it ends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from servers import Harness


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    harness = Harness()
    try:
        yield harness
    finally:
        await harness.close()

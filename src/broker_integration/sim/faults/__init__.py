"""Faults every face of a simulated venue can suffer, decided once and acted out alike.

:class:`FaultPlan` (in :mod:`.plan`) decides call by call whether a face misbehaves; the in-process paper
adapter asks it directly. :func:`fault_middleware` (in :mod:`.middleware`) acts its decisions out over HTTP
for every wire-protocol simulator, each rendering its own venue's error answers through a
:class:`WireFace`; :class:`WireSimulator` is the life cycle they share (listen, stop, ``async with``).
The middleware pulls in aiohttp's web framework, so it is imported when first asked for.
"""

from typing import TYPE_CHECKING

from broker_integration.lazy_exports import lazy_exports
from broker_integration.sim.faults.plan import Fault, FaultKind, FaultPlan

if TYPE_CHECKING:
    from broker_integration.sim.faults.middleware import (
        WireCounts,
        WireFace,
        WireSimulator,
        drop_connection,
        fault_middleware,
        serve,
        silent_stream_requested,
    )

__getattr__ = lazy_exports(
    __name__,
    {
        name: "broker_integration.sim.faults.middleware"
        for name in (
            "WireCounts",
            "WireFace",
            "WireSimulator",
            "drop_connection",
            "fault_middleware",
            "serve",
            "silent_stream_requested",
        )
    },
)

__all__ = [
    "Fault",
    "FaultKind",
    "FaultPlan",
    "WireCounts",
    "WireFace",
    "WireSimulator",
    "drop_connection",
    "fault_middleware",
    "serve",
    "silent_stream_requested",
]

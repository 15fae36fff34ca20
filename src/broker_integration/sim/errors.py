"""Exceptions the venue engine raises for requests it cannot even consider.

Order requests never raise: a refused order is an :class:`~broker_integration.sim.records.OrderOutcome`
with a reject reason, recorded in the transaction log. These exceptions are for lookups and queries
that name something the venue does not have, or ask for something malformed.
"""

from __future__ import annotations

__all__ = ["CandleRequestError", "SimulatorError", "UnknownAccountError", "UnknownInstrumentError"]


class SimulatorError(Exception):
    """Base of the engine's exceptions."""


class UnknownAccountError(SimulatorError, LookupError):
    """No account with that id at this venue."""


class UnknownInstrumentError(SimulatorError, LookupError):
    """The venue does not list that instrument."""


class CandleRequestError(SimulatorError, ValueError):
    """A candle query that cannot be answered (too many candles, contradictory bounds)."""

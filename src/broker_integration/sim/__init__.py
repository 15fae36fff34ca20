"""The simulated venue: deterministic prices, matching, accounts and faults behind every simulated broker.

:class:`VenueEngine` is the one engine; the paper adapter drives it in-process and wire-protocol
simulators serve it over HTTP. :class:`VenueProfile` sets what makes one venue differ from another.
"""

from broker_integration.sim.engine import VenueEngine, step_of, time_of
from broker_integration.sim.errors import (
    CandleRequestError,
    SimulatorError,
    UnknownAccountError,
    UnknownInstrumentError,
)
from broker_integration.sim.faults import Fault, FaultKind, FaultPlan
from broker_integration.sim.hours import ALWAYS_OPEN, FX_HOURS, US_EQUITY_HOURS, MarketHours, WeeklySession
from broker_integration.sim.instruments import DEFAULT_INSTRUMENTS, InstrumentSpec, default_instruments
from broker_integration.sim.prices import PricePath
from broker_integration.sim.profile import PRESETS, CommissionModel, LatencyModel, VenueProfile
from broker_integration.sim.records import (
    AccountSnapshot,
    Bar,
    CancelReason,
    CreateReason,
    FillReason,
    OrderChanges,
    OrderOutcome,
    OrderRequest,
    OrderState,
    OrderView,
    PositionSnapshot,
    Quote,
    RejectReason,
    TradeChange,
    TradeCloseOutcome,
    TradeEffect,
    TradeRejectReason,
    TradeState,
    TradeView,
    Transaction,
    TransactionType,
)

__all__ = [
    "ALWAYS_OPEN",
    "DEFAULT_INSTRUMENTS",
    "FX_HOURS",
    "PRESETS",
    "US_EQUITY_HOURS",
    "AccountSnapshot",
    "Bar",
    "CancelReason",
    "CandleRequestError",
    "CommissionModel",
    "CreateReason",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "FillReason",
    "InstrumentSpec",
    "LatencyModel",
    "MarketHours",
    "OrderChanges",
    "OrderOutcome",
    "OrderRequest",
    "OrderState",
    "OrderView",
    "PositionSnapshot",
    "PricePath",
    "Quote",
    "RejectReason",
    "SimulatorError",
    "TradeChange",
    "TradeCloseOutcome",
    "TradeEffect",
    "TradeRejectReason",
    "TradeState",
    "TradeView",
    "Transaction",
    "TransactionType",
    "UnknownAccountError",
    "UnknownInstrumentError",
    "VenueEngine",
    "VenueProfile",
    "WeeklySession",
    "default_instruments",
    "step_of",
    "time_of",
]

"""Constants shared by the Alpaca integration tests (a module of its own: conftest modules share one name)."""

from __future__ import annotations

from broker_integration.sim.alpaca import AlpacaSimSettings
from broker_integration.sim.profile import VenueProfile

#: Stocks trade around the clock here, so tests do not depend on the hour they run at.
ALWAYS_OPEN = VenueProfile(name="alpaca", enforce_trading_hours=False, initial_balance=1_000_000)
QUICK = AlpacaSimSettings(requests_per_minute=None, quote_interval=0.05)

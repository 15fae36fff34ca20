"""The last quote seen per broker and instrument: the arrival benchmark when the call carried none, and the
later quote an unfilled remainder's opportunity cost is measured against."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from broker_integration.models import PriceTick

__all__ = ["QuoteBook"]


class QuoteBook:
    """Latest tick per (broker, instrument), fed by the collector's price probes and :meth:`note`."""

    def __init__(self, max_age: timedelta = timedelta(seconds=5)) -> None:
        self.max_age = max_age
        self._ticks: dict[tuple[str, str], PriceTick] = {}
        self._latest: dict[str, PriceTick] = {}

    def note(self, broker: str, tick: PriceTick) -> None:
        self._ticks[(broker, tick.instrument)] = tick
        latest = self._latest.get(broker)
        if latest is None or tick.time >= latest.time:
            self._latest[broker] = tick

    def quote_at(self, broker: str, instrument: str, when: datetime) -> PriceTick | None:
        """The last quote if it was taken within ``max_age`` of ``when``, else ``None``."""
        tick = self._ticks.get((broker, instrument))
        if tick is None or abs(when - tick.time) > self.max_age:
            return None
        return tick

    def mid_at(self, broker: str, instrument: str, when: datetime) -> Decimal | None:
        """The mid of :meth:`quote_at`."""
        tick = self.quote_at(broker, instrument, when)
        return tick.mid if tick is not None else None

    def last_tick(self, broker: str) -> PriceTick | None:
        """The newest quote of any instrument of ``broker``."""
        return self._latest.get(broker)

    def forget(self, broker: str) -> None:
        self._latest.pop(broker, None)
        for key in [k for k in self._ticks if k[0] == broker]:
            del self._ticks[key]

"""What the seed README leaves to its user: a broker adapter written exactly as its "Adding a New Broker"
guide shows it (``__init__(self, config: Dict[str, Any])``, ``authenticate(self, credentials: Dict[str,
str])``), which delegates the trading to an embedded paper venue, and a market order to trade.

The seed's scripts in ``test_seed_readme.py`` import these names where the seed uses them undefined.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any

from pydantic import SecretStr

from broker_integration import (
    BrokerAdapter,
    BrokerConfiguration,
    OrderSide,
    OrderType,
    UnifiedOrder,
)
from broker_integration.adapters.paper import PaperBrokerAdapter
from broker_integration.models import (
    Account,
    AccountSummary,
    Candle,
    Granularity,
    Instrument,
    Order,
    OrderModification,
    OrderResult,
    Position,
    PriceTick,
)

#: The API keys this pretend broker accepts and their secrets, as a real broker's key store would.
ACCEPTED_KEYS = {"key": "secret", "test_key": None}


def _plain(value: Any) -> str | None:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


class NewBrokerAdapter(BrokerAdapter):
    def __init__(self, config: dict[str, Any]):
        super().__init__(config)
        # Initialize broker-specific configuration
        options = config.get("options") or {}
        venue = BrokerConfiguration(
            broker_name=config["broker_name"],
            adapter="paper",
            options={"seed": options.get("seed", 1), "enforce_trading_hours": False},
        )
        self._venue = PaperBrokerAdapter(venue)
        self.received_api_key: str | None = None

    async def authenticate(self, credentials: dict[str, str]) -> bool:
        # Implement broker authentication: refuse what the broker would refuse (a masked key, say).
        api_key = _plain(credentials["api_key"])
        self.received_api_key = api_key
        if api_key not in ACCEPTED_KEYS or ACCEPTED_KEYS[api_key] != _plain(credentials.get("secret_key")):
            return False
        return await self._venue.authenticate()

    async def disconnect(self) -> None:
        await self._venue.disconnect()

    async def place_order(self, order: UnifiedOrder) -> OrderResult:
        return await self._venue.place_order(order)

    async def modify_order(self, order_id: str, modification: OrderModification) -> OrderResult:
        return await self._venue.modify_order(order_id, modification)

    async def cancel_order(self, order_id: str) -> OrderResult:
        return await self._venue.cancel_order(order_id)

    async def get_orders(self, instrument: str | None = None, *, include_closed: bool = False) -> list[Order]:
        return await self._venue.get_orders(instrument, include_closed=include_closed)

    async def get_order(self, order_id: str) -> Order:
        return await self._venue.get_order(order_id)

    async def get_positions(self, instrument: str | None = None) -> list[Position]:
        return await self._venue.get_positions(instrument)

    async def close_position(self, instrument: str, quantity: Decimal | None = None) -> OrderResult:
        return await self._venue.close_position(instrument, quantity)

    async def get_current_price(self, instrument: str) -> PriceTick:
        return await self._venue.get_current_price(instrument)

    async def stream_prices(self, instruments: Sequence[str]) -> AsyncIterator[PriceTick]:
        async for tick in self._venue.stream_prices(instruments):
            yield tick

    async def get_historical_data(
        self, instrument: str, granularity: Granularity = Granularity.H1, **kwargs: Any
    ) -> list[Candle]:
        return await self._venue.get_historical_data(instrument, granularity, **kwargs)

    async def get_account_summary(self, account_id: str | None = None) -> AccountSummary:
        return await self._venue.get_account_summary(account_id)

    async def get_accounts(self) -> list[Account]:
        return await self._venue.get_accounts()

    async def get_instruments(self) -> list[Instrument]:
        return await self._venue.get_instruments()


#: The seed's quick start registers it under this name.
MyBrokerAdapter = NewBrokerAdapter


def btc_order(quantity: str = "0.01") -> UnifiedOrder:
    """A market order on a pair that trades around the clock."""
    return UnifiedOrder(
        instrument="BTC/USD", side=OrderSide.BUY, order_type=OrderType.MARKET, quantity=Decimal(quantity)
    )

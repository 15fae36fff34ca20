"""Making a CCXT adapter: what it is told is checked before anything is sent, and what ccxt declares for the
exchange becomes the adapter's declaration. No test here opens a connection."""

from __future__ import annotations

from typing import Any

import pytest

from broker_integration.adapters.ccxt import CcxtAdapter
from broker_integration.adapters.ccxt.exchange import rewrite_urls
from broker_integration.broker_config import BrokerConfiguration
from broker_integration.config.errors import ConfigError
from broker_integration.errors import AuthenticationError, StandardErrorCode
from broker_integration.events import EventBus
from broker_integration.models import Delivery, OrderModification, OrderStatus, TimeInForce
from broker_integration.pipeline import BrokerCapability

C = BrokerCapability
#: A loopback port nothing listens on: a request that left would fail loudly, none may leave here.
NOWHERE = "http://127.0.0.1:9"


def adapter(exchange: str = "binance", *, environment: str = "practice", **options: Any) -> CcxtAdapter:
    config: dict[str, Any] = {
        "broker_name": "venue",
        "adapter": "ccxt",
        "credentials": {"api_key": "k" * 64, "secret_key": "s" * 64, "environment": environment},
        "options": {"exchange": exchange, **options},
    }
    if environment != "live":
        config["endpoints"] = {"base_url": NOWHERE, "stream_url": "ws://127.0.0.1:9"}
    return CcxtAdapter(BrokerConfiguration.from_dict(config), event_bus=EventBus())


def refusal(**options: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        adapter(**options)
    return str(caught.value)


def test_an_unknown_exchange_is_refused_naming_the_closest() -> None:
    message = refusal(exchange="binanse")
    assert "venue.options.exchange" in message
    assert "ccxt has no exchange 'binanse'; did you mean binance" in message


def test_options_are_typed_and_a_misspelt_one_is_named() -> None:
    assert "did you mean 'poll_interval'" in refusal(pol_interval=2)
    assert "venue.options.market_type" in refusal(market_type="margin")
    with pytest.raises(ConfigError, match=r"venue\.options\.exchange"):
        CcxtAdapter(BrokerConfiguration.from_dict({"broker_name": "venue", "adapter": "ccxt"}))


def test_a_practice_credential_never_reaches_production_urls() -> None:
    sandboxed = CcxtAdapter(
        BrokerConfiguration.from_dict(
            {
                "broker_name": "venue",
                "options": {"exchange": "binance"},
                "credentials": {"environment": "sandbox"},
            }
        )
    )
    assert sandboxed.exchange.urls["api"]["public"].startswith("https://testnet.binance.vision")
    with pytest.raises(ConfigError, match="kraken has no sandbox in ccxt"):
        CcxtAdapter(
            BrokerConfiguration.from_dict(
                {
                    "broker_name": "venue",
                    "options": {"exchange": "kraken"},
                    "credentials": {"environment": "practice"},
                }
            )
        )
    live = adapter("kraken", environment="live")
    assert live.exchange.urls["api"]["public"].startswith("https://api.kraken.com")


def test_endpoints_replace_every_host_and_keep_the_paths() -> None:
    urls = {"public": "https://api.binance.com/api/v3", "ws": {"spot": "wss://stream.binance.com:9443/ws"}}
    assert rewrite_urls(urls, "http://127.0.0.1:5000", "ws://127.0.0.1:5001") == {
        "public": "http://127.0.0.1:5000/api/v3",
        "ws": {"spot": "ws://127.0.0.1:5001/ws"},
    }
    venue = adapter()
    assert all(
        url.startswith(NOWHERE)
        for url in (venue.exchange.urls["api"][k] for k in ("public", "private", "sapi"))
    )


def test_websockets_asked_for_where_ccxt_pro_has_none_are_refused() -> None:
    assert "use order_updates: polling" in refusal(exchange="coinsph", order_updates="websocket")


def test_the_declaration_follows_the_exchanges_has_flags() -> None:
    binance = adapter()
    declared = binance.declaration
    assert declared.capabilities is not None
    assert {
        C.MARKET_ORDERS,
        C.LIMIT_ORDERS,
        C.STOP_LIMIT_ORDERS,
        C.MODIFY_ORDERS,
        C.ORDER_UPDATES,
    } <= declared.capabilities
    assert C.STOP_ORDERS not in declared.capabilities  # ccxt: binance createStopMarketOrder is False
    assert C.POSITIONS not in declared.capabilities  # spot has balances, not positions
    assert declared.time_in_force == {TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK}
    assert declared.default_limits is not None
    assert declared.default_limits.requests_per_second == pytest.approx(20)  # 1000 / rateLimit 50 ms
    assert declared.notes[C.ORDER_UPDATES] == "websocket: ccxt.pro watchOrders"
    polled = adapter(order_updates="polling", prices="polling", poll_interval=2)
    assert polled.declaration.notes[C.ORDER_UPDATES] == "polling: fetchOpenOrders and fetchOrder every 2 s"
    edited = adapter(has={"editOrder": False})
    assert C.MODIFY_ORDERS not in (edited.declaration.capabilities or ())
    swaps = adapter(market_type="swap")
    assert C.POSITIONS in (swaps.declaration.capabilities or ())
    assert adapter("coinsph").declaration.capabilities is not None
    assert C.MODIFY_ORDERS not in (adapter("coinsph").declaration.capabilities or ())


async def test_a_method_the_exchange_lacks_is_refused_before_sending() -> None:
    """coinsph has no editOrder in ccxt: modifying an order there is UNSUPPORTED, never sent."""
    venue = adapter("coinsph", order_updates="polling", prices="polling")
    result = await venue.modify_order("42", OrderModification(price=1))
    assert result.status is OrderStatus.REJECTED
    assert result.delivery is Delivery.NOT_SENT
    assert result.error is not None
    assert result.error.error_code is StandardErrorCode.UNSUPPORTED_OPERATION
    assert "coinsph has no editOrder in ccxt" in result.error.message
    await venue.disconnect()


async def test_missing_credentials_are_named_before_sending() -> None:
    venue = CcxtAdapter(
        BrokerConfiguration.from_dict(
            {"broker_name": "venue", "options": {"exchange": "binance"}, "endpoints": {"base_url": NOWHERE}}
        )
    )
    with pytest.raises(AuthenticationError, match="binance needs apiKey, secret"):
        await venue.authenticate()
    await venue.disconnect()


def test_secrets_stay_out_of_reprs() -> None:
    venue = adapter(password="p" * 20)
    for text in (repr(venue), repr(venue.client), repr(venue.options)):
        assert "k" * 64 not in text
        assert "s" * 64 not in text
        assert "p" * 20 not in text


@pytest.mark.parametrize("exchange", ["binance", "kraken", "coinbase"])
def test_one_rate_limiter_paces_the_calls_ours_with_ccxts_switched_off(exchange: str) -> None:
    """ccxt's own limiter would wait inside the call, where the measured latency cannot tell it apart; the
    pipeline's, paced from the exchange's published rate, is the one that runs."""
    venue = adapter(exchange, order_updates="polling", prices="polling")
    assert venue.exchange.enableRateLimit is False
    assert "rate_limit" in venue.interceptor_names
    assert venue.resilience is not None
    assert venue.resilience.requests is not None
    assert venue.resilience.requests.rate == pytest.approx(1000 / venue.exchange.rateLimit)

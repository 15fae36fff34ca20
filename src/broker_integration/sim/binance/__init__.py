"""A Binance spot REST simulator: the venue engine served over HTTP as Binance's spot API serves it.

Why Binance spot rather than Kraken: Binance publishes its spot API as a versioned repository
(github.com/binance/binance-spot-api-docs) with every error code and message (``errors.md``), every
filter and how it is checked (``filters.md``), every enum, each endpoint's weight and parameters, and a
changelog; Kraken's REST documentation has no catalogue of its error strings nor of its checks. Binance's
``newClientOrderId`` is also a first-class client order id, queryable by ``origClientOrderId``, which is
what settling an unknown outcome needs.

``BinanceSimulator`` runs in-process (tests, the demo) or from the command line
(``broker-integration simulate binance``); the real ``ccxt`` ``binance`` class is its client
(:meth:`BinanceSimulator.ccxt_config`).
"""

from typing import TYPE_CHECKING

from broker_integration.lazy_exports import lazy_exports
from broker_integration.sim.binance.settings import ApiKey, SimulatorSettings, new_api_key

if TYPE_CHECKING:
    from broker_integration.sim.binance.server import BinanceSimulator

#: The server pulls in aiohttp's web framework: imported when a simulator is made, not with the package.
__getattr__ = lazy_exports(__name__, {"BinanceSimulator": "broker_integration.sim.binance.server"})

__all__ = ["ApiKey", "BinanceSimulator", "SimulatorSettings", "new_api_key"]

"""Alpaca (Trading API v2, Market Data API v2, websockets): the adapter (``AlpacaAdapter``), its options
(:mod:`.config`), hosts (:mod:`.hosts`), error table (:mod:`.errors`) and protocol helpers (``client``,
``parsing``, ``streams``, ``updates``).

The adapter pulls in aiohttp: it is imported when first asked for, so reading Alpaca's options, hosts or
error table does not load the HTTP client.
"""

from typing import TYPE_CHECKING

from broker_integration.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from broker_integration.adapters.alpaca.adapter import AlpacaAdapter
    from broker_integration.adapters.alpaca.config import AlpacaOptions

__getattr__ = lazy_exports(
    __name__,
    {
        "AlpacaAdapter": "broker_integration.adapters.alpaca.adapter",
        "AlpacaOptions": "broker_integration.adapters.alpaca.config",
    },
)

__all__ = ["AlpacaAdapter", "AlpacaOptions"]

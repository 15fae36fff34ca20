"""OANDA v20: the adapter (``OandaAdapter``), its options (:mod:`.config`), hosts (:mod:`.hosts`), error
table (:mod:`.errors`) and protocol helpers (``client``, ``parsing``).

The adapter pulls in aiohttp: it is imported when first asked for, so reading OANDA's options, hosts or error
table does not load the HTTP client.
"""

from typing import TYPE_CHECKING

from broker_integration.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from broker_integration.adapters.oanda.adapter import OandaAdapter
    from broker_integration.adapters.oanda.config import OandaOptions

__getattr__ = lazy_exports(
    __name__,
    {
        "OandaAdapter": "broker_integration.adapters.oanda.adapter",
        "OandaOptions": "broker_integration.adapters.oanda.config",
    },
)

__all__ = ["OandaAdapter", "OandaOptions"]

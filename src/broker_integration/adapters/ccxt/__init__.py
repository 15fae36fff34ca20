"""Crypto venues through CCXT: the adapter (``CcxtAdapter``, one class for every exchange ccxt reaches,
the exchange named in ``options.exchange``), its options (:mod:`.config`) and error table (:mod:`.errors`).

Behind the extra ``broker-integration[ccxt]``. ccxt is imported when an adapter is made, never with this
package: ``import broker_integration`` and the command line start without it.
"""

from typing import TYPE_CHECKING

from broker_integration.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from broker_integration.adapters.ccxt.adapter import CcxtAdapter
    from broker_integration.adapters.ccxt.config import CcxtOptions

__getattr__ = lazy_exports(
    __name__,
    {
        "CcxtAdapter": "broker_integration.adapters.ccxt.adapter",
        "CcxtOptions": "broker_integration.adapters.ccxt.config",
    },
)

__all__ = ["CcxtAdapter", "CcxtOptions"]

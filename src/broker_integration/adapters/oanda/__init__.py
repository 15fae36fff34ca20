"""OANDA v20: the adapter (``OandaAdapter``) and its protocol helpers (``client``, ``parsing``, ``errors``).

``OandaAdapter`` is imported on first use, so that importing a sibling module such as the error table
(:mod:`broker_integration.adapters.oanda.errors`) does not pull in the adapter and its HTTP client.
"""

from typing import TYPE_CHECKING

from broker_integration.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from broker_integration.adapters.oanda.adapter import OandaAdapter

__all__ = ["OandaAdapter"]

__getattr__ = lazy_exports(__name__, {"OandaAdapter": "broker_integration.adapters.oanda.adapter"})

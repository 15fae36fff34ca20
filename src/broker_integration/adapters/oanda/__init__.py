"""OANDA v20: the adapter (``OandaAdapter``) and its protocol helpers."""

from broker_integration.adapters.oanda.adapter import OandaAdapter

__all__ = ["OandaAdapter"]

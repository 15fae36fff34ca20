"""The embedded paper broker: trade against a simulated venue in the same process, with no account."""

from broker_integration.adapters.paper.adapter import DEFAULT_ACCOUNT_ID, PaperBrokerAdapter

__all__ = ["DEFAULT_ACCOUNT_ID", "PaperBrokerAdapter"]

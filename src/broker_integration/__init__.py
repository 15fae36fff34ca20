"""broker_integration: one interface to many brokers."""

from broker_integration.broker_adapter import BrokerAdapter, BrokerCapability
from broker_integration.models import OrderResult, UnifiedOrder

__version__ = "0.1.0"
__all__ = ["BrokerAdapter", "BrokerCapability", "OrderResult", "UnifiedOrder", "__version__"]

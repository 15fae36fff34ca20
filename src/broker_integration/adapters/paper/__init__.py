"""The embedded paper broker: trade against a simulated venue in the same process, with no account.

The adapter (``PaperBrokerAdapter``) and its options (``PaperOptions``) are imported when first asked for,
so reading the options model does not build the venue engine's machinery.
"""

from typing import TYPE_CHECKING

from broker_integration.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from broker_integration.adapters.paper.adapter import DEFAULT_ACCOUNT_ID, PaperBrokerAdapter
    from broker_integration.adapters.paper.config import PaperOptions

__getattr__ = lazy_exports(
    __name__,
    {
        "DEFAULT_ACCOUNT_ID": "broker_integration.adapters.paper.adapter",
        "PaperBrokerAdapter": "broker_integration.adapters.paper.adapter",
        "PaperOptions": "broker_integration.adapters.paper.config",
    },
)

__all__ = ["DEFAULT_ACCOUNT_ID", "PaperBrokerAdapter", "PaperOptions"]

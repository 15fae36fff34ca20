"""The Alpaca wire-protocol simulator: the venue engine served as Alpaca serves its Trading API v2, Market
Data API v2 and websockets.

``AlpacaSimulator`` runs in-process (tests, the demo) or from the command line
(``broker-integration simulate alpaca``). Facts it follows: ``shared/reference/broker_apis.md`` §2 and §4.
"""

from typing import TYPE_CHECKING

from broker_integration.lazy_exports import lazy_exports
from broker_integration.sim.alpaca.listing import ListedAsset, default_listing
from broker_integration.sim.alpaca.settings import AlpacaSimSettings, new_key_id, new_secret_key

if TYPE_CHECKING:
    from broker_integration.sim.alpaca.server import AlpacaSimulator

#: The server pulls in aiohttp's web framework: imported when a simulator is made, not with the package.
__getattr__ = lazy_exports(__name__, {"AlpacaSimulator": "broker_integration.sim.alpaca.server"})

__all__ = [
    "AlpacaSimSettings",
    "AlpacaSimulator",
    "ListedAsset",
    "default_listing",
    "new_key_id",
    "new_secret_key",
]

"""The OANDA v20 wire-protocol simulator: the venue engine served over HTTP as OANDA serves it.

``OandaSimulator`` runs in-process (tests, the demo) or from the command line
(``broker-integration simulate oanda``). Facts it follows: ``shared/reference/broker_apis.md`` §1 and §4.
"""

from typing import TYPE_CHECKING

from broker_integration.lazy_exports import lazy_exports
from broker_integration.sim.oanda.settings import Credential, SimulatorSettings, new_account_id, new_token

if TYPE_CHECKING:
    from broker_integration.sim.oanda.server import OandaSimulator
    from broker_integration.sim.oanda.state import ServedCounts

#: The server pulls in aiohttp's web framework: imported when a simulator is made, not with the package.
__getattr__ = lazy_exports(
    __name__,
    {
        "OandaSimulator": "broker_integration.sim.oanda.server",
        "ServedCounts": "broker_integration.sim.oanda.state",
    },
)

__all__ = [
    "Credential",
    "OandaSimulator",
    "ServedCounts",
    "SimulatorSettings",
    "new_account_id",
    "new_token",
]

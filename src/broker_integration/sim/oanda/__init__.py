"""The OANDA v20 wire-protocol simulator: the venue engine served over HTTP as OANDA serves it.

``OandaSimulator`` runs in-process (tests, the demo) or from the command line
(``broker-integration simulate oanda``). Facts it follows: ``shared/reference/broker_apis.md`` §1 and §4.
"""

from broker_integration.sim.oanda.server import OandaSimulator
from broker_integration.sim.oanda.settings import Credential, SimulatorSettings, new_account_id, new_token
from broker_integration.sim.oanda.state import ServedCounts

__all__ = [
    "Credential",
    "OandaSimulator",
    "ServedCounts",
    "SimulatorSettings",
    "new_account_id",
    "new_token",
]

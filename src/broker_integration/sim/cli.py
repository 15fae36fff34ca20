"""``broker-integration simulate <broker>``: run one of the wire-protocol simulators on this machine.

``simulate_app`` is the Typer group the main CLI mounts as ``simulate``. The simulators it knows are
registered in :data:`SIMULATORS` by module path, each a Typer command function in its own
``sim/<broker>/cli.py``, imported only when it runs or when the help lists it. A name the registry does not
know is a usage error that lists the known ones (exit code 2), never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping

from broker_integration.cli.lazy import LazyGroup, command_group

__all__ = ["SIMULATORS", "simulate_app"]

#: Simulator name → ``module:function`` of its command (a Typer command function).
SIMULATORS: Mapping[str, str] = {
    "alpaca": "broker_integration.sim.alpaca.cli:alpaca_command",
    "binance": "broker_integration.sim.binance.cli:binance_command",
    "oanda": "broker_integration.sim.oanda.cli:oanda_command",
}


class _Simulators(LazyGroup):
    """The ``simulate`` group: its commands are the registry's, loaded on first use."""

    noun = "simulator"

    def registry(self) -> Mapping[str, str]:
        return SIMULATORS


simulate_app = command_group(
    "simulate",
    "Run a broker's wire-protocol simulator on this machine (loopback), over the simulated venue.",
    cls=_Simulators,
)


@simulate_app.callback()
def _simulate() -> None:
    """Wire-protocol simulators: point a real client at them instead of the broker."""

"""``python -m broker_integration.sim.binance [--port N …]``: the ``simulate binance`` command on its own."""

import typer

from broker_integration.sim.binance.cli import binance_command

typer.run(binance_command)

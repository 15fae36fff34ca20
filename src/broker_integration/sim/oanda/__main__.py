"""``python -m broker_integration.sim.oanda [--port N …]``: the ``simulate oanda`` command on its own."""

import typer

from broker_integration.sim.oanda.cli import oanda_command

typer.run(oanda_command)

"""``python -m broker_integration.sim.alpaca [--port N …]``: the ``simulate alpaca`` command on its own."""

import typer

from broker_integration.sim.alpaca.cli import alpaca_command

typer.run(alpaca_command)

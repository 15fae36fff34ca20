"""``python -m broker_integration`` runs the command-line tool."""

from broker_integration.cli import main

main()

"""The ``broker-integration`` command line (``python -m broker_integration``).

:data:`app` is the root Typer app (:mod:`.root`); each sub-command is imported only when it runs. Shared
pieces: :mod:`.options` (``--store``, ``--env``), :mod:`.output` (consoles, JSON, one-line failures),
:mod:`.failures` (what an unhandled failure says), :mod:`.lazy` (groups that load commands on first use).
"""

from broker_integration.cli.root import app, main

__all__ = ["app", "main"]

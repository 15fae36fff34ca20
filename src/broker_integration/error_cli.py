"""The ``errors`` sub-command moved to :mod:`broker_integration.errors.cli`; the old path keeps working."""

from broker_integration.errors.cli import (
    analyze_command,
    errors_app,
    map_command,
    parse_duration,
    tables_command,
)

__all__ = ["analyze_command", "errors_app", "map_command", "parse_duration", "tables_command"]

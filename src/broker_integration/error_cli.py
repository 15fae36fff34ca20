"""The ``errors`` sub-command moved to :mod:`broker_integration.errors.cli`; the old path keeps working."""

from broker_integration.errors.cli import errors_app, parse_duration

__all__ = ["errors_app", "parse_duration"]

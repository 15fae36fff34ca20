"""``broker-integration brokers``: the adapters this installation can create, plugins included."""

from __future__ import annotations

from rich.table import Table

from broker_integration.broker_factory import BrokerFactory
from broker_integration.cli.output import command_console

__all__ = ["brokers_command"]


def brokers_command() -> None:
    """List the adapters this installation can create, plugins included."""
    factory = BrokerFactory()
    table = Table(title="Registered broker adapters")
    table.add_column("name")
    table.add_column("class")
    table.add_column("capabilities")
    for name in factory.list_adapters():
        cls = factory.get_adapter_class(name)
        caps = ", ".join(sorted(c.value for c in cls.declared_capabilities()))
        table.add_row(name, f"{cls.__module__}.{cls.__qualname__}", caps)
    console = command_console()
    console.print(table)
    for name, problem in factory.plugin_errors.items():
        console.print(f"[yellow]plugin {name} not loaded:[/] {problem}", highlight=False)

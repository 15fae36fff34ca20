"""``broker-integration discover BROKER --type static|dynamic|synthetic [--json]``.

:func:`discover_command` is a plain function; the top-level command mounts it with
``app.command("discover")(discover_command)``. The broker is created through :class:`BrokerFactory`: the
paper broker needs no configuration; any other takes ``--config FILE`` (loaded with
:func:`broker_integration.config.load_path`), and without one the command says that it needs it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from broker_integration.broker_config import BrokerConfiguration
from broker_integration.broker_factory import BrokerFactory, FactoryError
from broker_integration.capabilities.cleanup import VERIFY_PROBE
from broker_integration.capabilities.options import MAX_SYNTHETIC_ORDERS, DiscoveryOptions
from broker_integration.capabilities.profile import CapabilityProfile, CapabilityTestType
from broker_integration.capabilities.report import render_profile
from broker_integration.cli.options import EnvOption
from broker_integration.cli.output import command_console
from broker_integration.config.errors import ConfigError
from broker_integration.config.loader import load_path
from broker_integration.errors import BrokerError

__all__ = ["discover_command"]

_out = command_console()
_err = command_console(stderr=True)


def _configuration(broker: str, config: Path | None, environment: str | None) -> BrokerConfiguration | None:
    if config is None:
        return None
    loaded = load_path(config, environment=environment)
    found = loaded.configs.get(broker) or next(
        (c for c in loaded.configs.values() if c.adapter_type == broker), None
    )
    if found is None:
        names = ", ".join(sorted(loaded.configs)) or "none"
        raise ConfigError(f"{config} configures no broker named {broker!r} (it configures: {names})")
    return found


async def _discover(
    broker: str,
    configuration: BrokerConfiguration | None,
    test_type: CapabilityTestType,
    options: DiscoveryOptions,
    allow_live: bool,
) -> CapabilityProfile:
    from broker_integration.capabilities.engine import CapabilityDiscoveryEngine

    factory = BrokerFactory()
    try:
        if configuration is None:
            adapter = await factory.create_adapter(broker)
        else:
            adapter = await factory.create_from_config(configuration)
        engine = CapabilityDiscoveryEngine(options=options, allow_live=allow_live)
        return await engine.discover_capabilities(adapter, test_type)
    finally:
        await factory.close_all()


def discover_command(
    broker: Annotated[
        str, typer.Argument(help="A registered adapter (paper, oanda, ...) or a broker named in --config.")
    ],
    test_type: Annotated[
        CapabilityTestType,
        typer.Option(
            "--type",
            "-t",
            help="static: declaration only, no calls; dynamic: read-only probes; "
            "synthetic: also test orders that cannot fill, each cancelled at once.",
            case_sensitive=False,
        ),
    ] = CapabilityTestType.DYNAMIC,
    as_json: Annotated[bool, typer.Option("--json", help="Print the profile as JSON.")] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Configuration file or folder (JSON/YAML) with the broker's credentials."
        ),
    ] = None,
    environment: EnvOption = None,
    instrument: Annotated[
        list[str] | None,
        typer.Option("--instrument", "-i", help="Instrument to probe and test with (repeatable)."),
    ] = None,
    max_orders: Annotated[
        int,
        typer.Option(
            "--max-orders",
            min=1,
            max=MAX_SYNTHETIC_ORDERS,
            help="Most test orders synthetic discovery may place.",
        ),
    ] = DiscoveryOptions().max_synthetic_orders,
    allow_live: Annotated[
        bool,
        typer.Option(
            "--allow-live", help="Let synthetic discovery place test orders on a live (real money) account."
        ),
    ] = False,
) -> None:
    """Discover what a broker can really do, and print its capability profile."""
    try:
        configuration = _configuration(broker, config, environment)
        options = DiscoveryOptions(probe_instruments=tuple(instrument or ()), max_synthetic_orders=max_orders)
    except (ConfigError, ValueError) as exc:
        _err.print(f"[red]{escape(str(exc))}[/]", highlight=False)
        raise typer.Exit(2) from exc
    try:
        profile = asyncio.run(_discover(broker, configuration, test_type, options, allow_live))
    except FactoryError as exc:
        _err.print(f"[red]{escape(str(exc))}[/]", highlight=False)
        raise typer.Exit(2) from exc
    except BrokerError as exc:
        _err.print(f"[red]{escape(str(exc.error))}[/]", highlight=False)
        if configuration is None and broker != "paper":
            _err.print(f"{escape(broker)} needs a configuration with its credentials: pass --config FILE.")
        elif exc.error.suggested_action:
            _err.print(f"what to do: {escape(exc.error.suggested_action)}", highlight=False)
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(profile.to_json(indent=2))
    else:
        render_profile(profile, _out)
    if any(error.probe == VERIFY_PROBE for error in profile.errors):
        _err.print("[bold red]some test orders may still be open at the broker; see the errors above[/]")
        raise typer.Exit(1)

"""Heavy dependencies load on first use, not on import: the command line starts without scipy or aiohttp's
server, and the packages' lazy names resolve to the real objects."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from broker_integration.lazy_exports import lazy_exports


def modules_loaded_by(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_the_command_line_starts_without_scipy_or_a_web_server() -> None:
    loaded = modules_loaded_by("import broker_integration.cli")
    assert "typer" in loaded  # the probe works: the CLI's own dependency is there
    assert "scipy" not in loaded
    assert "aiohttp.web" not in loaded
    assert "broker_integration.demo.run" not in loaded


def test_the_command_line_loads_no_simulator_until_one_runs() -> None:
    assert "broker_integration.sim.oanda.cli" not in modules_loaded_by("import broker_integration.cli")


def test_venue_options_and_hosts_do_not_load_the_http_client() -> None:
    oanda = modules_loaded_by(
        "import broker_integration.adapters.oanda.config, broker_integration.adapters.oanda.hosts"
    )
    assert "broker_integration.adapters.oanda.config" in oanda  # the probe works
    assert "aiohttp" not in oanda
    assert "broker_integration.adapters.oanda.adapter" not in oanda
    assert "broker_integration.sim.engine" not in oanda
    paper = modules_loaded_by("import broker_integration.adapters.paper.config")
    assert "aiohttp" not in paper
    assert "broker_integration.adapters.paper.adapter" not in paper


def test_the_live_host_check_reads_the_venues_hosts_without_loading_an_adapter() -> None:
    loaded = modules_loaded_by(
        "from broker_integration.broker_config import BrokerConfiguration\n"
        "BrokerConfiguration(broker_name='x', endpoints={'base_url': 'https://api-fxpractice.oanda.com'})"
    )
    assert "broker_integration.adapters.oanda.hosts" in loaded
    assert "broker_integration.adapters.alpaca.hosts" in loaded
    assert "aiohttp" not in loaded
    assert "broker_integration.adapters.oanda.adapter" not in loaded


def test_mapping_an_oanda_error_imports_its_table_but_not_the_adapter_or_aiohttp() -> None:
    loaded = modules_loaded_by(
        "from broker_integration.errors import StandardErrorCode, map_broker_error\n"
        "error = map_broker_error('oanda', 'INSUFFICIENT_MARGIN', 'Insufficient margin for order')\n"
        "assert error.error_code is StandardErrorCode.INSUFFICIENT_FUNDS, error"
    )
    assert "broker_integration.adapters.oanda.errors" in loaded  # the probe works: OANDA's table was used
    assert "broker_integration.adapters.oanda.adapter" not in loaded
    assert "broker_integration.adapters.oanda.client" not in loaded
    assert not {name for name in loaded if name == "aiohttp" or name.startswith("aiohttp.")}
    assert "broker_integration.adapters.alpaca.errors" not in loaded  # only the table looked up is imported


def test_statistics_load_scipy_when_a_test_needs_it() -> None:
    loaded = modules_loaded_by(
        "from broker_integration.stats import welch_t_test\nwelch_t_test([1.0, 2.0, 3.0], [2.0, 3.0, 4.5])"
    )
    assert "scipy.stats" in loaded


def test_lazy_names_resolve_to_the_defining_modules_objects() -> None:
    import broker_integration
    import broker_integration.demo
    import broker_integration.sim.oanda
    from broker_integration.demo.run import run_demo
    from broker_integration.sim.oanda.server import OandaSimulator
    from broker_integration.store import Store

    assert broker_integration.Store is Store
    assert broker_integration.demo.run_demo is run_demo
    assert broker_integration.sim.oanda.OandaSimulator is OandaSimulator


def test_a_lazy_name_is_imported_once_and_an_unknown_one_is_an_attribute_error() -> None:
    package = types.ModuleType("fake_package")
    sys.modules["fake_package"] = package
    try:
        package.__getattr__ = lazy_exports("fake_package", {"dumps": "json"})  # type: ignore[attr-defined]
        import json

        assert package.dumps is json.dumps
        assert "dumps" in vars(package)  # kept: the next access does not go through __getattr__
        with pytest.raises(AttributeError, match="'fake_package' has no attribute 'loads'"):
            _ = package.loads
    finally:
        del sys.modules["fake_package"]

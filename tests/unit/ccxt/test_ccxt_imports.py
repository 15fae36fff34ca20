"""ccxt is heavy (hundreds of modules, about 0.7 s and 100 MB to import): ``import broker_integration``, the
command line and everything short of making a CCXT adapter run without it, and without it installed the
adapter says how to install it."""

from __future__ import annotations

import subprocess
import sys


def loaded_by(statement: str, *, block_ccxt: bool = False) -> tuple[set[str], str]:
    prelude = "import sys\n"
    if block_ccxt:  # as if the [ccxt] extra were not installed
        prelude += "sys.modules['ccxt'] = None\n"
    code = f"{prelude}{statement}\nprint('\\n'.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split()), done.stdout


def test_ccxt_is_not_imported_until_an_adapter_is_made() -> None:
    """Everything short of making an adapter, in one process: the package, the command line, the factory,
    the adapter's package and options, mapping a ccxt error, the Binance simulator."""
    loaded, _ = loaded_by(
        "import broker_integration\n"
        "import broker_integration.cli\n"
        "import broker_integration.adapters.ccxt\n"
        "from broker_integration.adapters.ccxt import CcxtOptions\n"
        "from broker_integration.errors import map_broker_error\n"
        "map_broker_error('ccxt', 'InsufficientFunds', 'x')\n"
        "from broker_integration.broker_factory import BrokerFactory\n"
        "assert 'ccxt' in BrokerFactory(discover_plugins=False).list_adapters()\n"
        "from broker_integration.sim.binance import BinanceSimulator"
    )
    assert "broker_integration.adapters.ccxt.config" in loaded  # the probe works
    assert "broker_integration.adapters.ccxt.errors" in loaded
    assert not {name for name in loaded if name == "ccxt" or name.startswith("ccxt.")}


def test_making_the_adapter_imports_ccxt() -> None:
    loaded, _ = loaded_by(
        "from broker_integration.adapters.ccxt import CcxtAdapter\n"
        "CcxtAdapter({'broker_name': 'b', 'adapter': 'ccxt', 'options': {'exchange': 'binance'},"
        " 'credentials': {'environment': 'live'}})"
    )
    assert "ccxt.async_support" in loaded


def test_without_ccxt_the_factory_says_how_to_install_it() -> None:
    _, output = loaded_by(
        "import asyncio\n"
        "from broker_integration.broker_factory import BrokerFactory\n"
        "from broker_integration.config.errors import ConfigError\n"
        "try:\n"
        "    asyncio.run(BrokerFactory(discover_plugins=False).create_adapter("
        "'ccxt', {'broker_name': 'b', 'options': {'exchange': 'binance'}}))\n"
        "except ConfigError as exc:\n"
        "    print('REFUSED', exc)\n",
        block_ccxt=True,
    )
    assert "REFUSED" in output
    assert "pip install 'broker-integration[ccxt]'" in output

"""The command line starts at once: ``--help``, ``--version`` and ``version`` import none of the heavy engines
(numpy, scipy, SQLAlchemy, aiohttp), each sub-command imports only what it runs, and the root help lists
every sub-command without importing one. Checked on ``sys.modules`` of a fresh interpreter, never on time
(the times are printed by ``benchmarks/bench_cli_start.py``)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from broker_integration.cli import app
from broker_integration.cli.root import COMMANDS

HEAVY = ("numpy", "scipy", "sqlalchemy", "aiohttp", "pandas")


def run_cli(*args: str) -> tuple[int, str, set[str]]:
    """Run the console entry point on ``args`` in a fresh interpreter: exit code, output, modules loaded."""
    code = (
        "import sys\n"
        f"sys.argv = ['broker-integration', *{args!r}]\n"
        "from broker_integration.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    status = exit.code or 0\nelse:\n    status = 0\n"
        "sys.stderr.write('\\n@@modules ' + ' '.join(sys.modules) + '\\n')\n"
        "sys.exit(status)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    head, _, modules = done.stderr.rpartition("@@modules ")
    return done.returncode, done.stdout + head, set(modules.split())


def heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in HEAVY}


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("version",)])
def test_help_and_version_load_no_heavy_dependency(args: tuple[str, ...]) -> None:
    status, output, modules = run_cli(*args)
    assert status == 0, output
    assert "typer" in modules  # the probe works: the command line itself was loaded
    assert heavy(modules) == set()
    assert not {m for m in modules if m.endswith(".cli") and m != "broker_integration.cli"}  # no sub-command


def test_version_flag_and_command_print_the_version() -> None:
    from broker_integration import __version__

    assert run_cli("--version")[1].strip() == __version__
    assert run_cli("version")[1].strip() == __version__


def test_root_help_lists_every_command_with_its_summary() -> None:
    status, output, _ = run_cli("--help")
    assert status == 0
    flat = " ".join(output.split())
    for name, entry in COMMANDS.items():
        assert name in output
        assert " ".join(entry.summary.split()[:4]) in flat


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_registered_command_loads_and_has_help(name: str) -> None:
    shown = CliRunner().invoke(app, [name, "--help"])
    assert shown.exit_code == 0, f"{name}: {shown.output}"
    assert f"{name} [OPTIONS]" in shown.output


def test_a_sub_command_imports_only_what_it_runs() -> None:
    status, output, modules = run_cli("errors", "map", "oanda", "MARKET_HALTED")
    assert status == 0, output
    assert "MARKET_CLOSED" in output
    assert heavy(modules) == set()
    assert "broker_integration.errors._analysis" not in modules  # analysis is for `errors analyze`
    status, output, modules = run_cli("metrics", "--help")
    assert status == 0, output
    assert heavy(modules) == set()  # the metrics engine and the store load when a metrics command runs


def test_an_unknown_command_names_the_known_ones() -> None:
    status, output, _ = run_cli("nosuch")
    assert status == 2
    assert "no command named 'nosuch'" in output
    assert "demo" in output
    assert "Traceback" not in output

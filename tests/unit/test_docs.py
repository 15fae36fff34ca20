"""The documentation names what exists: the dialect table's calls are ours (and cover every adapter
operation), every ``:::`` reference of the API site imports, every page in the site's navigation is there,
and the changelog has the package's version. ``make test`` also builds the site with ``mkdocs build
--strict``, which fails on a reference mkdocstrings cannot render."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from broker_integration import BrokerAdapter, __version__
from broker_integration.pipeline.operations import Operation
from broker_integration.sync import SyncBroker

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
DIALECTS = re.compile(r"<!-- dialects -->\n(?P<table>.*?)<!-- /dialects -->", re.S)
CALL = re.compile(r"`(?P<name>\w+)\(")


def dialect_table(text: str) -> str | None:
    found = DIALECTS.search(text)
    return found["table"].strip() if found else None


def our_calls(table: str) -> list[str]:
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    return [name for row in rows for name in CALL.findall(row.split("|")[1])]


def test_the_dialect_table_names_our_real_calls_and_every_operation() -> None:
    table = dialect_table((DOCS / "dialects.md").read_text(encoding="utf-8"))
    assert table is not None
    calls = our_calls(table)
    assert len(calls) >= len(Operation) - 3  # the probe works: the rows were read
    helpers = {"connect_sync": "broker_integration.sync", "to_dataframe": "broker_integration.frames"}
    for name in calls:
        if name in helpers:
            assert hasattr(importlib.import_module(helpers[name]), name), name
        else:
            assert callable(getattr(BrokerAdapter, name, None)), f"BrokerAdapter has no {name}"
            assert callable(getattr(SyncBroker, name, None)), f"SyncBroker has no {name}"
    lifecycle = {Operation.AUTHENTICATE, Operation.DISCONNECT}  # the factory and close() do these
    assert {op.value for op in Operation if op not in lifecycle} <= set(calls)


def test_the_readme_copy_of_the_dialect_table_is_the_same() -> None:
    readme = dialect_table((ROOT / "README.md").read_text(encoding="utf-8"))
    docs = dialect_table((DOCS / "dialects.md").read_text(encoding="utf-8"))
    assert readme in (None, docs)  # the README may carry the table; if it does, the very same one


def test_every_reference_of_the_api_site_imports() -> None:
    targets = [
        line.removeprefix("::: ").strip()
        for page in (DOCS / "reference").glob("*.md")
        for line in page.read_text(encoding="utf-8").splitlines()
        if line.startswith("::: ")
    ]
    assert len(targets) > 20
    for target in targets:
        module, _, name = target, "", ""
        while True:
            try:
                found = importlib.import_module(module)
                break
            except ModuleNotFoundError:
                module, _, last = module.rpartition(".")
                name = f"{last}.{name}" if name else last
        for part in filter(None, name.split(".")):
            found = getattr(found, part)
        assert found is not None, target


def test_every_page_of_the_navigation_exists() -> None:
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    pages: list[str] = []

    def walk(entries: list[object]) -> None:
        for entry in entries:
            if isinstance(entry, str):
                pages.append(entry)
            elif isinstance(entry, dict):
                for value in entry.values():
                    walk(value) if isinstance(value, list) else pages.append(value)

    walk(config["nav"])
    assert len(pages) > 10
    for page in pages:
        assert (DOCS / page).is_file(), page
    assert config["strict"] == "true"


def test_the_changelog_has_this_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{__version__}]" in changelog
    assert "## [Unreleased]" in changelog


@pytest.mark.parametrize("page", ["sync.md", "dataframes.md"])
def test_the_guides_examples_run_as_written(page: str, tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(encoding="utf-8"), re.S)
    assert blocks
    for code in blocks:
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip()  # the example printed what it shows

"""Every benchmark script still imports against the library it measures.

Benchmarks are run by hand (``make bench``), not by CI, so a renamed library name they import would
otherwise go unnoticed until someone next measures. Importing a script runs none of its measurements:
each keeps its work behind ``if __name__ == "__main__"``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPTS = sorted(p for p in BENCHMARKS.glob("*.py") if p.name not in {"__init__.py", "__main__.py"})


def test_the_benchmark_folder_is_found() -> None:
    assert len(SCRIPTS) >= 10


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_a_benchmark_script_imports(script: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As when run as a script: its folder is on the path (some import a sibling), under its own name.
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    for name in [n for n in sys.modules if n.startswith("bench_")]:
        monkeypatch.delitem(sys.modules, name)
    module = importlib.import_module(script.stem)
    assert callable(getattr(module, "main", None)), f"{script.name} has no main()"

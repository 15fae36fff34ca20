"""The package as a user installs it: a wheel built from this tree, installed into a fresh virtual environment,
runs ``broker-integration demo`` from a folder that is not the source checkout, and carries its metadata.

The fresh environment gets the wheel only; its dependencies are those of the running interpreter, reached
through a ``.pth`` line (nothing is downloaded, and the source tree is not on its path).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from broker_integration import __version__
from broker_integration.demo import read_figures

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel of this tree installed; returns its ``bin`` folder."""
    work = tmp_path_factory.mktemp("wheel")
    tree = work / "tree"  # a copy, so building leaves nothing (build/, *.egg-info) in the checkout
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, tree / name)
    built = _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w",
        work / "dist", tree, cwd=work,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (work / "dist").glob("broker_integration-*.whl")

    venv = work / "venv"
    made = _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=work)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=work)
    ours = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    (Path(purelib.stdout.strip()) / "_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    done = _run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel, cwd=work
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return venv / "bin"


def test_the_demo_runs_from_the_installed_wheel(installed: Path, tmp_path: Path) -> None:
    where = _run(
        installed / "python",
        "-c",
        "import broker_integration; print(broker_integration.__file__)",
        cwd=tmp_path,
    )
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), where.stdout  # the wheel, not src/
    done = _run(
        installed / "broker-integration", "demo", "--orders", "200", "--quiet", "--report", "r.html",
        "--store", "run.sqlite3", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"Report: {tmp_path / 'r.html'}" in done.stdout
    figures = read_figures((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert figures["ab"]["total_orders"] == 200
    assert set(figures["venues"]) == {"oanda", "paper-ecn", "paper-flaky", "paper-retail"}
    assert (tmp_path / "run.sqlite3").stat().st_size > 0  # --store took a plain file path


def test_the_wheel_carries_license_classifiers_and_project_urls(installed: Path, tmp_path: Path) -> None:
    read = _run(
        installed / "python",
        "-c",
        "import importlib.metadata as m, json; d = m.distribution('broker-integration'); "
        "print(json.dumps({'meta': {k: d.metadata.get_all(k) for k in set(d.metadata)}, "
        "'files': [str(f) for f in d.files or ()]}))",
        cwd=tmp_path,
    )
    assert read.returncode == 0, read.stderr
    found = json.loads(read.stdout)
    meta, files = found["meta"], found["files"]
    assert meta["Version"] == [__version__]
    assert meta["License-Expression"] == ["Apache-2.0"]
    assert any(f.endswith("licenses/LICENSE") for f in files)
    assert "Typing :: Typed" in meta["Classifier"]
    assert {url.split(",")[0] for url in meta["Project-URL"]} >= {"Source", "Documentation", "Changelog"}
    assert "pandas" in meta["Provides-Extra"]
    license_text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in license_text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in license_text  # the full text

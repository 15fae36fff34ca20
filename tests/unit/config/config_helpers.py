"""Constants and small helpers shared by the configuration unit tests."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

CANARY = "CANARY-7f3a9c1e-do-not-leak"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def write_atomically(path: Path, text: str) -> None:
    """Save like an editor: write a temporary file in the same folder, then rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)

"""``broker-integration config ...``: validate, inspect, version and encrypt broker configuration.

Mounted by the top-level command as ``app.add_typer(config_app, name="config")``. Nothing here prints a
secret, nor anything that would confirm a guessed one: shown configurations are the secret-masked documents
versions store with their secrets' fingerprints masked too, and the history shows no content hash of an
old version whose fingerprints were unkeyed (a hash over a plain SHA-256 of the secret can test a guess).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table
from rich.text import Text

from broker_integration.broker_config import BrokerConfiguration
from broker_integration.cli.lazy import command_group
from broker_integration.cli.options import EnvOption, StoreOption
from broker_integration.cli.output import command_console, echo_json
from broker_integration.clock import utc_now
from broker_integration.config.errors import ConfigError
from broker_integration.config.loader import check_document, config_files, load_path, resolve_environment
from broker_integration.config.secrets import KeyRing
from broker_integration.config.snapshot import (
    ConfigChange,
    ConfigSource,
    build_document,
    diff_documents,
    has_unkeyed_fingerprints,
    printable,
)
from broker_integration.config.versions import NewVersion, StoreVersionLog, run_blocking

__all__ = ["config_app"]

config_app = command_group("config", "Validate, show, version, roll back and encrypt broker configuration.")
_out = command_console()
_err = command_console(stderr=True)


class OutputFormat(StrEnum):
    yaml = "yaml"
    json = "json"


_Scope = Annotated[str, typer.Option("--scope", help="Version history to use.")]
_KeyFile = Annotated[
    Path | None,
    typer.Option("--key-file", help="Key file (default: $BROKER_INTEGRATION_CONFIG_KEYS or ..._KEY_FILE)."),
]


def _fail(error: ConfigError) -> typer.Exit:
    _say(str(error), prefix="error: ", style="red", err=True)
    return typer.Exit(1)


@config_app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="A config file or folder.")], env: EnvOption = None
) -> None:
    """Load and validate a file or folder without applying it; exit 1 naming each problem."""
    try:
        loaded = load_path(path, environment=env)
    except ConfigError as exc:
        raise _fail(exc) from None
    environment = resolve_environment(env).value
    _say(
        f"({environment}): {len(loaded.configs)} broker(s): {', '.join(sorted(loaded.configs))}",
        prefix="valid ",
        style="green",
    )
    for where in loaded.plaintext_secrets:
        _say(f"{where}: plaintext secret; use ${{VAR}} or ENC[...]", prefix="warning: ", style="yellow")


@config_app.command()
def show(
    path: Annotated[
        Path | None, typer.Argument(help="A config file or folder (omit with --version).")
    ] = None,
    version: Annotated[
        int | None, typer.Option("--version", "-V", help="Show a recorded version instead.")
    ] = None,
    env: EnvOption = None,
    scope: _Scope = "default",
    store: StoreOption = None,
    output: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.yaml,
    schema: Annotated[
        bool, typer.Option("--schema", help="Print the JSON schema of one broker's configuration.")
    ] = False,
) -> None:
    """Print the effective configuration of a file or folder, or a recorded version, secrets masked."""
    if schema:
        echo_json(BrokerConfiguration.json_schema())
        return
    try:
        if version is not None:
            document: dict[str, Any] = dict(
                run_blocking(lambda: StoreVersionLog(store, scope).get(version)).document
            )
        elif path is not None:
            loaded = load_path(path, environment=env)
            document = build_document(
                loaded.configs,
                loaded.secret_sources,
                resolve_environment(env).value,
                fingerprint_key=secrets.token_bytes(32),  # a throwaway: fingerprints are not shown
            )
        else:
            raise ConfigError("give a file or folder, or --version N")
    except ConfigError as exc:
        raise _fail(exc) from None
    _print_document(printable(document), output)


@config_app.command()
def history(
    scope: _Scope = "default",
    store: StoreOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1)] = 20,
) -> None:
    """List recorded versions, newest first (no hash for a version recorded with unkeyed fingerprints)."""
    versions = run_blocking(lambda: StoreVersionLog(store, scope).history(limit))
    if not versions:
        _say(f"no configuration versions recorded (scope {scope!r})")
        return
    table = Table(title=f"Configuration versions (scope {scope})")
    for column in ("version", "applied at (UTC)", "source", "env", "hash", "changed", "detail"):
        table.add_column(column)
    for v in versions:
        source = f"{v.source.value} of {v.rollback_of}" if v.rollback_of is not None else v.source.value
        paths = ", ".join(v.changed_paths[:4]) + (f" (+{len(v.changes) - 4})" if len(v.changes) > 4 else "")
        cells = (
            str(v.version),
            f"{v.created_at:%Y-%m-%d %H:%M:%S}",
            source,
            v.environment,
            "-" if has_unkeyed_fingerprints(v.document) else v.content_hash[:12],
            paths,
            v.detail,
        )
        table.add_row(*(Text(cell) for cell in cells))
    _out.print(table)


@config_app.command()
def diff(
    old: Annotated[int, typer.Argument(help="The earlier version.")],
    new: Annotated[int | None, typer.Argument(help="The later version (default: the latest).")] = None,
    scope: _Scope = "default",
    store: StoreOption = None,
) -> None:
    """Show what changed between two recorded versions, secrets masked."""

    async def changes() -> tuple[ConfigChange, ...]:
        log = StoreVersionLog(store, scope)
        before = await log.get(old)
        after = await log.get(new) if new is not None else await log.latest()
        if after is None:
            raise ConfigError(f"there are no recorded versions (scope {scope!r})")
        return diff_documents(before.document, after.document)

    try:
        found = run_blocking(changes)
    except ConfigError as exc:
        raise _fail(exc) from None
    if not found:
        _say("no differences")
    for change in found:
        sign, style = {"added": ("+ ", "green"), "removed": ("- ", "red"), "changed": ("~ ", "yellow")}[
            change.kind.value
        ]
        detail = {
            "added": _short(change.new),
            "removed": _short(change.old),
            "changed": f"{_short(change.old)} -> {_short(change.new)}",
        }[change.kind.value]
        _say(f"{change.path}: {detail}", prefix=sign, style=style)


@config_app.command()
def rollback(
    version: Annotated[int, typer.Argument(help="The version to re-apply.")],
    scope: _Scope = "default",
    store: StoreOption = None,
) -> None:
    """Record VERSION's content as a new version; a running watcher of this scope applies it.

    The files are not changed: a process started later loads them again, and the next edit of a
    watched file applies the file. To make a rollback permanent, edit the files (see show --version).
    """

    async def record() -> tuple[int, bool]:
        log = StoreVersionLog(store, scope)
        target = await log.get(version)
        check_document(target.document)
        latest = await log.latest()
        recorded = await log.record(
            NewVersion(
                source=ConfigSource.ROLLBACK,
                detail=f"rollback to version {version} (command line)",
                environment=target.environment,
                content_hash=target.content_hash,
                document=target.document,
                origins=target.origins,
                created_at=utc_now(),
                rollback_of=version,
            )
        )
        return recorded.version, latest is not None and recorded.version == latest.version

    try:
        number, unchanged = run_blocking(record)
    except ConfigError as exc:
        raise _fail(exc) from None
    if unchanged:
        _say(f"version {number} already has the content of version {version}; nothing recorded")
    else:
        _say(
            f"recorded version {number} (rollback of {version}); a running watcher of scope {scope!r} applies it"
        )


@config_app.command()
def encrypt(key_file: _KeyFile = None) -> None:
    """Encrypt a secret read from standard input (or a hidden prompt) and print ENC[fernet:...].

    The value is never taken as an argument, so it does not land in the shell history.
    """
    try:
        keys = _keyring(key_file)
    except ConfigError as exc:
        raise _fail(exc) from None
    if sys.stdin.isatty():
        value = typer.prompt("Value to encrypt", hide_input=True, confirmation_prompt=True)
    else:
        value = sys.stdin.read().rstrip("\r\n")
    if not value:
        raise _fail(ConfigError("nothing to encrypt: the value is empty"))
    typer.echo(keys.encrypt(value))


@config_app.command("rotate-key")
def rotate_key(
    paths: Annotated[list[Path], typer.Argument(help="Config files or folders to re-encrypt.")],
    key_file: _KeyFile = None,
) -> None:
    """Re-encrypt every ENC[...] value under the first configured key, in place (comments are kept).

    Rotation: put a new key first (keygen), run this, check, then remove the old key.
    """
    try:
        keys = _keyring(key_file)
        files = [file for path in paths for file in config_files(path)]
        rotated = [
            (file, *keys.rotate_text(file.read_text(encoding="utf-8"), file=str(file))) for file in files
        ]
    except ConfigError as exc:
        raise _fail(exc) from None
    for file, text, count in rotated:  # every file decrypted before any is written
        if count:
            _write_atomically(file, text)
        _say(f"{file}: {count} value(s) re-encrypted")


@config_app.command()
def keygen() -> None:
    """Print a new random key for ENC[...] values (store it like a password)."""
    typer.echo(KeyRing.generate_key())


def _keyring(key_file: Path | None) -> KeyRing:
    keys = KeyRing.from_file(key_file) if key_file is not None else KeyRing.from_env()
    if keys is None:
        raise ConfigError(
            "no key configured: pass --key-file, or set $BROKER_INTEGRATION_CONFIG_KEYS or "
            "$BROKER_INTEGRATION_CONFIG_KEY_FILE (make a key with 'broker-integration config keygen')"
        )
    return keys


def _say(message: str, *, prefix: str = "", style: str = "", err: bool = False) -> None:
    """Print plain text (never parsed as markup: values like ENC[...] or lists contain brackets)."""
    text = Text(prefix, style=style) + Text(message) if prefix else Text(message)
    (_err if err else _out).print(text, soft_wrap=True, highlight=False)


def _print_document(document: dict[str, Any], output: OutputFormat) -> None:
    if output is OutputFormat.json:
        echo_json(document)
    else:
        _say(yaml.safe_dump(document, sort_keys=False, allow_unicode=True).rstrip("\n"))


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file in the same folder, fsync it, and rename it over ``path``."""
    mode = path.stat().st_mode & 0o777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

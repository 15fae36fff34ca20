"""Encrypted configuration values: ``ENC[fernet:<token>]`` with one or more Fernet keys.

Keys come from ``$BROKER_INTEGRATION_CONFIG_KEYS`` (comma-separated) or from the file named by
``$BROKER_INTEGRATION_CONFIG_KEY_FILE`` (one key per line; refused when group or others can read it).
The first key encrypts; every key decrypts (``MultiFernet``), so rotation is: put a new key first,
re-encrypt with :meth:`KeyRing.rotate_text` (``broker-integration config rotate-key``), then drop the old
key. A value that will not decrypt is an error: ciphertext is never passed on as if it were the secret.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from broker_integration.config.errors import ConfigError
from broker_integration.log import register_secret

__all__ = ["KEYS_ENV", "KEY_FILE_ENV", "DecryptionError", "KeyRing", "is_encrypted"]

KEYS_ENV = "BROKER_INTEGRATION_CONFIG_KEYS"
KEY_FILE_ENV = "BROKER_INTEGRATION_CONFIG_KEY_FILE"

_ENC = re.compile(r"ENC\[fernet:([A-Za-z0-9_\-]+=*)\]")


class DecryptionError(ValueError):
    """An ``ENC[...]`` value that is malformed or was encrypted with none of the configured keys."""


def is_encrypted(value: str) -> bool:
    """Whether ``value`` is exactly one ``ENC[fernet:...]`` token."""
    return _ENC.fullmatch(value) is not None


def _token(value: str) -> bytes:
    """The Fernet token inside an ``ENC[fernet:...]`` value; :class:`DecryptionError` for anything else."""
    match = _ENC.fullmatch(value)
    if match is None:
        raise DecryptionError("not an ENC[fernet:...] value")
    return match.group(1).encode()


def _sealed(token: bytes) -> str:
    """A Fernet token as the ``ENC[fernet:...]`` value configuration files hold."""
    return f"ENC[fernet:{token.decode()}]"


class KeyRing:
    """Fernet keys for configuration secrets: encrypts with the first, decrypts with any."""

    def __init__(self, keys: Sequence[str | bytes | SecretStr]) -> None:
        if not keys:
            raise ValueError("a KeyRing needs at least one key")
        fernets: list[Fernet] = []
        for index, key in enumerate(keys, start=1):
            raw = key.get_secret_value() if isinstance(key, SecretStr) else key
            try:
                fernets.append(Fernet(raw.strip()))
            except (ValueError, TypeError):
                raise ValueError(
                    f"configuration key #{index} is not a Fernet key (32 url-safe base64-encoded bytes; "
                    "make one with 'broker-integration config keygen')"
                ) from None
            register_secret(raw.decode() if isinstance(raw, bytes) else raw.strip())
        self._fernet = MultiFernet(fernets)
        self._count = len(fernets)

    @staticmethod
    def generate_key() -> str:
        """A new random Fernet key, as text."""
        return Fernet.generate_key().decode()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KeyRing | None:
        """Keys from ``$BROKER_INTEGRATION_CONFIG_KEYS`` or the key file; ``None`` when neither is set.

        Raises :class:`ConfigError` for a malformed key or an unreadable or too-open key file.
        """
        env = os.environ if env is None else env
        listed = env.get(KEYS_ENV, "")
        if listed.strip():
            try:
                return cls([k for k in re.split(r"[,\s]+", listed) if k])
            except ValueError as exc:
                raise ConfigError(str(exc), path=f"${KEYS_ENV}") from None
        key_file = env.get(KEY_FILE_ENV, "")
        if key_file.strip():
            return cls.from_file(Path(key_file))
        return None

    @classmethod
    def from_file(cls, path: Path) -> KeyRing:
        """Keys from ``path``, one per line (``#`` starts a comment); the file must be private (0600)."""
        try:
            info = path.stat()
            if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise ConfigError(
                    f"key file is readable by group or others (mode {stat.S_IMODE(info.st_mode):o}); "
                    f"run 'chmod 600 {path}'",
                    file=str(path),
                )
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(
                f"cannot read key file: {exc.strerror or type(exc).__name__}", file=str(path)
            ) from None
        keys = [line.split("#", 1)[0].strip() for line in lines]
        try:
            return cls([k for k in keys if k])
        except ValueError as exc:
            raise ConfigError(str(exc), file=str(path)) from None

    @property
    def key_count(self) -> int:
        return self._count

    def encrypt(self, plaintext: str | SecretStr) -> str:
        """``ENC[fernet:<token>]`` for ``plaintext``, under the first key."""
        text = plaintext.get_secret_value() if isinstance(plaintext, SecretStr) else plaintext
        return _sealed(self._fernet.encrypt(text.encode()))

    def decrypt(self, value: str) -> str:
        """The plaintext of an ``ENC[...]`` value; :class:`DecryptionError` if no key opens it."""
        try:
            plaintext = self._fernet.decrypt(_token(value)).decode()
        except (InvalidToken, UnicodeDecodeError):
            raise DecryptionError(
                f"value will not decrypt with the configured key{'s' if self._count > 1 else ''} "
                "(wrong key, or the token was altered)"
            ) from None
        register_secret(plaintext)
        return plaintext

    def rotate(self, value: str) -> str:
        """The same secret re-encrypted under the first key."""
        try:
            token = self._fernet.rotate(_token(value))
        except InvalidToken:
            raise DecryptionError("value will not decrypt with any configured key") from None
        return _sealed(token)

    def rotate_text(self, text: str, *, file: str | None = None) -> tuple[str, int]:
        """``text`` with every ``ENC[...]`` token re-encrypted under the first key, and how many there were.

        Works on the file's text, so comments and layout of YAML and JSON files are kept. Raises
        :class:`ConfigError` naming the line of a token that no key opens; nothing is changed then.
        """
        pieces: list[str] = []
        last = count = 0
        for match in _ENC.finditer(text):
            try:
                rotated = self.rotate(match.group(0))
            except DecryptionError as exc:
                line = text.count("\n", 0, match.start()) + 1
                raise ConfigError(str(exc), file=file, path=f"line {line}") from None
            pieces.extend((text[last : match.start()], rotated))
            last = match.end()
            count += 1
        pieces.append(text[last:])
        return "".join(pieces), count

    def __repr__(self) -> str:
        return f"KeyRing(<{self._count} key{'s' if self._count > 1 else ''}>)"

"""A throw-away PostgreSQL cluster for tests: ``initdb`` into a folder, served on loopback on a free port.

The steps follow PostgreSQL's own documentation ("Creating a Database Cluster", ``pg_ctl``): ``initdb``
refuses to run as root, so as root it runs as the ``postgres`` user; the server listens on 127.0.0.1 only,
with its socket in the cluster's folder, so it never touches a cluster the machine already has. Password
authentication over TCP (SCRAM) with a random password, so tests can also try a wrong one. ``fsync`` is off:
the data is thrown away.

Standard library only, so CI can start a cluster before any virtual environment exists::

    python3 src/broker_integration/testing/postgres.py start /tmp/pg   # prints an export line for the URL
    python3 src/broker_integration/testing/postgres.py stop /tmp/pg

Tests that must stop and start a server (a database restart mid-run) make a :class:`ThrowawayCluster` of
their own.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["TEST_SERVER_ENV", "ClusterError", "ThrowawayCluster", "find_bin_dir"]

#: The variable tests read the URL of a running server from (a superuser on its ``postgres`` database).
TEST_SERVER_ENV = "BROKER_INTEGRATION_TEST_PG_URL"
_USER = "postgres"
_STATE = "cluster.txt"


class ClusterError(RuntimeError):
    """The cluster could not be made, started or stopped."""


def find_bin_dir() -> Path | None:
    """The folder of PostgreSQL's server programs: ``$PG_BIN``, ``pg_ctl`` on the path, else Debian's
    ``/usr/lib/postgresql/<newest>/bin``; ``None`` when there is none."""
    given = os.environ.get("PG_BIN")
    if given:
        return Path(given)
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ThrowawayCluster:
    """One cluster in ``folder`` (created if missing): :meth:`create`, :meth:`start`, :meth:`stop`,
    :meth:`remove`. Its :attr:`url` is a SQLAlchemy URL for the superuser on the ``postgres`` database."""

    def __init__(self, folder: str | os.PathLike[str], *, bin_dir: Path | None = None) -> None:
        self.folder = Path(folder).absolute()
        self.data = self.folder / "data"
        found = bin_dir or find_bin_dir()
        if found is None:
            raise ClusterError("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
        self.bin_dir = found
        self.port = 0
        self.password = ""
        state = self.folder / _STATE
        if state.exists():
            port, self.password = state.read_text().split()
            self.port = int(port)

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{_USER}:{self.password}@127.0.0.1:{self.port}/postgres"

    def _as_owner(self, *args: str) -> list[str]:
        """The command, run as the ``postgres`` user when this process is root (initdb refuses root)."""
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            return ["runuser", "-u", _USER, "--", *command]
        return command

    def _call(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run one of PostgreSQL's programs (arguments built here, never from input)."""
        return subprocess.run(self._as_owner(*args), capture_output=True, text=True, check=False)  # noqa: S603

    def _run(self, *args: str) -> None:
        done = self._call(*args)
        if done.returncode != 0:
            raise ClusterError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip() or done.stdout}")

    def create(self) -> None:
        """``initdb`` a new cluster with a random superuser password."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.password = secrets.token_hex(12)
        pwfile = self.folder / "pwfile"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.folder, _USER)
            shutil.chown(pwfile, _USER)
        try:
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                _USER,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        self.port = _free_port()
        self._save()

    def _save(self) -> None:
        (self.folder / _STATE).write_text(f"{self.port} {self.password}\n")

    def start(self, *, timeout: float = 30.0, durable: bool = False) -> None:
        """Start the server on 127.0.0.1 (a new free port if the saved one is taken) and wait for it.

        ``durable``: flush every commit to disk as a production server does (benchmarks); by default the
        data is not worth a flush."""
        for _attempt in range(3):
            flushing = "" if durable else "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} {flushing}-c max_connections=200"
            log = str(self.folder / "server.log")
            done = self._call(
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                log,
                "-o",
                options,
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            )
            if done.returncode == 0:
                return
            tail = (self.folder / "server.log").read_text(errors="replace")[-2000:]
            if "could not bind" not in tail and "already in use" not in tail:
                raise ClusterError(f"pg_ctl start failed: {done.stderr.strip()}\n{tail}")
            self.port = _free_port()
            self._save()
        raise ClusterError("no free port for the server after three tries")

    def stop(self, *, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back open transactions and disconnect clients)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    @property
    def running(self) -> bool:
        return self._call("pg_ctl", "-D", str(self.data), "status").returncode == 0

    def remove(self) -> None:
        """Stop the server if it runs and delete the folder."""
        if self.data.exists() and self.running:
            with contextlib.suppress(ClusterError):
                self.stop(mode="immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


def _main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: postgres.py start|stop FOLDER", file=sys.stderr)
        return 2
    action, folder = argv
    try:
        cluster = ThrowawayCluster(folder)
        if action == "start":
            started = time.monotonic()
            cluster.create()
            cluster.start()
            print(f"export {TEST_SERVER_ENV}={cluster.url}")
            print(
                f"postgresql: throw-away cluster in {folder} on 127.0.0.1:{cluster.port} "
                f"({time.monotonic() - started:.1f} s)",
                file=sys.stderr,
            )
        else:
            cluster.remove()
    except ClusterError as exc:
        print(f"postgresql: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))

"""A PostgreSQL server of a test's own, from Debian's binaries, so the test can stop and
start it (a database outage). Runs as the `postgres` user when the tests run as root."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivatePostgres:
    """initdb into a temporary folder; `start()`, `stop()`; `url` for SQLAlchemy."""

    def __init__(self, bin_dir: Path, run_as: str | None) -> None:
        self.bin_dir = bin_dir
        self.run_as = run_as
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="foundrycord-pg-"))
        self.data = self.dir / "data"
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        # No pipes: the server started by pg_ctl would inherit them and keep them open.
        subprocess.run(
            command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60
        )

    def init(self) -> None:
        if self.run_as:
            user = pwd.getpwnam(self.run_as)
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off"
        log = str(self.dir / "server.log")
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "-t", "30", "start"
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # not running
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def find_postgres() -> PrivatePostgres | str:
    """A ready-to-init server, or the reason none can be made."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        return "PostgreSQL's server binaries (/usr/lib/postgresql/*/bin) are not installed"
    run_as = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run initdb as"
        if shutil.which("runuser") is None:
            return "running as root and `runuser` is missing"
        run_as = "postgres"
    return PrivatePostgres(Path(candidates[-1]).parent, run_as)

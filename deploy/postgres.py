"""A private PostgreSQL cluster for one stack: Debian's binaries, its own data
directory and port, nobody else's server touched (a test may restart it).

PostgreSQL refuses to run as root: as root, the cluster runs as the `postgres`
user, in a directory of its own under /tmp (a run directory under a root-only
parent could not be entered by that user); otherwise in RUN_DIR/postgres.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

BIN_GLOB = "/usr/lib/postgresql/*/bin"
DATABASE = "arena"
START_TIMEOUT = 60


def postgres_bin() -> Path:
    """The newest Debian PostgreSQL binaries (initdb, pg_ctl, createdb)."""
    found = sorted(Path("/").glob(BIN_GLOB.lstrip("/")),
                   key=lambda path: [int(part) for part in path.parent.name.split(".")
                                     if part.isdigit()])
    if not found or not (found[-1] / "initdb").exists():
        raise RuntimeError(f"no PostgreSQL server binaries in {BIN_GLOB} "
                           "(apt-get install postgresql)")
    return found[-1]


def free_port() -> int:
    """A port free right now, for a child process that cannot bind port 0 itself."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PrivatePostgres:
    run_dir: Path
    port: int = 0
    bin_dir: Path = field(default_factory=postgres_bin)
    home: Path | None = None  # holds data/ and postgres.log

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    @property
    def data_dir(self) -> Path:
        assert self.home is not None
        return self.home / "data"

    @property
    def log_path(self) -> Path:
        assert self.home is not None
        return self.home / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def describe(self) -> dict[str, object]:
        return {"mode": "private", "port": self.port, "data_dir": str(self.data_dir),
                "log": str(self.log_path), "bin_dir": str(self.bin_dir)}

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=START_TIMEOUT,
                                cwd="/")
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed ({result.returncode}): "
                               f"{result.stderr.strip() or result.stdout.strip()}")
        return result

    def start(self) -> str:
        """initdb, start on 127.0.0.1 (TCP only, trust), create the database; its URL."""
        if self.as_root:
            self.home = Path(tempfile.mkdtemp(prefix="arena-postgres-"))
            shutil.chown(self.home, "postgres", "postgres")
        else:
            self.home = self.run_dir / "postgres"
            self.home.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--locale=C")
        self._pg_ctl("start")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                  DATABASE)
        return self.url

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} "
                   "-c unix_socket_directories='' -c max_connections=300")
        self._run("pg_ctl", action, "-D", str(self.data_dir), "-l", str(self.log_path),
                  "-w", "-t", str(START_TIMEOUT), "-o", options, *extra)

    def restart(self) -> None:
        """Stop (fast: open connections are cut, transactions rolled back) and start again."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        if self.home is None or not self.data_dir.exists():
            return
        self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w",
                  check=False)
        if self.as_root:
            # Keep the server's log with the stack's, then drop the cluster.
            if self.log_path.exists():
                shutil.copy(self.log_path, self.run_dir / "postgres.log")
            shutil.rmtree(self.home, ignore_errors=True)

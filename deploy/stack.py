"""The whole arena on one machine: PostgreSQL, N `arena serve` processes, nginx.

    .venv/bin/python deploy/stack.py --workers 2 --port 8080 --run-dir run/stack \\
        (--postgres private | --database-url postgresql+psycopg://...) [--config FILE]

1. PostgreSQL: the URL given (or ARENA_DATABASE_URL), or with `--postgres private`
   a cluster of its own (deploy/postgres.py) that nothing else uses;
2. `arena db upgrade`, once;
3. N `arena serve` processes on free 127.0.0.1 ports, each believing
   X-Forwarded-For from 127.0.0.1 only (identity.trusted_proxies);
4. nginx (deploy/nginx.conf.template) on --port (0: a free one), sticky on the
   voter cookie; ready when /healthz through nginx answers 200;
5. RUN_DIR/stack.json: nginx's URL, each worker's port and pid, PostgreSQL;
6. supervision: a worker that exits is started again on its port (as systemd's
   Restart=always does) and stack.json rewritten; SIGTERM or SIGINT stops all.

Secrets (ARENA_SECRET_SALT, ARENA_ADMIN__TOKEN, ...) come from the environment,
which every process inherits. The tests and benchmarks/load_test.py use the same
code through `Stack`, a context manager.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: the checkout's root holds `deploy`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deploy import nginx  # noqa: E402
from deploy.postgres import PrivatePostgres, free_port  # noqa: E402

log = logging.getLogger("arena.stack")
HEALTH_TIMEOUT = 180.0  # a cold `arena serve` (Gradio, plotly) on a busy 2-core machine
STOP_TIMEOUT = 15.0
RESTART_DELAY = 1.0  # after a worker that died within MIN_UPTIME of its start
MIN_UPTIME = 10.0
TRUSTED_PROXIES = '["127.0.0.1"]'


def http_status(url: str, *, timeout: float = 2.0) -> int | None:
    """The status of GET *url*, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, urllib.error.URLError):
        return None


@dataclass
class Worker:
    """One `arena serve` process; its port stays the same across restarts."""

    index: int
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restarts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Stack:
    """Start with `with Stack(...) as stack:` (or start()/stop()); `stack.url` is nginx."""

    run_dir: Path
    workers: int = 2
    port: int = 0
    database_url: str | None = None
    private_postgres: bool = False
    config: Path | None = None
    env: dict[str, str] | None = None  # default: this process's environment
    cwd: Path | None = None  # where workers run (their default config/arena.toml)
    debug_upstream_header: bool = False
    max_body: str = nginx.DEFAULT_MAX_BODY
    access_log: bool = True
    worker_list: list[Worker] = field(default_factory=list, init=False)
    postgres: PrivatePostgres | None = field(default=None, init=False)
    nginx_process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _stopping: threading.Event = field(default_factory=threading.Event, init=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False)
    _supervisor: threading.Thread | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- starting -------------------------------------------------------------------

    def start(self) -> None:
        self.run_dir = self.run_dir.resolve()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_database()
            self._run_arena("db", "upgrade")
            self.worker_list = [Worker(i, free_port(), self.run_dir / f"worker-{i}.log")
                                for i in range(self.workers)]
            for worker in self.worker_list:
                self._spawn(worker)
            for worker in self.worker_list:
                self._wait_healthy(worker)
            self._start_nginx()
            self._write_state()
            self._supervisor = threading.Thread(target=self._supervise, name="stack-supervisor",
                                                daemon=True)
            self._supervisor.start()
        except BaseException:
            self.stop()
            raise

    def _start_database(self) -> None:
        if self.private_postgres:
            self.postgres = PrivatePostgres(self.run_dir)
            self.database_url = self.postgres.start()
            log.info("private PostgreSQL on 127.0.0.1:%s", self.postgres.port)
        self.database_url = self.database_url or self.base_env().get("ARENA_DATABASE_URL")
        if not self.database_url:
            raise SystemExit("no database: give --database-url postgresql+psycopg://... "
                             "(or ARENA_DATABASE_URL), or --postgres private")

    def base_env(self) -> dict[str, str]:
        return dict(os.environ if self.env is None else self.env)

    def worker_env(self) -> dict[str, str]:
        env = self.base_env()
        env.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
        env.setdefault("HF_HUB_OFFLINE", "1")
        # nginx on this machine is the only client of the workers: believe its
        # X-Forwarded-For / -Proto (an owner with another proxy in front sets their own).
        env.setdefault("ARENA_IDENTITY__TRUSTED_PROXIES", TRUSTED_PROXIES)
        # Each process checks at start that all the stack's pools fit max_connections.
        env.setdefault("ARENA_SERVER__PROCESSES", str(self.workers))
        if self.database_url:
            env["ARENA_DATABASE_URL"] = self.database_url
        return env

    def arena_command(self, *args: str) -> list[str]:
        config = ("--config", str(self.config)) if self.config else ()
        return [sys.executable, "-m", "arena", *args, *config]

    def _run_arena(self, *args: str) -> None:
        result = subprocess.run(self.arena_command(*args), cwd=self.cwd, env=self.worker_env(),
                                capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"arena {' '.join(args)} failed: {result.stderr[-2000:]}")

    def _spawn(self, worker: Worker) -> None:
        with worker.log_path.open("a") as output:
            worker.process = subprocess.Popen(
                self.arena_command("serve", "--host", "127.0.0.1", "--port", str(worker.port)),
                cwd=self.cwd, env=self.worker_env(), stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True)  # a Ctrl-C reaches the stack, which stops them in order
        worker.started = time.monotonic()

    def _wait_healthy(self, worker: Worker, timeout: float = HEALTH_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not worker.alive():
                raise RuntimeError(f"worker {worker.index} (port {worker.port}) exited: "
                                   f"{worker.log_path.read_text()[-2000:]}")
            if http_status(f"{worker.url}/healthz") == 200:
                return
            time.sleep(0.1)
        raise TimeoutError(f"worker {worker.index} not healthy after {timeout:.0f}s")

    def _start_nginx(self) -> None:
        attempts = 1 if self.port else 3  # a free port picked here may be taken meanwhile
        for attempt in range(attempts):
            port = self.port or free_port()
            config = nginx.write_config(self.run_dir, self.nginx_config(listen=f"127.0.0.1:{port}"))
            with (self.run_dir / "nginx-stderr.log").open("a") as output:
                self.nginx_process = subprocess.Popen(nginx.command(self.run_dir, config),
                                                      stdout=output, stderr=subprocess.STDOUT,
                                                      start_new_session=True)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self.nginx_process.poll() is None:
                if http_status(f"http://127.0.0.1:{port}/healthz") == 200:
                    self.port = port
                    return
                time.sleep(0.05)
            errors = (self.run_dir / "nginx-error.log").read_text(errors="replace")[-2000:]
            self._end(self.nginx_process)
            if "Address already in use" not in errors or attempt + 1 == attempts:
                raise RuntimeError(f"nginx did not serve /healthz on port {port}: {errors}")

    def nginx_config(self, *, listen: str) -> str:
        return nginx.render(run_dir=self.run_dir, listen=listen,
                            upstreams=[f"127.0.0.1:{w.port}" for w in self.worker_list],
                            max_body=self.max_body, access_log=self.access_log,
                            debug_upstream_header=self.debug_upstream_header)

    # -- running --------------------------------------------------------------------

    def _supervise(self) -> None:
        while not self._stopping.wait(0.2):
            for worker in self.worker_list:
                with self._lock:
                    if self._stopping.is_set() or worker.alive():
                        continue
                    code = worker.process.returncode if worker.process else None
                    log.warning("worker %d (port %d, pid %s) exited with %s; restarting",
                                worker.index, worker.port, worker.pid, code)
                    if time.monotonic() - worker.started < MIN_UPTIME:
                        time.sleep(RESTART_DELAY)
                    worker.restarts += 1
                    self._spawn(worker)
                    self._write_state()

    def kill_worker(self, index: int, sig: int = signal.SIGKILL) -> int:
        """Send *sig* to worker *index* (the supervisor restarts it); its old pid."""
        worker = self.worker_list[index]
        assert worker.process is not None
        pid = worker.process.pid
        os.kill(pid, sig)
        return pid

    def wait_restarted(self, index: int, old_pid: int, timeout: float = HEALTH_TIMEOUT) -> Worker:
        """Wait until worker *index* runs under a new pid and is healthy again."""
        worker = self.worker_list[index]
        deadline = time.monotonic() + timeout
        while worker.pid == old_pid or not worker.alive():
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker {index} was not restarted")
            time.sleep(0.05)
        self._wait_healthy(worker, timeout=max(1.0, deadline - time.monotonic()))
        return worker

    def restart_postgres(self) -> None:
        if self.postgres is None:
            raise RuntimeError("only a private PostgreSQL (--postgres private) is restarted")
        self.postgres.restart()

    def state(self) -> dict[str, Any]:
        from sqlalchemy import make_url

        database = (make_url(self.database_url).render_as_string(hide_password=True)
                    if self.database_url else None)
        return {
            "url": self.url,
            "run_dir": str(self.run_dir),
            "nginx": {"port": self.port, "pid": self.nginx_process.pid if self.nginx_process
                      else None, "config": str(self.run_dir / "nginx.conf")},
            "workers": [{"index": w.index, "port": w.port, "pid": w.pid, "restarts": w.restarts,
                         "log": str(w.log_path)} for w in self.worker_list],
            "database_url": database,
            "postgres": self.postgres.describe() if self.postgres else {"mode": "given"},
        }

    def _write_state(self) -> None:
        path = self.run_dir / "stack.json"
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(self.state(), indent=2) + "\n")
        temporary.replace(path)

    # -- stopping -------------------------------------------------------------------

    def stop(self) -> None:
        self._stopping.set()
        if self._supervisor is not None and self._supervisor is not threading.current_thread():
            self._supervisor.join(timeout=STOP_TIMEOUT)
        with self._lock:
            self._end(self.nginx_process)
            for worker in self.worker_list:
                if worker.process is not None and worker.process.poll() is None:
                    worker.process.terminate()
            for worker in self.worker_list:
                self._end(worker.process)
            if self.postgres is not None:
                self.postgres.stop()

    @staticmethod
    def _end(process: subprocess.Popen[bytes] | None) -> None:
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="arena serve processes")
    parser.add_argument("--port", type=int, default=8080, help="nginx's port (0: a free one)")
    parser.add_argument("--run-dir", type=Path, required=True,
                        help="config, logs, pids and stack.json (and a private cluster)")
    parser.add_argument("--database-url", help="PostgreSQL URL (default ARENA_DATABASE_URL)")
    parser.add_argument("--postgres", choices=["given", "private"], default="given",
                        help="private: run a PostgreSQL cluster of the stack's own")
    parser.add_argument("--config", type=Path, help="the arena's config file")
    parser.add_argument("--max-body", default=nginx.DEFAULT_MAX_BODY,
                        help="nginx client_max_body_size")
    parser.add_argument("--debug-upstream-header", action="store_true",
                        help="X-Arena-Upstream on responses: which worker answered (tests)")
    parser.add_argument("--print-nginx-conf", nargs="+", metavar="HOST:PORT",
                        help="print nginx.conf for these arena processes and exit "
                             "(for a server: see deploy/README.md)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.print_nginx_conf:
        print(nginx.render(run_dir=args.run_dir.resolve(), listen=str(args.port),
                           upstreams=args.print_nginx_conf, max_body=args.max_body))
        return 0

    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    stack = Stack(args.run_dir, workers=args.workers, port=args.port,
                  database_url=args.database_url, private_postgres=args.postgres == "private",
                  config=args.config, debug_upstream_header=args.debug_upstream_header,
                  max_body=args.max_body)
    with stack:
        log.info("arena on %s (%d workers; state in %s)", stack.url, args.workers,
                 stack.run_dir / "stack.json")
        stopping.wait()
        log.info("stopping")
    return 0


if __name__ == "__main__":
    sys.exit(main())

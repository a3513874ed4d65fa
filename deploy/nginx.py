"""deploy/nginx.conf.template filled in for a run directory and a list of arena ports."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from arena.config import ServerSettings

TEMPLATE = Path(__file__).with_name("nginx.conf.template")
DEBIAN_NGINX = "/usr/sbin/nginx"  # not on PATH for most users other than root
TEMP_DIRS = ("body", "proxy", "fastcgi", "uwsgi", "scgi")
# A worker user for nginx started as root (Debian has no `nobody` group, nginx's default).
ROOT_WORKER_USER = "nobody nogroup"
# The largest request body nginx passes on: the arena's own limit (server.max_body_kb),
# so nginx refuses what the arena would, before it reaches a process.
DEFAULT_MAX_BODY = f"{ServerSettings().max_body_kb}k"
# A process is left out for FAIL_TIMEOUT after MAX_FAILS failed requests (refused or cut
# connections) within it: one cut connection alone does not take it out.
MAX_FAILS = 3
FAIL_TIMEOUT = "5s"


def nginx_binary() -> str:
    """The nginx to run: ARENA_NGINX, nginx on PATH, or Debian's /usr/sbin/nginx."""
    candidate = os.environ.get("ARENA_NGINX") or shutil.which("nginx") or DEBIAN_NGINX
    if not Path(candidate).exists():
        raise FileNotFoundError(f"nginx not found ({candidate}; apt-get install nginx)")
    return candidate


def render(*, run_dir: Path, listen: str, upstreams: list[str], max_body: str = DEFAULT_MAX_BODY,
           access_log: bool = True, debug_upstream_header: bool = False,
           as_root: bool | None = None) -> str:
    """The nginx.conf text. *upstreams* are host:port of the arena processes.

    *debug_upstream_header* adds `X-Arena-Upstream: host:port` to every response
    (which process answered): for tests and diagnosis, never for a public arena.
    """
    as_root = os.geteuid() == 0 if as_root is None else as_root
    servers = "\n".join(f"        server {address} max_fails={MAX_FAILS} "
                        f"fail_timeout={FAIL_TIMEOUT};"
                        for address in upstreams)
    debug = ("        add_header X-Arena-Upstream $upstream_addr always;\n"
             if debug_upstream_header else "")
    values = {
        "@USER_LINE@": f"user {ROOT_WORKER_USER};" if as_root else "# (not root: no user line)",
        "@RUN_DIR@": str(run_dir),
        "@LISTEN@": listen,
        "@UPSTREAM_SERVERS@": servers,
        "@MAX_BODY@": max_body,
        "@ACCESS_LOG@": f"{run_dir}/nginx-access.log" if access_log else "off",
        "@DEBUG_HEADER@": debug,
    }
    text = TEMPLATE.read_text()
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def write_config(run_dir: Path, text: str) -> Path:
    """nginx.conf in *run_dir*, with the temporary directories nginx expects."""
    for name in TEMP_DIRS:
        (run_dir / "nginx-tmp" / name).mkdir(parents=True, exist_ok=True)
    path = run_dir / "nginx.conf"
    path.write_text(text)
    return path


def command(run_dir: Path, config: Path) -> list[str]:
    return [nginx_binary(), "-p", str(run_dir), "-c", str(config),
            "-e", str(run_dir / "nginx-error.log"), "-g", "daemon off;"]

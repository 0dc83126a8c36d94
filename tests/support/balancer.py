"""HAProxy on loopback with the repository's own configuration (deploy/haproxy.cfg), in front of
`strata serve` nodes: the configuration takes its addresses from the environment, so the file
the tests run is the one docker-compose runs."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import die_with_parent, free_loopback_port, terminate

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "haproxy.cfg"
START_TIMEOUT_S = 15.0
# deploy/haproxy.cfg's log-format: "%ci:%cp %b/%s %ST %Tr/%Ta %{+Q}r %ID"
_LOG_LINE = re.compile(
    r"^(?P<client>\S+):\d+ (?P<backend>[^/\s]+)/(?P<server>\S+) (?P<status>-?\d+) \S+ "
    r'"(?P<request>[^"]*)"'
)
# Loopback only: never route a probe through a proxy from the environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class BalancerUnavailable(RuntimeError):
    """HAProxy is not installed, or did not start."""


def haproxy_binary() -> str | None:
    """Debian installs it in /usr/sbin, which a non-root PATH may lack."""
    return shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")


@dataclass(frozen=True)
class Served:
    """One request as the balancer logged it."""

    backend: str
    server: str
    status: int
    method: str
    path: str
    client: str  # the address the balancer was connected from


@dataclass
class Balancer:
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def served(self) -> list[Served]:
        found = []
        for line in self.log().splitlines():
            match = _LOG_LINE.match(line)
            if match is None:
                continue
            method, _, rest = match["request"].partition(" ")
            found.append(
                Served(
                    match["backend"],
                    match["server"],
                    int(match["status"]),
                    method,
                    rest.rsplit(" ", 1)[0].split("?", 1)[0],
                    match["client"],
                )
            )
        return found

    def says_up(self, server: str) -> bool:
        """Whether the balancer sends `server` ("backend/name") requests: servers start up, and
        every change is logged."""
        changes = re.findall(rf"Server {re.escape(server)} is (UP|DOWN)", self.log())
        return not changes or changes[-1] == "UP"

    def stop(self) -> None:
        terminate(self.process)


def start_balancer(nodes: list[str], log_dir: Path, attempts: int = 3) -> Balancer:
    """HAProxy with deploy/haproxy.cfg on a free loopback port, in front of `nodes` (host:port,
    as many as the configuration names), once it answers /readyz through a node."""
    binary = haproxy_binary()
    if binary is None:
        raise BalancerUnavailable("HAProxy is not installed")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    env.update({f"STRATA_NODE{index}": node for index, node in enumerate(nodes, 1)})
    for _ in range(attempts):
        port = free_loopback_port()
        log_path = log_dir / f"haproxy-{port}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [binary, "-db", "-f", str(CONFIG)],
                env={**env, "STRATA_LB_BIND": f"127.0.0.1:{port}"},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
            )
        balancer = Balancer(port, process, log_path)
        deadline = time.monotonic() + START_TIMEOUT_S
        while process.poll() is None and time.monotonic() < deadline:
            if _ready(balancer.url):
                return balancer
            time.sleep(0.05)
        balancer.stop()
        if "cannot bind" not in balancer.log():
            raise BalancerUnavailable(f"HAProxy did not start: {balancer.log()[-2000:]}")
    raise BalancerUnavailable(f"no free port after {attempts} attempts")


def _ready(url: str) -> bool:
    try:
        with _DIRECT.open(f"{url}/readyz", timeout=1) as response:
            return response.status == 200
    except (urllib.error.HTTPError, OSError):
        return False

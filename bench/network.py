"""Real processes for benchmarks, started with the simulator's own launcher."""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from pathlib import Path

from sim.fleet import plan
from sim.network import Network, free_ports, start_cp, wait_port


@contextlib.contextmanager
def central_with_cps(count: int, extra_cps: list[str] = ()):
    """Central plus ``count`` real CPs; yields (network, http_url, central_addr, cps, token)."""
    ports = free_ports()
    with tempfile.TemporaryDirectory(prefix="ev-bench-") as tmp:
        network = Network(Path(tmp))
        db, token = Path(tmp) / "central.db", secrets.token_urlsafe(12)
        http, listen = next(ports), next(ports)
        cps = plan(count, ports)
        secret_files = {}
        for cp in cps:
            out = network.run(["ev-central", "cp", "add", cp.cp_id, "--location", cp.location,
                               "--price", str(cp.price), "--db", str(db)])
            secret_files[cp.cp_id] = Path(tmp) / f"{cp.cp_id}.secret"
            secret_files[cp.cp_id].write_text(out.strip().splitlines()[-1])
        central = f"127.0.0.1:{listen}"
        try:
            network.start("central", ["ev-central", "--listen", central, "--http",
                                      f"127.0.0.1:{http}", "--db", str(db),
                                      f"--admin-token={token}"])
            wait_port(http, 15, "Central")
            for cp in cps:
                start_cp(network, cp, central, secret_files[cp.cp_id])
            yield network, f"http://127.0.0.1:{http}", central, cps, token
        finally:
            network.stop()

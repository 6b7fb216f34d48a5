"""Free ports: never the same one twice in a process, only in EV_PORT_RANGE."""

import itertools
import socket

from sim.network import free_ports, port_free, port_range


def test_two_callers_never_get_the_same_port_before_either_binds_it(monkeypatch):
    monkeypatch.setenv("EV_PORT_RANGE", "24000-24099")
    first, second = free_ports(), free_ports()
    picked = [next(g) for g in itertools.islice(itertools.cycle((first, second)), 60)]
    assert len(set(picked)) == 60 and all(24000 <= port <= 24099 for port in picked)


def test_a_bound_port_is_not_free():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        assert not port_free("127.0.0.1", sock.getsockname()[1])


def test_the_range_is_below_the_ephemeral_ports_unless_narrowed(monkeypatch):
    monkeypatch.delenv("EV_PORT_RANGE", raising=False)
    assert port_range() == (20000, 32000)
    monkeypatch.setenv("EV_PORT_RANGE", "26000-31999")
    assert port_range() == (26000, 31999)

"""A server's thread: start() returns once it listens, or raises why it could not."""

import socket

import pytest

from runtime.loop_thread import LoopThread


def serve(runner: LoopThread, port: int, servers: list) -> None:
    try:
        server = runner.loop.run_until_complete(
            runner.loop.create_server(lambda: None, "127.0.0.1", port))
    except OSError as error:
        runner.bound(error)
        return
    servers.append(server)
    runner.bound()


def test_start_returns_once_the_server_listens_and_raises_a_bind_error_in_the_caller():
    servers: list = []
    first = LoopThread("first", lambda: serve(first, 0, servers))
    first.start()
    port = servers[0].sockets[0].getsockname()[1]
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass  # listening when start() returned
    second = LoopThread("second", lambda: serve(second, port, servers))
    with pytest.raises(OSError):
        second.start()  # the port is in use: raised here, not on the thread
    assert not second.alive()
    servers[0].close()
    first.join(2)
    first.loop.close()

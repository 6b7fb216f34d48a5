"""Wrong flags or config: one line on stderr and exit code 2, for every command."""

from __future__ import annotations

import subprocess

import pytest

from tests.support import BIN


def run(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL, **kw)


@pytest.mark.parametrize(
    "args",
    [
        ["ev-central", "--no-such-flag"],
        ["ev-central", "--listen", "nonsense"],
        ["ev-central", "--http", "127.0.0.1:99999"],
        ["ev-central", "cp", "add", "CP1", "--location", "X", "--price", "cheap"],
        ["ev-central", "cp", "add", "bad id!", "--location", "X", "--price", "0.3"],
        ["ev-cp-e", "--bogus"],
        ["ev-cp-e", "--cp-id", "CP1", "--listen", "nowhere"],
        ["ev-cp-e", "--cp-id", "CP1", "--power-kw", "lots"],
        ["ev-cp-e", "panel", "--panel", "127.0.0.1:1", "push", "fault"],
        ["ev-cp-e", "panel", "--panel", "127.0.0.1:1", "press", "nose"],
        ["ev-cp-m", "--cp-id", "CP1", "--engine", "127.0.0.1:1"],
        ["ev-cp-m", "--cp-id", "CP1", "--engine", "127.0.0.1:1", "--secret-file", "/nonexistent"],
        ["ev-cp-m", "--cp-id", "CP1", "--engine", "bad", "--secret-file", "/etc/hostname"],
        ["ev-bridge", "--mqtt", "nowhere"],
        ["ev-bridge", "--mqtt-user", "bridge"],
        ["ev-driver"],
        ["ev-driver", "--driver-id", "D1", "--file", "/nonexistent"],
        ["ev-driver", "--driver-id", "bad id", "--kafka", "127.0.0.1:1"],
        ["ev-cp-e", "--cp-id", "CP1", "--vehicle-sim", "-3"],
        ["ev-sim", "--cps", "0"],
        ["ev-sim", "--drivers", "-1"],
        ["ev-sim", "--kafka", "nowhere"],
        ["ev-sim", "--http", "nope"],
        ["ev-sim", "--ocpp", "9000"],
        ["ev-central", "--port", "abc"],
    ],
    ids=lambda args: " ".join(args),
)
def test_bad_flags_are_one_line_and_exit_2(args, tmp_path):
    done = run(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0].lower(), done.stderr
    assert "Traceback" not in done.stderr


def test_bad_config_file_is_one_line_and_exit_2(tmp_path):
    config = tmp_path / "central.toml"
    config.write_text("listn = '127.0.0.1:7000'\n")
    done = run("ev-central", "--config", str(config))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "unknown setting 'listn'" in done.stderr


def test_cp_add_prints_the_secret_last(tmp_path):
    db = str(tmp_path / "c.db")
    done = run("ev-central", "cp", "add", "MAD-01", "--location", "Madrid", "--price", "0.35",
               "--db", db)
    assert done.returncode == 0, done.stderr
    secret = done.stdout.strip().splitlines()[-1]
    assert len(secret) >= 24 and " " not in secret
    again = run("ev-central", "cp", "add", "MAD-01", "--location", "Madrid", "--price", "0.35",
                "--db", db)
    assert again.returncode != 0 and "exists" in again.stderr


def test_unreachable_panel_is_a_clear_message(tmp_path):
    done = run("ev-cp-e", "panel", "--panel", "127.0.0.1:1", "status")
    assert done.returncode == 1
    assert "cannot reach panel at 127.0.0.1:1" in done.stderr
    assert "Traceback" not in done.stderr


def closed_pipe_run(*args: str, **kw) -> subprocess.CompletedProcess:
    """Run with stdout on a pipe nobody reads any more (``... | head -1`` once head is gone)."""
    import os

    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([str(BIN / args[0]), *args[1:]], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=30,
                              stdin=subprocess.DEVNULL, **kw)
    finally:
        os.close(write)


@pytest.mark.parametrize("args", [
    ["ev-central", "--help"], ["ev-central", "cp", "list"], ["ev-cp-e", "--help"],
    ["ev-cp-e", "selftest", "--help"], ["ev-cp-m", "--help"], ["ev-bridge", "--help"],
    ["ev-driver", "--help"], ["ev-sim", "--help"],
], ids=lambda args: " ".join(args))
def test_output_into_a_closed_pipe_is_not_a_traceback(args, tmp_path):
    if args[1:] == ["cp", "list"]:
        run("ev-central", "cp", "add", "MAD-01", "--location", "Madrid", "--price", "0.35",
            "--db", str(tmp_path / "c.db"))
        args = [*args, "--db", str(tmp_path / "c.db")]
    done = closed_pipe_run(*args, cwd=tmp_path)
    assert done.stderr == "" and done.returncode in (0, 141)  # argparse's help copes itself


def test_panel_status_into_a_closed_pipe_is_not_a_traceback(tmp_path):
    from tests.support import free_port, spawn, stop, wait_port

    panel = free_port()
    engine = spawn(["ev-cp-e", "--cp-id", "CP1", "--listen", f"127.0.0.1:{free_port()}",
                    "--panel", f"127.0.0.1:{panel}", "--state-dir", str(tmp_path)],
                   tmp_path / "engine.log")
    try:
        wait_port(panel, 30)
        done = closed_pipe_run("ev-cp-e", "panel", "--panel", f"127.0.0.1:{panel}", "status")
        assert done.stderr == "" and done.returncode == 141
    finally:
        stop(engine)


def test_an_engine_without_gpio_says_what_to_do_in_one_line(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if k != "GPIOZERO_PIN_FACTORY"}
    done = run("ev-cp-e", "--cp-id", "CP1", "--state-dir", str(tmp_path), env=env)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "cannot drive the GPIO pins" in done.stderr and "--pin-factory mock" in done.stderr
    assert run("ev-cp-e", "selftest", "--seconds", "0", env=env).stderr.count("\n") == 1
    mocked = run("ev-cp-e", "selftest", "--seconds", "0", "--pin-factory", "mock", env=env)
    assert mocked.returncode == 0 and "[mock pins]" in mocked.stdout, mocked.stderr


def test_a_taken_port_is_one_line_naming_the_flag(tmp_path):
    import socket

    from tests.support import free_port

    with socket.create_server(("127.0.0.1", free_port())) as taken:
        port = taken.getsockname()[1]
        done = run("ev-cp-e", "--cp-id", "CP1", "--listen", f"127.0.0.1:{free_port()}",
                   "--panel", f"127.0.0.1:{port}", "--state-dir", str(tmp_path))
        assert done.returncode == 2
        assert f"ev-cp-e: error: cannot listen on 127.0.0.1:{port} (--panel): Address already " \
            "in use\n" in done.stderr
        done = run("ev-sim", "--workdir", "/proc/no-such-dir")
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr


@pytest.mark.parametrize("args", [
    ["ev-central", "--db", "c.db"], ["ev-cp-e", "--cp-id", "CP1", "--pin-factory", "mock"],
    ["ev-cp-m", "--cp-id", "CP1", "--engine", "127.0.0.1:1", "--secret-file", "/etc/hostname"],
    ["ev-bridge"], ["ev-sim"], ["ev-driver", "--driver-id", "D1"],
], ids=lambda args: args[0])
def test_a_wrong_log_level_is_one_line_and_exit_2(args, tmp_path):
    import os

    done = run(*args, cwd=tmp_path, env={**os.environ, "EV_LOG_LEVEL": "chatty"})
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"{args[0]}: error: EV_LOG_LEVEL 'CHATTY' is not a log level (DEBUG, INFO, WARNING, "
        "ERROR)"]

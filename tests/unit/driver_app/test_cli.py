"""Start-up pieces of ``ev-driver``: Ctrl+C before the handlers, where log lines go."""

from __future__ import annotations

import io
import logging

import pytest

from driver_app import cli
from driver_app.screen import Screen


class Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def root_logger():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def test_ctrl_c_before_the_signal_handlers_is_a_clean_exit(monkeypatch):
    def interrupted(argv):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run", interrupted)
    assert cli.main([]) == 0


def test_the_menu_on_a_terminal_logs_to_a_file_and_shows_warnings(tmp_path, root_logger,
                                                                   monkeypatch, capsys):
    monkeypatch.delenv("EV_LOG_LEVEL", raising=False)
    out = Tty()
    screen = Screen(out, live=True)
    path = cli.setup_logs(screen, tmp_path / "driver.log")
    assert path == tmp_path / "driver.log"
    logging.getLogger("driver_app.kafka_client").info("following driver.updates")
    logging.getLogger("driver_app.kafka_client").warning("cannot reach Kafka")
    for handler in root_logger.handlers:
        handler.flush()
    in_file = path.read_text()
    assert "INFO    driver_app.kafka_client: following driver.updates" in in_file
    assert "WARNING driver_app.kafka_client: cannot reach Kafka" in in_file
    shown = capsys.readouterr().err
    assert "cannot reach Kafka" in shown and "following" not in shown


def test_an_unwritable_log_file_leaves_the_warnings_on_the_terminal(tmp_path, root_logger):
    out = Tty()
    screen = Screen(out, live=True)
    assert cli.setup_logs(screen, tmp_path / "missing" / "driver.log") is None
    assert "cannot write the log to" in out.getvalue()
    assert [h.level for h in root_logger.handlers] == [logging.WARNING]


def test_elsewhere_every_log_line_goes_to_stderr(root_logger, monkeypatch, capsys):
    monkeypatch.delenv("EV_LOG_LEVEL", raising=False)
    assert cli.setup_logs(Screen(io.StringIO()), None) is None
    logging.getLogger("driver_app.app").info("sent charge_request")
    assert "INFO    driver_app.app: sent charge_request" in capsys.readouterr().err

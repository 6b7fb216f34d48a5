"""The shell with a fake Kafka client: menu lines, file runs and the state dir."""

from __future__ import annotations

import io
import queue
import threading

import pytest

from driver_app.app import EOF_GRACE_S, App
from driver_app.cli import main
from driver_app.kafka_client import Reached
from driver_app.plan import FileRun
from driver_app.screen import Screen
from driver_app.session import DriverSession
from driver_app.state import StateDir
from protocol import driver as d

ME = "D1"


class FakeKafka:
    """Answers like a tiny Central: status empty, list one CP, every charge denied.
    Kafka answers at once (cluster ``cluster``) unless ``reachable`` is False."""

    def __init__(self, cluster: str | None = "C1", reachable: bool = True) -> None:
        self.bootstrap = "kafka:9092"
        self.cluster, self.reachable = cluster, reachable
        self.assigned_from: dict[int, int] | None = None
        self.sent: list[d.DriverMessage] = []
        self.inbox: list[d.DriverMessage] = []
        self.offsets: dict[int, int] = {0: 5}
        self.offsets_changed = True
        self._delivered: list[tuple[str, bool]] = []

    def reached(self) -> Reached | None:
        return Reached(self.cluster, frozenset()) if self.reachable else None

    def assign(self) -> bool:
        self.assigned_from = dict(self.offsets)
        return True

    def send(self, message: d.DriverMessage) -> None:
        self.sent.append(message)
        self._delivered.append((message.id, True))
        if isinstance(message, d.StatusRequest):
            self.inbox.append(d.DriverStatus(driver_id=ME, ref=message.id))
        elif isinstance(message, d.ListRequest):
            self.inbox.append(d.CpList(driver_id=ME, ref=message.id, cps=[
                {"id": "MAD-01", "location": "Madrid", "price_eur_kwh": "0.35",
                 "state": "ACTIVATED"}]))
        elif isinstance(message, d.ChargeRequest):
            self.inbox.append(d.Denied(driver_id=ME, ref=message.id, cp_id=message.cp_id,
                                       reason="CP busy"))

    def poll(self, timeout: float) -> list[d.DriverMessage]:
        out, self.inbox = self.inbox, []
        return out

    def deliveries(self) -> list[tuple[str, bool]]:
        out, self._delivered = self._delivered, []
        return out

    def report_down(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.5
        return self.now


def app(tmp_path, run=None):
    out = io.StringIO()
    kafka = FakeKafka()
    store = StateDir(tmp_path)
    store.open()
    return App(DriverSession(ME), kafka, Screen(out), store, run, clock=Clock()), kafka, out


def test_menu_lines_until_end_of_input(tmp_path):
    shell, kafka, out = app(tmp_path)
    commands: queue.Queue = queue.Queue()
    for line in ("1\n", "2\n", "MAD-01\n", "nonsense\n", "5\n", None):
        commands.put(line)
    assert shell.loop(threading.Event(), commands) == 0
    text = out.getvalue()
    assert "MAD-01       Madrid" in text
    assert "CP id?" in text and "denied at MAD-01: CP busy" in text
    assert "unknown choice 'nonsense'" in text and "no supplies yet" in text
    assert [type(m).__name__ for m in kafka.sent] == [
        "StatusRequest", "ListRequest", "ChargeRequest", "StatusRequest"]
    assert StateDir(tmp_path).load("offsets") == {"0": 5}


def test_file_run_prints_a_summary_and_forgets_the_run(tmp_path):
    shell, kafka, out = app(tmp_path, FileRun(["MAD-01", "MAD-02"], 1))
    assert shell.loop(threading.Event()) == 0
    assert [m.cp_id for m in kafka.sent if isinstance(m, d.ChargeRequest)] == ["MAD-01", "MAD-02"]
    assert "supplies  2 (0 completed, 2 not)" in out.getvalue()
    assert StateDir(tmp_path).load("session")["file"] is None


@pytest.mark.parametrize(("argv", "message"), [
    ([], "--driver-id is required"),
    (["--driver-id", "bad id"], "not a valid id"),
    (["--driver-id", "D1", "--kafka", "nohost"], "--kafka: expected HOST:PORT"),
    (["--driver-id", "D1", "--file", "/nonexistent/cps"], "cannot read /nonexistent/cps"),
    (["--driver-id", "D1", "--wait", "-1"], "--wait must be"),
    (["--driver-id", "D1", "--wait", "soon"], "--wait: invalid float value: 'soon'"),
    (["--driver-id", "D1", "--wait", "nan"], "--wait must be"),
    (["--driver-id", "D1", "--kafka", "host:99999"], "--kafka: expected HOST:PORT"),
    (["--driver-id", "D1", "--nope"], "unknown flag --nope"),
    (["--driver-id", "D1", "--config", "/nonexistent/driver.toml"], "/nonexistent/driver.toml"),
    (["--driver-id", "D1", "--state-dir", "/dev/null/state"], "cannot use state dir"),
])
def test_bad_flags_are_one_line_and_exit_2(argv, message, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EV_LOG_LEVEL", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


# -- before Kafka answers ------------------------------------------------------------
class Tty(io.StringIO):
    def isatty(self):
        return True


class TypedLater:
    """A command queue where ``lines`` arrive one by one, ``gap`` empty reads apart."""

    def __init__(self, lines: list[str | None], gap: int) -> None:
        self.lines, self.gap, self.reads = list(lines), gap, 0

    def get_nowait(self):
        self.reads += 1
        if self.lines and self.reads % self.gap == 0:
            return self.lines.pop(0)
        raise queue.Empty


def test_without_kafka_the_menu_answers_and_q_quits(tmp_path):
    out = Tty()
    store = StateDir(tmp_path)
    store.open()
    kafka = FakeKafka(reachable=False)
    shell = App(DriverSession(ME), kafka, Screen(out, live=True), store, clock=Clock())
    assert shell.loop(threading.Event(), TypedLater(["1", "q"], 5)) == 0
    text = out.getvalue()
    assert "1) list available CPs" in text and "D1> " in text
    assert "not connected yet: waiting for Kafka at kafka:9092" in text
    assert "waiting for Kafka at kafka:9092, 0 s" in text
    assert "waiting for Kafka at kafka:9092, 2 s" in text  # it counts up
    assert kafka.sent == [] and kafka.assigned_from is None


def test_without_kafka_a_stop_request_ends_the_loop(tmp_path):
    shell, kafka, _ = app(tmp_path)
    kafka.reachable = False
    stopping = threading.Event()
    threading.Timer(0.3, stopping.set).start()
    assert shell.loop(stopping) == 0
    assert kafka.sent == []


def test_at_the_end_of_input_kafka_is_waited_for_a_while(tmp_path):
    shell, kafka, _ = app(tmp_path)
    kafka.reachable = False
    commands: queue.Queue = queue.Queue()
    commands.put(None)
    assert shell.loop(threading.Event(), commands) == 0
    assert shell.clock.now > EOF_GRACE_S


def test_at_the_end_of_input_the_status_on_start_is_still_shown(tmp_path):
    shell, kafka, out = app(tmp_path)
    commands: queue.Queue = queue.Queue()
    commands.put(None)
    assert shell.loop(threading.Event(), commands) == 0
    assert "no supply under way" in out.getvalue()


# -- the network the state dir belongs to ------------------------------------------------
def kept_state(tmp_path, network: dict) -> StateDir:
    store = StateDir(tmp_path)
    store.open()
    store.save("network", network)
    following = {"cp_id": "OLD-01", "phase": "supplying", "session_id": "S-OLD"}
    store.save("session", {"session": {"following": following, "ended": ["S-0"]},
                           "file": {"cps": ["MAD-01", "MAD-02"], "next": 1}})
    store.save("offsets", {"0": 7})
    return store


def run_file(store: StateDir, kafka: FakeKafka) -> tuple[str, DriverSession]:
    saved = store.load("session")
    model = DriverSession(ME, memory=saved["session"])
    kafka.offsets = {int(p): o for p, o in store.load("offsets").items()}
    out = io.StringIO()
    run = FileRun(["MAD-01", "MAD-02"], 0, saved["file"])
    App(model, kafka, Screen(out), store, run, clock=Clock()).loop(threading.Event())
    return out.getvalue(), model


def test_state_from_another_cluster_is_dropped_with_one_log_line(tmp_path, caplog):
    store = kept_state(tmp_path, {"cluster_id": "OTHER", "bootstrap": "kafka:9092"})
    kafka = FakeKafka(cluster="C1")
    with caplog.at_level("WARNING"):
        text, model = run_file(store, kafka)
    said = [r.getMessage() for r in caplog.records if "starting clean" in r.getMessage()]
    assert said == [f"{tmp_path} holds the state of another network (Kafka cluster OTHER at "
                    "kafka:9092, now Kafka cluster C1 at kafka:9092): starting clean"]
    assert kafka.assigned_from == {}  # no offset of the other cluster's
    assert "OLD-01" not in text  # its supply is not taken for this network's
    assert [m.cp_id for m in kafka.sent if isinstance(m, d.ChargeRequest)] == [
        "MAD-01", "MAD-02"]  # the file from its top
    assert "S-0" not in model.memory()["ended"]
    assert store.load("network") == {"cluster_id": "C1", "bootstrap": "kafka:9092"}


def test_state_from_the_same_cluster_is_kept(tmp_path, caplog):
    store = kept_state(tmp_path, {"cluster_id": "C1", "bootstrap": "other-host:9092"})
    kafka = FakeKafka(cluster="C1")
    with caplog.at_level("WARNING"):
        text, model = run_file(store, kafka)
    assert "starting clean" not in caplog.text
    assert kafka.assigned_from == {0: 7}
    assert "your request at OLD-01 ended while the app was away" in text
    assert [m.cp_id for m in kafka.sent if isinstance(m, d.ChargeRequest)] == ["MAD-02"]
    assert store.load("network") == {"cluster_id": "C1", "bootstrap": "kafka:9092"}


def test_a_state_dir_from_before_the_network_was_kept_is_adopted(tmp_path):
    store = kept_state(tmp_path, {})
    (tmp_path / "network.json").unlink()
    kafka = FakeKafka(cluster="C1")
    run_file(store, kafka)
    assert kafka.assigned_from == {0: 7}
    assert store.load("network") == {"cluster_id": "C1", "bootstrap": "kafka:9092"}


def test_a_bad_log_level_is_one_line_and_exit_2(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EV_LOG_LEVEL", "chatty")
    with pytest.raises(SystemExit) as exit_:
        main(["--driver-id", "D1"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "EV_LOG_LEVEL 'CHATTY' is not a log level" in err and len(err.strip().splitlines()) == 1

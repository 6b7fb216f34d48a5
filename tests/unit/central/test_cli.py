"""``ev-central cp add | list`` and ``driver add``, in-process: registrations reach the
audit trail through the same domain events as the API's; bad input is one line."""

from __future__ import annotations

import pytest

from cloud.central.cli import main
from cloud.central.cpstate import StopReason
from cloud.central.store import Store
from tests.support import free_port


def test_registrations_are_audited_and_listed_with_their_stop_reasons(tmp_path, capsys):
    db = str(tmp_path / "central.db")
    assert main(["cp", "add", "CP1", "--location", "Madrid", "--price", "0.35", "--db", db]) == 0
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["cp", "add", "CP2", "--location", "Lugo", "--price", "0.30", "--db", db]) == 0
    assert main(["driver", "add", "D1", "--db", db]) == 0
    store = Store(db)
    assert [(r["actor"], r["source"], r["action"], r["cp_id"], r["params"])
            for r in reversed(store.audit_log())] == [
        ("admin", "console", "registered", "CP1", {"location": "Madrid"}),
        ("admin", "console", "registered", "CP2", {"location": "Lugo"}),
        ("admin", "console", "registered", None, {"driver_id": "D1"})]
    assert secret not in str(store.audit_log())
    store.set_stop_reasons("CP2", frozenset({StopReason.ADMIN, StopReason.WEATHER}))
    store.close()
    capsys.readouterr()
    assert main(["cp", "list", "--db", db]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "CP1\t0.35\tenabled\tMadrid", "CP2\t0.30\tstopped:admin,weather\tLugo"]


@pytest.mark.parametrize(("args", "reason"), [
    (["cp", "add", "CP1", "--location", "x", "--price", "abc"], "price must be a decimal"),
    (["cp", "add", "CP1", "--location", "x", "--price", "0.3"], "CP CP1 already exists"),
    (["cp", "add", "bad id", "--location", "x", "--price", "0.3"], "bad CP id"),
    (["driver", "add", "D1"], "driver D1 already exists"),
])
def test_a_refused_registration_is_one_line_and_exit_2(tmp_path, capsys, args, reason):
    db = str(tmp_path / "central.db")
    main(["cp", "add", "CP1", "--location", "x", "--price", "0.3", "--db", db])
    main(["driver", "add", "D1", "--db", db])
    audited = len(Store(db).audit_log())
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--db", db])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and reason in err[0]
    assert len(Store(db).audit_log()) == audited


@pytest.mark.parametrize(("token", "reason"), [
    (None, "cannot read weather token file"),
    ("", "is empty"),
    ("admin-token-1234", "the weather service token must differ from the admin token"),
])
def test_a_bad_weather_token_file_is_one_line_and_exit_2(tmp_path, capsys, token, reason):
    path = tmp_path / "weather-token"
    if token is not None:
        path.write_text(token + "\n")
    with pytest.raises(SystemExit) as exit_:
        main(["--db", str(tmp_path / "central.db"), "--admin-token", "admin-token-1234",
              "--http", f"127.0.0.1:{free_port()}", "--listen", f"127.0.0.1:{free_port()}",
              "--weather-token-file", str(path)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and reason in err[0]

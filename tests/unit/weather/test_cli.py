"""``ev-weather``'s bad flags: one line, exit code 2, never a traceback."""

from __future__ import annotations

import pytest

from cloud.weather.cli import main


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.setattr("runtime.config.CONFIG_DIR", tmp_path / "etc")  # no /etc config
    for name in ("EV_CENTRAL", "EV_TOKEN_FILE", "EV_LOCATIONS", "EV_EVERY", "EV_THRESHOLD"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "token").write_text("t0ken\n")
    (tmp_path / "locations").write_text("Madrid\n")
    (tmp_path / "key").write_text("k3y\n")
    return tmp_path


def base(tmp) -> list[str]:
    return ["--central", "http://127.0.0.1:8000", "--token-file", str(tmp / "token"),
            "--locations", str(tmp / "locations")]


@pytest.mark.parametrize("args, error", [
    ([], "--central is required"),
    (["--central", "127.0.0.1:8000"], "--central must be an http:// or https:// URL"),
    (["--every", "0"], "--every must be more than 0"),
    (["--every", "soon"], "invalid float value"),
    (["--threshold", "cold"], "--threshold must be a temperature in C"),
    (["--threshold", "-300"], "--threshold must be between -100 and 70 C"),
    (["--provider", "darksky"], "invalid choice: 'darksky'"),
    (["--provider-url", "ftp://x"], "--provider-url must be an http:// or https:// URL"),
    (["--evry", "3"], "unknown flag --evry (did you mean --every?)"),
])
def test_bad_flags(files, capsys, args, error):
    argv = args if args == [] else base(files) + args
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert error in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("which, error", [
    ("token", "cannot read token file"), ("locations", "cannot read locations"),
    ("key", "cannot read API key file")])
def test_missing_files(files, capsys, which, error):
    (files / which).unlink(missing_ok=True)
    with pytest.raises(SystemExit) as exit_:
        main(base(files) + ["--api-key-file", str(files / "key")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert error in err and err.count("\n") == 1


def test_an_empty_token_file(files, capsys):
    (files / "token").write_text("\n")
    with pytest.raises(SystemExit):
        main(base(files))
    assert "token file" in capsys.readouterr().err


def test_set_writes_the_sim_file_beside_the_locations(files, capsys):
    assert main(["set", "Madrid", "-3", "--locations", str(files / "locations")]) == 0
    assert capsys.readouterr().out.startswith("Madrid: -3 C")
    assert '"Madrid": "-3"' in (files / "weather-sim.json").read_text()


@pytest.mark.parametrize("args, error", [
    (["set", "Madrid"], "the following arguments are required: TEMP"),
    (["set", "Madrid", "-3"], "--sim-file (or --locations) is required"),
    (["set", "Madrid", "hot", "--sim-file", "x.json"], "not a temperature"),
])
def test_set_bad_input(files, capsys, args, error):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert error in err and err.count("\n") == 1


def test_set_finds_the_sim_file_through_the_config_file(files, capsys):
    config = files / "weather.toml"
    config.write_text(f'central = "http://127.0.0.1:8000"\nlocations = "{files / "locations"}"\n'
                      f'every = 2\nthreshold = -1.5\n')
    assert main(["set", "Oslo", "-7", "--config", str(config)]) == 0
    assert '"Oslo": "-7"' in (files / "weather-sim.json").read_text()


def test_a_config_file_with_an_unknown_setting(files, capsys):
    config = files / "weather.toml"
    config.write_text('centrale = "http://127.0.0.1:8000"\n')
    with pytest.raises(SystemExit) as exit_:
        main(base(files) + ["--config", str(config)])
    assert exit_.value.code == 2
    assert "unknown setting 'centrale'" in capsys.readouterr().err

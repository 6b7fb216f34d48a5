import pytest

from runtime.backoff import delays
from runtime.config import Parser, parse


def make_parser():
    parser = Parser(prog="ev-test")
    parser.add_argument("--listen", default="127.0.0.1:6000")
    parser.add_argument("--power-kw", type=float, default=7.4)
    parser.add_argument("--verbose", action="store_true")
    return parser


def test_flag_beats_env_beats_file_beats_default(tmp_path, monkeypatch):
    config = tmp_path / "engine.toml"
    config.write_text('listen = "0.0.0.0:1"\npower_kw = 11\nverbose = true\n')
    args = parse(make_parser(), ["--config", str(config)], "engine")
    assert (args.listen, args.power_kw, args.verbose) == ("0.0.0.0:1", 11.0, True)
    monkeypatch.setenv("EV_LISTEN", "0.0.0.0:2")
    assert parse(make_parser(), ["--config", str(config)], "engine").listen == "0.0.0.0:2"
    args = parse(make_parser(), ["--config", str(config), "--listen", "h:3"], "engine")
    assert args.listen == "h:3"


def test_defaults_without_file(monkeypatch, tmp_path):
    monkeypatch.setattr("runtime.config.CONFIG_DIR", tmp_path)
    assert parse(make_parser(), [], "engine").power_kw == 7.4


@pytest.mark.parametrize(
    ("text", "message"),
    [("nonsense = 1\n", "unknown setting 'nonsense'"), ("listen = [", "not valid TOML")],
)
def test_bad_config_is_one_line_and_exit_2(tmp_path, capsys, text, message):
    config = tmp_path / "engine.toml"
    config.write_text(text)
    with pytest.raises(SystemExit) as exit_info:
        parse(make_parser(), ["--config", str(config)], "engine")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_bad_flag_type_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse(make_parser(), ["--power-kw", "lots"], "engine")
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_backoff_doubles_to_the_cap_with_jitter():
    gen = delays(first=0.2, cap=1.0, rand=lambda: 1.0)
    assert [round(next(gen), 3) for _ in range(5)] == [0.2, 0.4, 0.8, 1.0, 1.0]
    low = delays(first=0.2, cap=1.0, rand=lambda: 0.0)
    assert round(next(low), 3) == 0.1


def central_like_parser() -> Parser:
    parser = Parser(prog="ev-test")
    parser.add_argument("--http", default="127.0.0.1:8000")
    commands = parser.add_subparsers(dest="command", parser_class=Parser)
    add = commands.add_parser("add")
    add.add_argument("id")
    add.add_argument("--price")
    return parser


@pytest.mark.parametrize(("argv", "message"), [
    (["--port", "abc"], "ev-test: error: unknown flag --port\n"),
    (["--htp", "abc"], "ev-test: error: unknown flag --htp (did you mean --http?)\n"),
    (["add", "X", "--prize=3"], "ev-test: error: unknown flag --prize (did you mean --price?)\n"),
])
def test_an_unknown_flag_is_named_not_taken_for_a_sub_command(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        central_like_parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == message


def test_known_flags_abbreviations_and_values_after_double_dash_pass():
    parser = central_like_parser()
    assert parser.parse_args(["--ht", "h:1"]).http == "h:1"
    assert parser.parse_args(["add", "--price", "3", "--", "--X"]).id == "--X"

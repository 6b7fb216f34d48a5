"""The locations file and the menu's commands over it."""

from __future__ import annotations

import os

import pytest

from cloud.weather.locations import Command, LocationsFile, apply, parse, parse_command, render


def test_parse_skips_comments_blanks_and_repeats():
    names, problems = parse("# watched\n\nMadrid\n  New   York,US \nMadrid\nOslo\n")
    assert names == ["Madrid", "New York,US", "Oslo"] and problems == []


def test_parse_names_bad_lines():
    names, problems = parse("Madrid\n" + "x" * 101 + "\nbad\x07bell\n")
    assert names == ["Madrid"]
    assert problems == ["line 2: a location name is at most 100 characters",
                        "line 3: a location name has no control characters"]


def test_render_round_trips():
    assert parse(render(["Madrid", "São Paulo,BR"]))[0] == ["Madrid", "São Paulo,BR"]


@pytest.mark.parametrize("line, command", [
    ("add Paris,FR", Command("add", "Paris,FR")),
    ("a  New   York", Command("add", "New York")),
    ("remove Oslo", Command("remove", "Oslo")),
    ("rm Oslo", Command("remove", "Oslo")),
    ("rename New York -> New York,US", Command("rename", "New York", "New York,US")),
    ("mv Oslo Bergen", Command("rename", "Oslo", "Bergen")),
    ("list", Command("list")), ("", Command("list")), ("LS", Command("list")),
    ("q", Command("quit")), ("help", Command("help")),
])
def test_parse_command(line, command):
    assert parse_command(line) == command


@pytest.mark.parametrize("line, error", [
    ("add", "add what?"), ("remove ", "remove what?"),
    ("rename New York New York,US", "rename OLD -> NEW"),
    ("fly Madrid", "unknown command 'fly'"),
])
def test_parse_command_errors(line, error):
    assert parse_command(line).startswith(error)


def test_apply_commands():
    names = ["Madrid", "Oslo"]
    assert apply(names, Command("add", "Bergen")) == (["Madrid", "Oslo", "Bergen"],
                                                      "location Bergen added")
    assert apply(names, Command("remove", "Oslo")) == (["Madrid"], "location Oslo removed")
    assert apply(names, Command("rename", "Oslo", "Bergen")) == (
        ["Madrid", "Bergen"], "location Oslo renamed Bergen")


@pytest.mark.parametrize("command, message", [
    (Command("add", "Oslo"), "Oslo is already watched"),
    (Command("add", "#x"), "a location name does not start with #"),
    (Command("remove", "Lima"), "Lima is not watched"),
    (Command("rename", "Lima", "Cusco"), "Lima is not watched"),
    (Command("rename", "Oslo", "Madrid"), "Madrid is already watched"),
    (Command("rename", "Oslo", ""), "a location needs a name"),
])
def test_apply_refusals_leave_the_list(command, message):
    assert apply(["Madrid", "Oslo"], command) == (["Madrid", "Oslo"], message)


def test_the_file_notices_changes_on_disk(tmp_path):
    path = tmp_path / "locations"
    path.write_text("Madrid\n")
    os.chmod(path, 0o640)
    file = LocationsFile(path)
    assert file.read() == (["Madrid"], [])
    assert not file.changed()
    file.write(["Madrid", "Oslo"])
    assert not file.changed()  # its own write is not a change
    assert path.read_text() == "Madrid\nOslo\n"
    assert path.stat().st_mode & 0o777 == 0o640  # the file keeps its mode
    path.write_text("Lima\n")  # someone else
    assert file.changed()
    assert file.read() == (["Lima"], [])
    path.unlink()
    assert not file.changed()  # gone: the office keeps what it watches

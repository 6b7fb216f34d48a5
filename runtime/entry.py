"""What every console script does at its edges: no traceback for a closed pipe
(``ev-cp-e panel ... status | head -1``) or a Ctrl+C that arrives before the service
installed its own handlers."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable

SIGPIPE_EXIT = 141  # what a shell reports for a process ended by SIGPIPE
SIGINT_EXIT = 130


def console_script(main: Callable[..., int | None]) -> Callable[..., int | None]:
    @functools.wraps(main)
    def run(argv: list[str] | None = None) -> int | None:
        try:
            code = main(argv)
            sys.stdout.flush()
            return code
        except BrokenPipeError:
            _drop_stdout()
            return SIGPIPE_EXIT
        except KeyboardInterrupt:
            return SIGINT_EXIT

    return run


def _drop_stdout() -> None:
    """The reader went away: point stdout at /dev/null so that the interpreter's own
    flush at exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass

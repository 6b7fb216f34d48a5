"""Child processes that end with the process that started them, however it ends.

``ev-sim`` stops its children itself on SIGINT, SIGTERM and SIGHUP.  For the ends it
cannot handle (SIGKILL, a crash), each child asks the kernel for SIGTERM when its parent
dies (``PR_SET_PDEATHSIG``, Linux).  The kernel ties that to the *thread* that started the
child, so start children from a thread that lives as long as they should (the main
thread).  Elsewhere (macOS) only the signal handlers stop the children.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping

PR_SET_PDEATHSIG = 1

try:  # looked up now: a forked child should not load libraries before its exec
    _prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
except (OSError, AttributeError):
    _prctl = None


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` for ``subprocess.Popen``: SIGTERM to the child when we die."""
    if _prctl is None:
        return None
    parent = os.getpid()

    def in_child() -> None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # we died between the fork and the prctl
            os.kill(os.getpid(), signal.SIGTERM)

    return in_child


def stop_all(processes: Mapping[str, subprocess.Popen], say: Callable[[str], None],
             grace: float = 5.0, patience: float = 1.0) -> None:
    """SIGTERM to each of ``processes`` at once (after SIGCONT: a stopped process could not
    handle it), SIGKILL to those still running ``grace`` seconds later.  A stop that takes
    longer than ``patience`` seconds is a wait someone watches: ``say`` names who is
    still stopping, and who had to be killed (a grace shorter than that is a kill
    expected: nothing is said)."""
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.terminate()
    started = time.monotonic()
    told = False
    while running := [name for name, p in processes.items() if p.poll() is None]:
        waited = time.monotonic() - started
        if waited >= patience and not told:
            say(f"waiting for {', '.join(running)} to stop ...")
            told = True
        if waited >= grace:
            if told:
                say(f"{', '.join(running)} did not stop within {grace:g} s: killed")
            for name in running:
                processes[name].kill()
                processes[name].wait()
            return
        time.sleep(0.05)

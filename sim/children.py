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
import sys
from collections.abc import Callable

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

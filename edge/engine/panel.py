"""The virtual front panel: its buttons, a framed-protocol TCP server and its client.

:class:`VirtualPanel` is the one place that presses the engine's buttons for someone
not at the CP (``ev-cp-e panel``, the keyboard): on mock pins it drives the very pin a
finger would, so gpiozero calls the button's handler as for a real press; on real GPIO
it calls the engine's handler.  A :class:`~protocol.messages.PanelAction` presses or
releases a button or just asks; every action is answered with a
:class:`~protocol.messages.PanelStatus`.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from typing import Any

from protocol import messages
from protocol.transport import Connection, Listener, SocketStream, connect

log = logging.getLogger(__name__)


class VirtualPanel:
    def __init__(self, engine) -> None:
        self._engine = engine
        self._buttons = engine.devices.buttons
        self._mock = engine.devices.mock

    def press(self, name: str) -> None:
        """Hold ``name`` down (on mock pins, a held button is released and pressed again)."""
        if not self._mock:
            self._engine.press(name)
            return
        pin = self._buttons[name].pin
        if self._buttons[name].is_pressed:
            pin.drive_high()
        pin.drive_low()

    def release(self, name: str) -> None:
        """Let ``name`` go (nothing to do on real GPIO: the press was the event)."""
        if self._mock:
            self._buttons[name].pin.drive_high()

    def click(self, name: str) -> None:
        """Press and release: a key on the keyboard."""
        self.press(name)
        self.release(name)

    def act(self, action: messages.PanelAction) -> dict:
        """Carry out a PanelAction; the engine's status."""
        if action.action != "status" and action.button:
            if action.button == "request":
                self._engine.hint_request("panel", action.driver_id)
            log.info("panel: %s %s", action.action, action.button)
            if action.action == "press":
                self.press(action.button)
            else:
                self.release(action.button)
        return self._engine.snapshot()


class PanelServer:
    def __init__(
        self, address: str, cp_id: str, handle: Callable[[messages.PanelAction], dict]
    ) -> None:
        self._cp_id = cp_id
        self._handle = handle
        self._listener = Listener(address, self._serve, "panel")
        self.address = address

    def start(self) -> PanelServer:
        self._listener.start()
        log.info("virtual front panel on %s", self.address)
        return self

    def close(self) -> None:
        self._listener.close()

    def _serve(self, stream: SocketStream) -> None:
        holder: dict[str, Connection] = {}
        conn = Connection(
            stream, initiator=False, name="panel",
            on_message=lambda message: self._on_message(holder["conn"], message),
        )
        holder["conn"] = conn
        conn.start()

    def _on_message(self, conn: Connection, message: messages.Message) -> None:
        if not isinstance(message, messages.PanelAction):
            log.warning("panel: ignored a %s message from %s", message.TYPE, conn.peer)
            return
        status = self._handle(message)
        conn.send(messages.PanelStatus(cp_id=self._cp_id, status=status))


class PanelUnreachable(Exception):
    pass


def request(
    address: str, action: str, button: str | None = None, driver_id: str | None = None,
    timeout: float = 3.0,
) -> dict[str, Any]:
    """Send one PanelAction and return the PanelStatus' status; PanelUnreachable if not."""
    replies: queue.Queue = queue.Queue()
    try:
        stream = connect(address, timeout=timeout)
    except OSError as error:
        raise PanelUnreachable(str(error)) from None
    conn = Connection(stream, initiator=True, on_message=replies.put, name="panel-client")
    conn.start()
    try:
        if not conn.wait_open(timeout):
            raise PanelUnreachable("link did not open")
        conn.send(messages.PanelAction(cp_id="", action=action, button=button,
                                       driver_id=driver_id))
        while True:
            reply = replies.get(timeout=timeout)
            if isinstance(reply, messages.PanelStatus):
                return reply.status
    except queue.Empty:
        raise PanelUnreachable("no answer") from None
    finally:
        conn.close("done")

"""The calls the central system makes, as mobilityhouse ``ocpp`` routes them: each is
answered at once by the core (through the service, under its lock), and what it leads to
goes out from the ``@after`` hook, after our answer, never from the handler (a handler
that awaited a call would wait for an answer read by the very loop it blocks)."""

from __future__ import annotations

from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action


class ChargePointHandlers(ChargePoint):
    """The calls the central system makes: each answered by the core, at once."""

    def __init__(self, cp_id: str, connection, link) -> None:
        super().__init__(cp_id, connection, response_timeout=link.call_timeout)
        self._link = link

    def _decide(self, unique_id: str, ask) -> str:
        return self._link.service.decide(unique_id, ask)

    def _release(self, unique_id: str) -> None:
        self._link.service.release(unique_id)

    @on(Action.remote_start_transaction)
    def _remote_start(self, id_tag, connector_id=None, call_unique_id="", **_):
        status = self._decide(call_unique_id, lambda core, now: core.remote_start(
            now, id_tag, connector_id))
        return call_result.RemoteStartTransaction(status=status)

    @on(Action.remote_stop_transaction)
    def _remote_stop(self, transaction_id, call_unique_id="", **_):
        status = self._decide(call_unique_id, lambda core, now: core.remote_stop(
            now, transaction_id))
        return call_result.RemoteStopTransaction(status=status)

    @on(Action.change_availability)
    def _change_availability(self, connector_id, type, call_unique_id="", **_):  # noqa: A002
        status = self._decide(call_unique_id, lambda core, now: core.change_availability(
            now, connector_id, type))
        return call_result.ChangeAvailability(status=status)

    @on(Action.reset)
    def _reset(self, type, call_unique_id="", **_):  # noqa: A002
        status = self._decide(call_unique_id, lambda core, now: core.reset_requested(now, type))
        return call_result.Reset(status=status)

    @on(Action.get_configuration)
    def _get_configuration(self, key=None, **_):
        known, unknown = self._link.service.configuration(key)
        return call_result.GetConfiguration(configuration_key=known, unknown_key=unknown or None)

    @on(Action.change_configuration)
    def _change_configuration(self, key, value, call_unique_id="", **_):
        status = self._decide(call_unique_id, lambda core, now: core.change_configuration(
            now, key, value))
        return call_result.ChangeConfiguration(status=status)

    @on(Action.trigger_message)
    def _trigger(self, requested_message, connector_id=None, call_unique_id="", **_):
        status = self._decide(call_unique_id, lambda core, now: core.trigger(
            now, requested_message, connector_id))
        return call_result.TriggerMessage(status=status)

    @on(Action.unlock_connector)
    def _unlock(self, connector_id, **_):
        return call_result.UnlockConnector(status="NotSupported")  # no lock on the connector

    @on(Action.clear_cache)
    def _clear_cache(self, **_):
        return call_result.ClearCache(status="Accepted")  # no authorization cache to clear

    @on(Action.data_transfer)
    def _data_transfer(self, vendor_id, **_):
        return call_result.DataTransfer(status="UnknownVendorId")

    # what each request leads to goes out after our answer
    @after(Action.remote_start_transaction)
    def _after_remote_start(self, call_unique_id="", **_):
        self._release(call_unique_id)

    @after(Action.remote_stop_transaction)
    def _after_remote_stop(self, call_unique_id="", **_):
        self._release(call_unique_id)

    @after(Action.change_availability)
    def _after_change_availability(self, call_unique_id="", **_):
        self._release(call_unique_id)

    @after(Action.reset)
    def _after_reset(self, call_unique_id="", **_):
        self._release(call_unique_id)

    @after(Action.change_configuration)
    def _after_change_configuration(self, call_unique_id="", **_):
        self._release(call_unique_id)

    @after(Action.trigger_message)
    def _after_trigger(self, call_unique_id="", **_):
        self._release(call_unique_id)

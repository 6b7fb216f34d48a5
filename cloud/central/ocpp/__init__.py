"""Central as an OCPP 1.6J central system: the OCPP endpoint beside the CP socket server.

An OCPP charger is a CP like any other.  The pure decisions are :mod:`.core` (its
status notifications -> the CP's engine health and state; meter values, numbers and
times as real chargers send them) and :mod:`.transactions` (transaction ids <-> sessions,
billing by the messages' own timestamps and register readings).  The shell:
:mod:`.server` (a websockets server on its own thread and loop, HTTP Basic auth before
the upgrade), :mod:`.charge_point` (the ``ocpp`` handlers), :mod:`.port` (the fleet's
:class:`~cloud.central.ports.CpPort` over OCPP calls), :mod:`.records` (the transaction
table in Central's SQLite file) and :mod:`.api` (admin operations over REST).
"""

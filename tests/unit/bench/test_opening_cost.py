"""The opening benchmark: plain and sealed bursts in turn, both kinds taken by one Central."""

from types import SimpleNamespace

from bench import opening_cost
from bench.plain_central import plain_record
from protocol import data, seal
from protocol import messages as m

KEY = seal.Key("k1", bytes(range(32)))
TELEMETRY = data.Telemetry(cp_id="CP1", session_id="s1", kw="7.4", kwh="1.000",
                           price_eur_kwh="0.30", eur="0.30")


def test_bursts_alternate_plain_and_sealed_and_the_fleet_ends_plain(monkeypatch):
    fleet = [SimpleNamespace(sealing=False), SimpleNamespace(sealing=False)]
    seen = []

    def burst(kafka, url, fleet, per_cp, central, progress):
        seen.append([cp.sealing for cp in fleet])
        return {"n": len(seen)}

    monkeypatch.setattr(opening_cost, "burst", burst)
    taken = opening_cost.alternating(2)("kafka", "url", fleet, None, print)
    assert seen == [[False, False], [True, True], [False, False], [True, True]]
    assert taken == {"plain_bursts": [{"n": 1}, {"n": 3}], "sealed_bursts": [{"n": 2}, {"n": 4}]}
    assert [cp.sealing for cp in fleet] == [False, False]


def test_the_plain_central_opens_a_sealed_record_and_decodes_a_plain_one():
    keys = SimpleNamespace(for_data=lambda cp_id, key_id: KEY if key_id == "k1" else None)
    sealed = seal.seal(KEY, "CP1", TELEMETRY.TYPE, TELEMETRY.id, m.encode(TELEMETRY),
                       bytes(12))
    assert plain_record(b"CP1", sealed, keys) == TELEMETRY
    assert plain_record(b"CP1", m.encode(TELEMETRY), keys) == TELEMETRY

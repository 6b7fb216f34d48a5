"""The sealing benchmark's cold-key figure: every distance, both ways of decrypting."""

from bench import sealing


def test_cold_keys_times_a_kept_and_a_built_context_at_every_distance():
    figures = sealing.cold_keys(count=20, rounds=1)
    assert [f["touched_between_kib"] for f in figures] == [0, 256, 4096]
    assert all(f["kept_context_us"] > 0 and f["built_per_call_us"] > 0 for f in figures)

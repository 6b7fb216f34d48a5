"""What sealing costs, in one process, through the code each side runs (no switch in
Central: sealing is never off there, so "without" is the plain decoding Central did
before).

- Central, data plane: a ``cp.telemetry`` record decoded as before (plain JSON, kind
  check) against opened and decoded (``kafka_records.decode_record``: envelope, key
  lookup in a real key store, AES-GCM, the same checks).
- Central, control plane: a heartbeat frame's payload decoded by the plain codec
  against Central's sealing codec (``link_sealing.CpSealing``).
- Engine: a telemetry message encoded plain against encoded and sealed.

Each figure is the best of 5 rounds (microseconds per message), and the overhead.

Then why opening costs more inside Central than here (:func:`cold_keys`): AES-GCM
``decrypt`` round robin over 2,000 CPs' keys, with other memory touched between calls
as Central's other work touches it between two records of a CP, for a key's kept
context and for one built at each call.
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cloud.central.kafka_records import decode_record
from cloud.central.keys import Keys
from cloud.central.link_sealing import CpSealing
from protocol import data, seal
from protocol import messages as m
from protocol.topics import CP_TELEMETRY

ROUNDS = 5
COLD_KEYS = 2000
BETWEEN = (0, 256 * 1024, 4 * 1024 * 1024)  # bytes touched between two decrypts


def per_message_us(work: Callable[[object], object], items: list) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for item in items:
            work(item)
        best = min(best, time.perf_counter() - started)
    return best / len(items) * 1e6


def compare(name: str, plain: float, sealed: float) -> dict:
    return {"name": name, "plain_us": round(plain, 1), "sealed_us": round(sealed, 1),
            "overhead_us": round(sealed - plain, 1),
            "plain_per_s": round(1e6 / plain), "sealed_per_s": round(1e6 / sealed)}


def run(count: int = 20000) -> dict:
    with tempfile.TemporaryDirectory(prefix="ev-bench-seal-") as tmp:
        conn = sqlite3.connect(Path(tmp) / "keys.db", check_same_thread=False)
        keys = Keys(conn, threading.RLock())
        cps = [f"CP{n:05d}" for n in range(200)]
        issued = {cp_id: keys.issue(cp_id).key for cp_id in cps}
        messages = [data.Telemetry(cp_id=cps[n % len(cps)], session_id=m.new_id(), kw="7.4",
                                   kwh=f"{n / 1000:.3f}", eur="0.30", price_eur_kwh="0.30")
                    for n in range(count)]
        plain = [(msg.cp_id.encode(), m.encode(msg)) for msg in messages]
        sealed = [(msg.cp_id.encode(), seal.seal(issued[msg.cp_id], msg.cp_id, msg.TYPE,
                                                  msg.id, value, seal.new_nonce()))
                  for msg, (_, value) in zip(messages, plain, strict=True)]

        def before(record):
            message = data.decode(record[1])
            data.check_kind(message, "telemetry")
            return message

        central_data = compare(
            "Central: cp.telemetry record -> message", per_message_us(before, plain),
            per_message_us(lambda r: decode_record(CP_TELEMETRY, r[0], r[1], keys),
                           sealed))
        key = issued[cps[0]]
        beats = [m.Heartbeat(cp_id=cps[0], engine="OK", state="supplying") for _ in range(count)]
        codec = seal.SealingCodec(m.CONTROL_CODEC, cps[0], key)
        plain_frames = [m.CONTROL_CODEC.encode(b) for b in beats]
        sealed_frames = [codec.encode(b) for b in beats]
        central_control = compare(
            "Central: heartbeat frame -> message",
            per_message_us(m.CONTROL_CODEC.decode, plain_frames),
            per_message_us(CpSealing(cps[0], key).decode, sealed_frames))
        engine = compare(
            "engine: telemetry -> MQTT payload", per_message_us(m.encode, messages),
            per_message_us(lambda msg: seal.seal(issued[msg.cp_id], msg.cp_id, msg.TYPE,
                                                 msg.id, m.encode(msg), seal.new_nonce()),
                           messages))
        conn.close()
    return {"messages": count, "rounds": ROUNDS,
            "figures": [central_data, central_control, engine], "cold_keys": cold_keys()}


def cold_keys(count: int = COLD_KEYS, rounds: int = 3) -> list[dict]:
    """``decrypt`` of a 244-byte telemetry payload, us per call (the call alone timed),
    round robin over ``count`` keys, with BETWEEN bytes touched (a byte per 64-byte
    cache line) before each call."""
    keys = [seal.new_key(f"k-{n}") for n in range(count)]
    nonce, plaintext, ad = seal.new_nonce(), bytes(244), b"CP\x1fTelemetry\x1fid"
    sealed = [key.aead.encrypt(nonce, plaintext, ad) for key in keys]
    other = bytearray(max(BETWEEN))

    def per_call_us(between: int, decrypt: Callable[[seal.Key, bytes], bytes]) -> float:
        lines, spent = len(range(0, between, 64)), 0.0
        for n in range(rounds):
            for key, ct in zip(keys, sealed, strict=True):
                other[0:between:64] = bytes([n % 256]) * lines
                started = time.perf_counter()
                decrypt(key, ct)
                spent += time.perf_counter() - started
        return round(spent / (rounds * count) * 1e6, 1)

    return [{"touched_between_kib": between // 1024,
             "kept_context_us": per_call_us(between, lambda k, ct: k.aead.decrypt(nonce, ct, ad)),
             "built_per_call_us": per_call_us(
                 between, lambda k, ct: AESGCM(k.secret).decrypt(nonce, ct, ad))}
            for between in BETWEEN]

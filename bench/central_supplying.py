"""Central with N CPs supplying at once: 1 Hz telemetry each, through Kafka.

Central runs as a real ``ev-central --kafka`` process beside a real Tansu broker.  The
CPs are the fleet simulator (control plane: login, heartbeats, each one's supply start
record); their telemetry, one message per CP per second, is produced into
``cp.telemetry`` by this process exactly as the bridge would relay it (the bridge's
own rate is measured by bench/bridge_throughput.py), sealed under each CP's key as its
engine would seal it.  Central's CPU and RSS over the measurement window; then, for
LAG_WINDOW seconds, the lag: a probe CP's telemetry produced -> ``GET /api/cps/<id>``
shows its kWh.  So that a shortfall shows in every
run: the fewest CPs SUPPLYING in any second of the measurement (``supplying_min``, from
``/metrics``), the state of every CP at its end (``states``, from ``GET /api/cps``) and
how many links the simulated CPs lost (``links_dropped``; they do not reconnect).

Then three bursts in a row (:func:`burst`): 50 telemetry records per CP produced at
once, and the rate at which Central takes them (``burst_msgs_per_s``, the three pooled;
each one's in ``burst_msgs_per_s_each``): its throughput on the data plane, measured
rather than inferred from its CPU.  On this machine the broker, this process and
Central's other threads share two cores with the thread that takes them, so the bursts
also report that thread's own CPU per record (``burst_handling_us_per_record``, from
Central's ``kafka_handling_cpu_seconds_total``): what bounds the data plane where
Central has a core to itself.

What sealing costs: :func:`compare` runs the same fleet against Central without its
sealing layer (``bench.plain_central``; the CPs then send plain) and against Central as it
is, alternately, ``rounds`` times each in the same run, and reports Central's CPU for each
and the ratio of the means.  The same traffic at ``ratio`` times the CPU per message is a
throughput of ``1 / ratio``: ``throughput_cost_percent``; the bursts' rates give
``burst_throughput_cost_percent``; the handling thread's CPU per record
``handling_cost_percent``.  All three also round by round, each sealed run against the
plain run beside it (``throughput_cost_by_round``, ``burst_cost_by_round``,
``handling_cost_by_round``: :func:`bench.stats.paired_cost`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

import psutil

from bench.central_fleet import cpu_and_rss, register
from bench.fleetsim import connect_fleet, published
from bench.stats import metric, paired_cost, pooled_bursts, state_counts, summary, supplying_in
from protocol import data
from protocol.topics import CP_TELEMETRY
from runtime.kafka import Producer
from sim import brokers
from sim.network import Network, free_ports, wait_port

ROOT = Path(__file__).resolve().parent.parent
LAG_WINDOW = 10.0  # seconds of probing the lag, after the CPU window
BURST_PER_CP = 50  # telemetry records per CP in the burst: 100,000 for 2,000 CPs
BURSTS = 3  # one after another: one Central's bursts differ by 6-8 % on this machine
# librdkafka's own lines ("Disconnected" as each run's broker stops under a producer
# not yet collected) stay out of the figures' output
RDKAFKA_LOG = logging.getLogger("bench.rdkafka")
RDKAFKA_LOG.setLevel(logging.CRITICAL)


def kwh_of(url: str, cp_id: str) -> str | None:
    with urllib.request.urlopen(f"{url}/api/cps/{cp_id}", timeout=5) as response:
        return json.load(response)["kwh"]


def telemetry_loop(kafka: str, fleet, stop: threading.Event, sent: dict, latest: dict,
                   probes: set) -> int:
    """Every second, one Telemetry per CP supplying; remembers when each probe's value
    went out (``sent``) and which value it sent last (``latest``)."""
    producer = Producer(kafka, logger=RDKAFKA_LOG, **{"linger.ms": 5})
    second, produced = 0, 0
    while not stop.is_set():
        tick = time.monotonic()
        second += 1
        kwh = (Decimal("7.4") * second / 3600).quantize(Decimal("0.001"))
        figures = {"kw": "7.4", "kwh": str(kwh), "price_eur_kwh": "0.30",
                   "eur": str((kwh * Decimal("0.30")).quantize(Decimal("0.01")))}
        for cp in fleet:
            if cp.session_id is None:
                continue
            message = data.Telemetry(cp_id=cp.cp_id, session_id=cp.session_id, **figures)
            if cp.cp_id in probes:
                sent[(cp.cp_id, figures["kwh"])] = time.perf_counter()
                latest[cp.cp_id] = figures["kwh"]
            producer.produce(CP_TELEMETRY, cp.cp_id, published(cp, message), lambda e, m: None)
            produced += 1
            producer.poll(0)
        producer.flush(5)
        stop.wait(max(0.0, 1.0 - (time.monotonic() - tick)))
    return produced


def metrics(url: str) -> str:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        return response.read().decode()


def consumed(url: str) -> int:
    """Central's count of ``cp.telemetry`` records taken, from ``/metrics``."""
    return int(metric(metrics(url), "evcharging_telemetry_consumed_total"))


def handling_cpu(url: str) -> float:
    """CPU seconds Central's Kafka thread has spent handling records, from ``/metrics``."""
    return metric(metrics(url), "evcharging_kafka_handling_cpu_seconds_total")


def burst(kafka: str, url: str, fleet, per_cp: int, central: psutil.Process,
          progress=print) -> dict:
    """Central's throughput on the data plane: ``per_cp`` telemetry records per CP
    supplying, sealed (or plain) beforehand so that producing them costs the same either
    way, produced at once while the control plane goes on; the rate at which Central
    takes them, from the first record produced until its counter has them all."""
    records = []
    for n in range(per_cp):
        kwh = Decimal("1.000") + Decimal(n) / 1000
        figures = {"kw": "7.4", "kwh": str(kwh), "price_eur_kwh": "0.30",
                   "eur": str((kwh * Decimal("0.30")).quantize(Decimal("0.01")))}
        records += [(cp.cp_id, published(cp, data.Telemetry(
            cp_id=cp.cp_id, session_id=cp.session_id, **figures)))
            for cp in fleet if cp.session_id is not None]
    progress(f"  burst: {len(records)} telemetry records at once")
    producer = Producer(kafka, logger=RDKAFKA_LOG,
                        **{"linger.ms": 5, "queue.buffering.max.messages": 1000000})
    target = consumed(url) + len(records)
    handling_before = handling_cpu(url)
    cpu_before = central.cpu_times()
    started = time.perf_counter()
    for cp_id, value in records:
        producer.produce(CP_TELEMETRY, cp_id, value, lambda e, m: None)
    producer.flush(60)
    taken = consumed(url)
    while taken < target and time.perf_counter() - started < 120:
        time.sleep(0.05)
        taken = consumed(url)
    elapsed = time.perf_counter() - started
    cpu_after = central.cpu_times()
    busy = (cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system) / elapsed
    taken_here = len(records) - (target - taken)
    handling = handling_cpu(url) - handling_before
    return {"burst_records": len(records), "burst_taken": taken_here,
            "burst_s": round(elapsed, 2), "burst_cpu_percent": round(100 * busy, 1),
            "burst_msgs_per_s": round(taken_here / elapsed),
            "burst_handling_us_per_record": round(1e6 * handling / max(taken_here, 1), 2)}


def watch_supplying(url: str, counts: list, stop: threading.Event) -> None:
    """Once a second, how many CPs ``/metrics`` counts as SUPPLYING."""
    while not stop.wait(1.0):
        try:
            counts.append(supplying_in(metrics(url)))
        except OSError:
            continue  # no answer within 5 s: that second has no sample


def watch_probes(url: str, probes: list[str], sent: dict, latest: dict, lags: list,
                 stop: threading.Event):
    """Ask Central for a probe's kWh only while a value it has not shown yet is out: a
    poll every 5 ms all the time was 200-300 requests a second, a fifth of Central's
    time in the window spent answering the benchmark."""
    seen: dict[str, str | None] = {}
    while not stop.is_set():
        for cp_id in probes:
            if cp_id in seen and latest.get(cp_id) == seen[cp_id]:
                continue
            try:
                value = kwh_of(url, cp_id)
            except OSError:
                continue  # no answer within 5 s: ask again
            if value is not None and value != seen.get(cp_id):
                first = cp_id not in seen  # shown before we looked: no lag to measure
                seen[cp_id] = value
                started = sent.get((cp_id, value))
                if started is not None and not first:
                    lags.append(time.perf_counter() - started)
        time.sleep(0.005)


def three_bursts(kafka: str, url: str, fleet, central: psutil.Process, progress) -> dict:
    """What a run ends with: BURSTS bursts, pooled."""
    return pooled_bursts([burst(kafka, url, fleet, BURST_PER_CP, central, progress)
                          for _ in range(BURSTS)])


def run(count: int = 2000, window: float = 20.0, progress=print, sealing: bool = True,
        bursts=three_bursts) -> dict:
    """One Central (with sealing or without) under the fleet: its CPU, RSS and lag, then
    ``bursts(kafka, url, fleet, central, progress)`` (a dict of figures)."""
    ports = free_ports()
    with tempfile.TemporaryDirectory(prefix="ev-bench-") as tmp:
        workdir = Path(tmp)
        db = workdir / "central.db"
        progress(f"  registering {count} CPs")
        credentials = register(db, count)
        kafka = brokers.kafka_broker(workdir, next(ports)).start()
        network = Network(workdir)
        http, listen = next(ports), next(ports)
        try:
            brokers.create_topics(kafka.address)
            central = ["ev-central"] if sealing else ["python", "-m", "bench.plain_central"]
            process = network.start("central", [
                *central, "--listen", f"127.0.0.1:{listen}", "--http", f"127.0.0.1:{http}",
                "--db", str(db), f"--admin-token={secrets.token_urlsafe(12)}",
                "--kafka", kafka.address], PYTHONPATH=str(ROOT))
            wait_port(http, 15, "Central")
            # HTTP listens before the CP server does: the fleet needs the CP port
            wait_port(listen, 15, "Central's CP server", process, network.logs / "central.log")
            url = f"http://127.0.0.1:{http}"
            loop = asyncio.new_event_loop()
            fleet = loop.run_until_complete(connect_fleet(
                "127.0.0.1", listen, credentials, progress=progress, sealing=sealing))
            for cp in fleet:  # the loop is not running yet: no other thread touches it
                cp.start_supply(str(uuid.uuid4()))
            threading.Thread(target=loop.run_forever, daemon=True).start()
            probes = [cp.cp_id for cp in fleet[:: max(1, count // 5)]][:5]
            stop, sent, latest, lags = threading.Event(), {}, {}, []
            producing = threading.Thread(target=telemetry_loop, daemon=True, args=(
                kafka.address, fleet, stop, sent, latest, set(probes)))
            producing.start()
            time.sleep(8)  # supplies recorded, consumer joined, telemetry flowing
            progress(f"  {count} CPs supplying, 1 Hz telemetry each; measuring {window:.0f} s")
            counts: list[int] = []
            counting = threading.Thread(target=watch_supplying, args=(url, counts, stop),
                                        daemon=True)
            counting.start()
            cpu, rss = cpu_and_rss(psutil.Process(process.pid), window)
            # the lag after the CPU: the probes' requests follow the lag (a value not
            # shown yet is asked for every 5 ms), so a slower Central would be asked more
            progress(f"  telemetry -> REST lag for {LAG_WINDOW:.0f} s")
            watcher = threading.Thread(target=watch_probes, daemon=True,
                                       args=(url, probes, sent, latest, lags, stop))
            watcher.start()
            time.sleep(LAG_WINDOW)
            with urllib.request.urlopen(f"{url}/api/cps", timeout=30) as response:
                states = state_counts(json.load(response))
            dropped = sum(cp.closed for cp in fleet)
            why = Counter(cp.close_reason for cp in fleet if cp.closed).most_common(3)
            stop.set()
            producing.join(10)
            watcher.join(5)
            counting.join(5)
            rate = bursts(kafka.address, url, fleet, psutil.Process(process.pid), progress)
            rate["burst_links_dropped"] = sum(cp.closed for cp in fleet) - dropped
            rate["burst_why_dropped"] = dict((Counter(
                cp.close_reason for cp in fleet if cp.closed) - Counter(dict(why))).most_common(3))
            loop.call_soon_threadsafe(loop.stop)
        finally:
            network.stop()
            kafka.stop()
    return {"sealing": sealing, "cps": count, "supplying_min": min(counts, default=None),
            "states": states,
            "links_dropped": dropped, "why_dropped": dict(why),
            "cpu_percent": round(cpu, 1),
            "rss_mib": round(rss, 1), "telemetry_msgs_per_s": count, **rate,
            **summary("telemetry -> REST", lags)}


def compare(count: int = 2000, window: float = 20.0, rounds: int = 2, progress=print) -> dict:
    """The same fleet against Central without and with sealing, alternately."""
    runs: dict[bool, list[dict]] = {False: [], True: []}
    for n in range(rounds):
        for sealing in (False, True):
            progress(f"  round {n + 1}/{rounds}: Central {'with' if sealing else 'without'}"
                     " sealing")
            runs[sealing].append(run(count, window, progress, sealing))
    cpu = {sealing: [r["cpu_percent"] for r in done] for sealing, done in runs.items()}
    ratio = (sum(cpu[True]) / len(cpu[True])) / (sum(cpu[False]) / len(cpu[False]))
    rates = {sealing: [r["burst_msgs_per_s"] for r in done] for sealing, done in runs.items()}
    burst_ratio = sum(rates[True]) / sum(rates[False])
    handling = {sealing: [r["burst_handling_us_per_record"] for r in done]
                for sealing, done in runs.items()}
    return {"sealed": runs[True], "plain": runs[False],
            "cpu_percent_plain": cpu[False], "cpu_percent_sealed": cpu[True],
            "cpu_ratio": round(ratio, 3),
            "throughput_cost_percent": round(100 * (1 - 1 / ratio), 1),
            # throughput at a given load is the inverse of its CPU
            "throughput_cost_by_round": paired_cost([1 / c for c in cpu[False]],
                                                    [1 / c for c in cpu[True]]),
            "burst_msgs_per_s_plain": rates[False], "burst_msgs_per_s_sealed": rates[True],
            "burst_throughput_cost_percent": round(100 * (1 - burst_ratio), 1),
            "burst_cost_by_round": paired_cost(rates[False], rates[True]),
            "handling_us_per_record_plain": handling[False],
            "handling_us_per_record_sealed": handling[True],
            "handling_cost_percent": round(
                100 * (1 - sum(handling[False]) / sum(handling[True])), 1),
            "handling_cost_by_round": paired_cost([1 / u for u in handling[False]],
                                                  [1 / u for u in handling[True]])}

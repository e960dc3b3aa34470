"""Load benchmark of `carepolicy serve`: N concurrent clients for a bounded time, on 127.0.0.1 only.

Starts `carepolicy serve` as a user would (a subprocess on a free loopback port), waits for
/v1/health, then runs `--clients` threads, each with one keep-alive connection, posting one
generated bundle per request (application/json) until `--seconds` have passed or `--max-requests`
were sent, whichever comes first. Prints throughput and p50/p90/p99 latency, then stops the server.
Printed, never asserted (see README.md).

    .venv/bin/python benchmarks/bench_service.py --clients 8 --seconds 20
    .venv/bin/python benchmarks/bench_service.py --workers 1 --no-explain --batch 50
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from benchmarks.bundle_generator import make_bundles
from tests.pipeline_data import dumps

HOST = "127.0.0.1"  # loopback only: this benchmark never sends traffic anywhere else


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for(port: int, process: subprocess.Popen[bytes], limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"carepolicy serve exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", "/v1/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("carepolicy serve did not answer /v1/health in time")


def _client(port: int, bodies: list[bytes], media: str, stop: float, budget: list[int], lock: threading.Lock,
            latencies: list[float], statuses: dict[int, int]) -> None:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    mine: list[float] = []
    index = 0
    try:
        while time.monotonic() < stop:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            body = bodies[index % len(bodies)]
            index += 1
            started = time.perf_counter()
            connection.request("POST", "/v1/decisions", body=body, headers={"content-type": media})
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            with lock:
                statuses[response.status] = statuses.get(response.status, 0) + 1
    finally:
        connection.close()
        with lock:
            latencies.extend(mine)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (threads), default 8")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to send, default 20 s")
    parser.add_argument("--max-requests", type=int, default=200_000, help="stop after this many requests")
    parser.add_argument("--workers", type=int, default=None, help="server workers, default one per core")
    parser.add_argument("--batch", type=int, default=1, help="bundles per request (>1: JSON Lines), default 1")
    parser.add_argument("--no-explain", action="store_true", help="decisions without the trace")
    parser.add_argument("--bundles", type=int, default=500, help="distinct generated bundles to cycle through")
    args = parser.parse_args(argv)

    bundles = [dumps(b) for b in make_bundles(args.bundles, 20250101)]
    if args.batch == 1:
        bodies, media = [b.encode() for b in bundles], "application/json"
    else:
        bodies = ["".join(b + "\n" for b in bundles[i:i + args.batch]).encode()
                  for i in range(0, len(bundles) - args.batch + 1, args.batch)]
        media = "application/x-ndjson"
    port = _free_port()
    command = [str(Path(sys.executable).parent / "carepolicy"), "serve", "--port", str(port)]
    command += ["--workers", str(args.workers)] if args.workers else []
    command += ["--no-explain"] if args.no_explain else []
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(port, process, 180)
        for body in bodies[: min(len(bodies), 200)]:  # warm up: every month's plan built in the workers
            connection = http.client.HTTPConnection(HOST, port, timeout=30)
            connection.request("POST", "/v1/decisions", body=body, headers={"content-type": media})
            connection.getresponse().read()
            connection.close()
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()
        budget = [args.max_requests]
        started = time.perf_counter()
        stop = time.monotonic() + args.seconds
        threads = [threading.Thread(target=_client, args=(port, bodies, media, stop, budget, lock, latencies,
                                                          statuses)) for _ in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    load = os.getloadavg()
    requests = len(latencies)
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (after the run)")
    print(f"server: {args.workers or 'one per core'} worker(s), trace {'off' if args.no_explain else 'on'}; "
          f"{args.clients} clients on one keep-alive connection each, {args.batch} bundle(s) per request")
    print(f"requests: {requests} in {elapsed:.1f} s, statuses {dict(sorted(statuses.items()))}")
    if requests:
        print(f"throughput: {requests / elapsed:,.0f} requests/s, {requests * args.batch / elapsed:,.0f} decisions/s")
        print(f"latency: p50 {_percentile(latencies, 0.5) * 1000:.1f} ms, p90 {_percentile(latencies, 0.9) * 1000:.1f}"
              f" ms, p99 {_percentile(latencies, 0.99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

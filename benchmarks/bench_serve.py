"""Benchmark of the decision-support service: latency and throughput on loopback.

Starts ``vbhc serve`` on a free loopback port over the champion models of an MLflow
store, waits for ``/health``, then runs closed-loop clients (each sends its next
request when the previous answer arrives) at 1, 8 and 32 concurrent clients and
prints p50 / p99 latency (ms), throughput (requests/s) and the server's peak memory.
Goal: p99 <= 50 ms at 32 clients on 2 cores.  The load generator runs in this
process (httpx, asyncio) and shares the machine's cores with the server.

    python benchmarks/bench_serve.py --tracking-uri sqlite:///vbhc-mlruns/mlflow.db
    python benchmarks/bench_serve.py --episodes demo/episodes.parquet   # train a fresh store first
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

HIP_ITEMS = ("PAIN", "NIGHT_PAIN", "SUDDEN_PAIN", "LIMPING", "WALKING", "STAIRS",
             "DRESSING", "STANDING", "TRANSPORT", "WASHING", "SHOPPING", "WORK")


def patients(n: int, seed: int) -> list[dict]:
    """Varied, valid pre-operative requests (fixed seed): both joints, some fields left out."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        p = {
            "joint": str(rng.choice(["hip", "knee"])),
            "age": float(np.clip(rng.normal(68, 10), 30, 95).round(1)),
            "sex": str(rng.choice(["F", "M"])),
            "bmi": float(np.clip(rng.normal(28, 5), 16, 50).round(1)),
            "asa_class": int(rng.choice([1, 2, 3, 4], p=[0.2, 0.55, 0.22, 0.03])),
            "smoking": str(rng.choice(["never", "former", "current"], p=[0.5, 0.35, 0.15])),
            "indication": "primary_osteoarthritis",
            "charlson_index": int(rng.poisson(0.4)),
            "anxiety_depression": bool(rng.random() < 0.12),
            "eq5d_items": {d: int(rng.integers(1, 6)) for d in ("MO", "SC", "UA", "PD", "AD")},
            "eqvas_pre": float(rng.integers(20, 95)),
            "employed": bool(rng.random() < 0.3),
        }
        if p["joint"] == "hip" and rng.random() < 0.3:
            p["oxford_items"] = {i: int(rng.integers(0, 5)) for i in HIP_ITEMS}
        else:
            p["oxford_pre"] = float(rng.integers(4, 40))
        if rng.random() < 0.2:
            del p["bmi"]
        out.append(p)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mib(pid: int) -> dict[int, float]:
    """Peak resident memory (VmHWM, MiB) of a process and its descendants (the uvicorn
    workers); empty where /proc is missing."""
    out: dict[int, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                out[pid] = int(line.split()[1]) / 1024
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                out.update(peak_rss_mib(int(child)))
    except OSError:
        pass
    return out


def start_server(tracking_uri: str, token: str, port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "VBHC_API_TOKEN": token}
    cmd = [sys.executable, "-m", "vbhc", "-q", "serve", "--port", str(port), "--tracking-uri", tracking_uri,
           "--workers", str(workers)]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"vbhc serve exited: {server.stderr.read().decode().strip()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("vbhc serve did not answer /health within 180 s")


async def run_level(base: str, token: str, bodies: list[dict], clients: int, seconds: float, warmup: int) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:
        for body in bodies[:warmup]:
            await client.post("/v1/predictions", json=body)
        stop = time.perf_counter() + seconds

        async def worker(k: int) -> None:
            nonlocal errors
            i = k
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                r = await client.post("/v1/predictions", json=bodies[i % len(bodies)])
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += r.status_code != 200
                i += clients

        start = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(clients)))
        elapsed = time.perf_counter() - start
    lat = np.array(latencies)
    return {
        "clients": clients,
        "requests": len(lat),
        "errors": errors,
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
        "throughput_rps": len(lat) / elapsed,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tracking-uri", default="sqlite:///vbhc-mlruns/mlflow.db", help="store with champion models")
    ap.add_argument("--episodes", type=Path, help="train every model on this episodes file into a temporary store first")
    ap.add_argument("--models", type=Path, help="with --episodes: folder of model specifications (default models/)")
    ap.add_argument("--clients", default="1,8,32", help="concurrency levels, comma-separated")
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per level")
    ap.add_argument("--workers", type=int, default=1, help="server processes")
    ap.add_argument("--patients", type=int, default=500, help="distinct request bodies")
    ap.add_argument("--seed", type=int, default=20260101)
    args = ap.parse_args()

    tracking_uri = args.tracking_uri
    tmp = None
    if args.episodes:
        tmp = tempfile.TemporaryDirectory(prefix="bench-serve-")
        tracking_uri = f"sqlite:///{tmp.name}/mlflow.db"
        t0 = time.perf_counter()
        specs = ["--models", str(args.models.resolve())] if args.models else []
        subprocess.run([sys.executable, "-m", "vbhc", "-q", "train", "--episodes", str(args.episodes.resolve()), *specs,
                        "--out", f"{tmp.name}/models", "--tracking-uri", tracking_uri],
                       check=True, cwd=tmp.name)  # run artifacts go below the working folder
        print(f"trained the models in {time.perf_counter() - t0:.0f} s")

    token = secrets.token_urlsafe(32)
    port = free_port()
    t0 = time.perf_counter()
    server = start_server(tracking_uri, token, port, args.workers)
    print(f"vbhc serve ({args.workers} worker(s)) ready in {time.perf_counter() - t0:.1f} s on port {port}; "
          f"{os.cpu_count()} cores")
    try:
        bodies = patients(args.patients, args.seed)
        base = f"http://127.0.0.1:{port}"
        print(f"{'clients':>7} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
        for level in (int(c) for c in args.clients.split(",")):
            r = asyncio.run(run_level(base, token, bodies, level, args.seconds, warmup=min(20, len(bodies))))
            print(f"{r['clients']:>7} {r['requests']:>8} {r['errors']:>6} {r['p50_ms']:>8.1f} "
                  f"{r['p99_ms']:>8.1f} {r['throughput_rps']:>8.1f}")
        mem = peak_rss_mib(server.pid)
        largest = max(mem.values(), default=float("nan"))
        print(f"server peak memory: {largest:.0f} MiB in the largest of {len(mem)} process(es); "
              f"load generator: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=20)
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()

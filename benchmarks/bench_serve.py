"""Benchmark of the decision-support service: latency and throughput on loopback.

Starts ``vbhc serve`` on a free loopback port over the champion models of an MLflow
store, waits for ``/health``, then runs closed-loop clients (each sends its next
request when the previous answer arrives) at 1, 8 and 32 concurrent clients and
prints p50 / p99 latency (ms), throughput (requests/s), the server's peak memory and
whether the goal is met: p99 <= 50 ms at 32 clients on 2 cores.  The load generator
runs in this process (httpx, asyncio) and shares the machine's cores with the server.

Models, in this order: ``--episodes FILE`` trains every model on that file into a
temporary store; else the store of ``--tracking-uri`` (default: the one ``make demo``
fills) when it holds every champion; else (a fresh clone) a synthetic registry
(``--persons``, default 20,000 as in ``make demo``; vbhc.synth's true episodes) is
trained with the project's model specifications once into
``benchmarks/out/serve-models/`` and reused by later runs.

    python benchmarks/bench_serve.py                                    # demo store, else trains one
    python benchmarks/bench_serve.py --workers 2 --clients 1,8,32
    python benchmarks/bench_serve.py --episodes demo/episodes/episodes.parquet   # train a fresh store first
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import multiprocessing
import os
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

OUT = Path(__file__).resolve().parent / "out"
DEMO_STORE = "sqlite:///vbhc-mlruns/mlflow.db"  # where make demo registers the models (pipelines/demo.yaml)
GOAL_CLIENTS, GOAL_P99_MS = 32, 50.0
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
            "arthroplasty_type": str(rng.choice(["total", "partial"], p=[0.95, 0.05])),
            "bilateral_same_day": False,
            "prior_contralateral": bool(rng.random() < 0.2),
        }
        if rng.random() < 0.7:  # pain NRS often not recorded: imputed
            p["pain_pre"] = float(rng.integers(0, 11))
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


class NoModels(Exception):
    """The store lacks a champion the service needs (vbhc serve refused to start)."""


def start_server(tracking_uri: str, token: str, port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "VBHC_API_TOKEN": token}
    cmd = [sys.executable, "-m", "vbhc", "-q", "serve", "--port", str(port), "--tracking-uri", tracking_uri,
           "--workers", str(workers)]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            message = server.stderr.read().decode().strip()
            if "no 'champion' version of required model" in message:
                raise NoModels(message)
            raise SystemExit(f"vbhc serve exited: {message}")
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


def train_store(episodes: Path, specs: Path | None, folder: Path) -> str:
    """Train every model on ``episodes`` into an MLflow store in ``folder``; its URI."""
    folder.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{folder.resolve()}/mlflow.db"
    t0 = time.perf_counter()
    models = ["--models", str(specs.resolve())] if specs else []
    subprocess.run([sys.executable, "-m", "vbhc", "-q", "train", "--episodes", str(episodes.resolve()), *models,
                    "--out", str(folder.resolve() / "models"), "--tracking-uri", uri],
                   check=True, cwd=folder)  # run artifacts go below the working folder
    print(f"trained the models in {time.perf_counter() - t0:.0f} s")
    return uri


def generated_store(persons: int, seed: int, specs: Path | None) -> str:
    """A store trained on a synthetic registry in benchmarks/out/serve-models/ (once; reused while the
    same persons, seed and specifications are asked for)."""
    folder = OUT / "serve-models"
    uri = f"sqlite:///{folder.resolve()}/mlflow.db"
    marker, made_of = folder / "complete", f"persons={persons} seed={seed} models={specs or 'models/'}"
    if marker.exists() and marker.read_text().strip() == made_of:
        print(f"models from the store trained earlier in {folder} ({made_of})")
        return uri
    if folder.exists():
        shutil.rmtree(folder)  # an interrupted earlier run
    folder.mkdir(parents=True)
    print(f"no champion models found: training on a synthetic registry of {persons:,} persons into {folder}")
    # generated in a child process, so that the load generator's memory figure stays its own
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        pool.submit(write_true_episodes, persons, seed, folder / "episodes.parquet").result()
    train_store(folder / "episodes.parquet", specs, folder)
    marker.write_text(made_of + "\n")
    return uri


def write_true_episodes(persons: int, seed: int, path: Path) -> None:
    """The true episodes of a vbhc.synth registry, written as an episodes table."""
    from vbhc.core.io import write_parquet
    from vbhc.schemas import load_schema
    from vbhc.synth import generate_registry

    schema = load_schema("episodes")
    write_parquet(generate_registry(persons, seed).truth["episodes"][schema.column_names], path, schema)


def start_generated(tracking_uri: str, token: str, port: int, workers: int, source: str,
                    folder: Path | None = None) -> subprocess.Popen:
    """Serve a store this script trained; a model skipped for too little data ends the run
    (and the store is removed, so that the next run trains again)."""
    try:
        return start_server(tracking_uri, token, port, workers)
    except NoModels as exc:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise SystemExit(f"{exc}: {source} is too small for every model (see the training log above; "
                         "use a larger --persons or --episodes)") from None


def sqlite_store_missing(uri: str) -> bool:
    """True for a SQLite store whose file does not exist (serving it would create an empty one)."""
    return uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tracking-uri", default=None,
                    help="store with champion models (default: $MLFLOW_TRACKING_URI, else sqlite:///vbhc-mlruns/mlflow.db "
                    "as make demo fills it; without champions a synthetic store is trained, see --persons)")
    ap.add_argument("--episodes", type=Path, help="train every model on this episodes file into a temporary store first")
    ap.add_argument("--models", type=Path, help="folder of model specifications for training (default models/)")
    ap.add_argument("--persons", type=int, default=20000,
                    help="persons of the synthetic registry trained when no store has the champions "
                    "(default 20000, the size of make demo's registry)")
    ap.add_argument("--clients", default="1,8,32", help="concurrency levels, comma-separated")
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per level")
    ap.add_argument("--workers", type=int, default=1, help="server processes (2 on a 2-core machine; default 1)")
    ap.add_argument("--patients", type=int, default=500, help="distinct request bodies")
    ap.add_argument("--seed", type=int, default=20260101)
    args = ap.parse_args()

    tmp = None
    token = secrets.token_urlsafe(32)
    port = free_port()
    t0 = time.perf_counter()
    if args.episodes:
        tmp = tempfile.TemporaryDirectory(prefix="bench-serve-")
        tracking_uri = train_store(args.episodes, args.models, Path(tmp.name))
        server = start_generated(tracking_uri, token, port, args.workers, f"the models trained on {args.episodes}")
    else:
        tracking_uri = args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEMO_STORE
        server = None
        if sqlite_store_missing(tracking_uri):
            print(f"no store at {tracking_uri} (make demo fills it)")
        else:
            try:
                server = start_server(tracking_uri, token, port, args.workers)
            except NoModels as exc:
                print(f"{tracking_uri} lacks champion models ({exc})")
        if server is None:
            tracking_uri = generated_store(args.persons, args.seed, args.models)
            t0 = time.perf_counter()
            server = start_generated(tracking_uri, token, port, args.workers,
                                     f"the synthetic registry of {args.persons:,} persons", OUT / "serve-models")
    print(f"vbhc serve with {args.workers} worker process(es) ready in {time.perf_counter() - t0:.1f} s on port {port}; "
          f"{os.cpu_count()} cores; models from {tracking_uri}")
    results = []
    try:
        bodies = patients(args.patients, args.seed)
        base = f"http://127.0.0.1:{port}"
        print(f"{'clients':>7} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
        for level in (int(c) for c in args.clients.split(",")):
            r = asyncio.run(run_level(base, token, bodies, level, args.seconds, warmup=min(20, len(bodies))))
            results.append(r)
            print(f"{r['clients']:>7} {r['requests']:>8} {r['errors']:>6} {r['p50_ms']:>8.1f} "
                  f"{r['p99_ms']:>8.1f} {r['throughput_rps']:>8.1f}")
        mem = peak_rss_mib(server.pid)
        largest = max(mem.values(), default=float("nan"))
        print(f"server peak memory: {largest:.0f} MiB in the largest of {len(mem)} process(es); "
              f"load generator: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
        print(goal_verdict(results, args.workers))
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=20)
        if tmp is not None:
            tmp.cleanup()


def goal_verdict(results: list[dict], workers: int) -> str:
    """Whether p99 <= 50 ms at 32 concurrent clients (the issue's goal), and with how many workers."""
    at_goal = [r for r in results if r["clients"] == GOAL_CLIENTS]
    if not at_goal:
        return f"goal p99 <= {GOAL_P99_MS:g} ms at {GOAL_CLIENTS} clients: not measured (no {GOAL_CLIENTS}-client level)"
    r = at_goal[0]
    met = r["p99_ms"] <= GOAL_P99_MS and r["errors"] == 0
    return (f"goal p99 <= {GOAL_P99_MS:g} ms at {GOAL_CLIENTS} clients: {'met' if met else 'NOT met'} "
            f"(p99 {r['p99_ms']:.1f} ms, {r['errors']} errors, {workers} worker process(es), {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()

"""Benchmark of the HTTP API under load (a benchmark, not a timed test).

Starts ``uvicorn api.main:app`` on 127.0.0.1 with the bundled Yancheng dataset and a
fresh SQLite database, then, with ``--clients`` concurrent asyncio httpx clients:

1. reads layers (stations page, towns of a county, venues in a bounding box) for
   ``--seconds`` with no solve running — the baseline;
2. submits ``--scenarios`` Yancheng-scale scenarios (as jobs) and keeps reading layers
   until every one has finished — reads while solving;
3. checks that every submitted scenario is stored and finished (none lost).

Prints a Markdown table (requests/s, latency percentiles). With ``--abuse`` it instead runs
issue 11's attack against ``geoplan serve`` (its timeouts and limits): a county planner tries to
queue ``--jobs`` (300) scenarios as fast as it can while the service role reads the map of a
city-wide plan with ``--map-readers`` clients, another county's planner runs one budget-3
scenario, and a probe measures ``/health`` every 50 ms. ``--code DIR`` serves another checkout
(e.g. the code before the fix) so both can be compared in one session; ``--compute thread`` serves
with ``GEOPLAN_COMPUTE=thread`` (solves and maps in the server's process) instead of the default
worker processes. Usage::

    python benchmarks/bench_api.py [--clients 16] [--scenarios 6] [--seconds 10]
    python benchmarks/bench_api.py --abuse [--jobs 300] [--map-readers 8] [--code DIR] [--compute thread]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
COUNTY, OTHER = "320902", "320903"
ABUSE_TOKENS = {TOKEN: {"role": "city_planner", "name": "bench"},
                "county-a": {"role": "county_planner", "county_code": COUNTY, "name": "county-a"},
                "county-b": {"role": "county_planner", "county_code": OTHER, "name": "county-b"},
                "portal": {"role": "service", "name": "portal"}}


def _healthy(proc: subprocess.Popen, port: int) -> subprocess.Popen:
    """Wait (up to 180 s) until the server on ``port`` answers /health; exit if it dies or never does."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit("server did not become healthy")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, workdir: Path, concurrency: int) -> subprocess.Popen:
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "GEOPLAN_TOKENS": json.dumps({TOKEN: {"role": "city_planner", "name": "bench"}}),
        "GEOPLAN_SOLVE_CONCURRENCY": str(concurrency),
        "GEOPLAN_SOLVE_TIME_LIMIT": "600",
        # the load test measures throughput of one trusted client, not the abuse limits (--abuse does)
        "GEOPLAN_RATE_LIMIT_PER_MINUTE": "1000000", "GEOPLAN_RATE_LIMIT_BURST": "100000",
        "GEOPLAN_MAX_JOBS_PER_USER": "1000",
    }
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port),
                             "--log-level", "warning"], cwd=ROOT, env=env)
    return _healthy(proc, port)


async def read_loop(client: httpx.AsyncClient, urls: list[str], stop: asyncio.Event, lat: list[float],
                    errors: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    while not stop.is_set():
        url = urls[int(rng.integers(len(urls)))]
        t = time.perf_counter()
        r = await client.get(url)
        lat.append(time.perf_counter() - t)
        if r.status_code != 200:
            errors.append(r.status_code)


async def read_phase(base: str, urls: list[str], clients: int, until: "asyncio.Future | float") -> dict:
    lat: list[float] = []
    errors: list[int] = []
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=120, limits=limits) as client:
        t0 = time.perf_counter()
        tasks = [asyncio.create_task(read_loop(client, urls, stop, lat, errors, i)) for i in range(clients)]
        if isinstance(until, (int, float)):
            await asyncio.sleep(until)
        else:
            await until
        stop.set()
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - t0
    return stats(lat, wall, len(errors))


def stats(lat: list[float], wall: float, errors: int) -> dict:
    a = np.asarray(lat) * 1000
    return {"n": len(a), "rps": len(a) / wall, "p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)),
            "p99": float(np.percentile(a, 99)), "errors": errors, "wall": wall}


async def solve_phase(base: str, scenarios: int, clients: int) -> dict:
    """Submit scenarios from up to ``clients`` concurrent clients; poll each until it is final."""
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=120) as client:
        sem = asyncio.Semaphore(clients)

        async def one(i: int) -> tuple[str, str, float, float]:
            async with sem:
                body = {"scenario": {"name": f"bench-{i}", "budget": 40 + 10 * i, "seed": i}}
                t = time.perf_counter()
                r = await client.post("/scenarios", params={"mode": "async"}, json=body)
                submit_s = time.perf_counter() - t
                r.raise_for_status()
                sid = r.json()["id"]
            while True:
                s = (await client.get(f"/scenarios/{sid}")).json()
                if s["status"] in ("done", "failed", "cancelled"):
                    return sid, s["status"], submit_s, time.perf_counter() - t
                await asyncio.sleep(0.25)

        t0 = time.perf_counter()
        results = await asyncio.gather(*[one(i) for i in range(scenarios)])
        wall = time.perf_counter() - t0
        listed = (await client.get("/scenarios", params={"limit": 5000})).json()
    stored = {x["id"]: x["status"] for x in listed["items"]}
    ids = [r[0] for r in results]
    return {"submitted": scenarios, "stored": sum(i in stored for i in ids),
            "done": sum(stored.get(i) == "done" for i in ids), "lost": sum(i not in stored for i in ids),
            "submit": stats([r[2] for r in results], wall, 0), "solve": stats([r[3] for r in results], wall, 0),
            "wall": wall}


async def main_async(args: argparse.Namespace, base: str) -> str:
    async with httpx.AsyncClient(base_url=base, headers=HEADERS) as c:
        county = (await c.get("/layers/counties", params={"limit": 1})).json()["features"][0]["id"]
        town = (await c.get("/layers/towns", params={"limit": 1})).json()["features"][0]["id"]
        await c.get("/layers/stations")  # warm the per-version station index
    urls = ["/layers/stations?limit=100", f"/layers/towns?county={county}",
            "/layers/venues?bbox=120.0,33.2,120.3,33.5&limit=500", f"/layers/demand?town={town}",
            "/layers/stations?tier=point&limit=500"]
    baseline = await read_phase(base, urls, args.clients, float(args.seconds))
    solve_task = asyncio.ensure_future(solve_phase(base, args.scenarios, args.clients))
    during = await read_phase(base, urls, args.clients, solve_task)
    solved = solve_task.result()
    fmt = "| {} | {:,} | {:.0f} | {:.1f} | {:.1f} | {:.1f} | {} |"
    lines = [
        f"{args.clients} concurrent clients, {args.scenarios} Yancheng-scale scenarios (budget 40…{40 + 10 * (args.scenarios - 1)}), "
        f"solve concurrency {args.solve_concurrency}, {os.cpu_count()} CPU cores.",
        "",
        "| workload | requests | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
        fmt.format("layer reads, idle", baseline["n"], baseline["rps"], baseline["p50"], baseline["p95"], baseline["p99"], baseline["errors"]),
        fmt.format("layer reads while solving", during["n"], during["rps"], during["p50"], during["p95"], during["p99"], during["errors"]),
        fmt.format("scenario submit (POST, job)", solved["submit"]["n"], solved["submitted"] / solved["wall"],
                   solved["submit"]["p50"], solved["submit"]["p95"], solved["submit"]["p99"], 0),
        fmt.format("scenario submit → done", solved["solve"]["n"], solved["submitted"] / solved["wall"],
                   solved["solve"]["p50"], solved["solve"]["p95"], solved["solve"]["p99"],
                   solved["submitted"] - solved["done"]),
        "",
        f"Scenarios submitted {solved['submitted']}, stored {solved['stored']}, done {solved['done']}, lost {solved['lost']}.",
    ]
    return "\n".join(lines)


def start_serve(port: int, workdir: Path, code: Path, compute: str) -> subprocess.Popen:
    """``geoplan serve`` (uvicorn with the service's timeouts and limits) from the checkout ``code``;
    ``compute`` is ``GEOPLAN_COMPUTE`` (worker processes or threads; code before it ignores it)."""
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{workdir / 'abuse.db'}", "GEOPLAN_TOKENS": json.dumps(ABUSE_TOKENS),
        "GEOPLAN_SOLVE_TIME_LIMIT": "600", "PYTHONPATH": str(code), "GEOPLAN_COMPUTE": compute,
    }
    proc = subprocess.Popen([sys.executable, "-c", f"from api.main import serve; serve('127.0.0.1', {port})"],
                            cwd=code, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return _healthy(proc, port)


#: The /health probe, run as a process of its own: in the attacking client's event loop it would also
#: measure that client's own stalls (it parses hundreds of 2.3 MB map pages), not the server's.
PROBE = """
import json, pathlib, sys, time
import httpx
base, stop = sys.argv[1], pathlib.Path(sys.argv[2])
lat = []
with httpx.Client(base_url=base, timeout=60) as c:
    while not stop.exists():
        t = time.perf_counter()
        c.get("/health")
        lat.append(time.perf_counter() - t)
        time.sleep(0.05)
print(json.dumps(lat))
"""


async def abuse_async(base: str, jobs: int, readers: int) -> dict:
    auth = lambda t: {"Authorization": f"Bearer {t}"}  # noqa: E731
    async with httpx.AsyncClient(base_url=base, timeout=600, limits=httpx.Limits(max_connections=200)) as c:
        r = await c.post("/scenarios", headers=HEADERS, json={"scenario": {"name": "city map", "budget": 3}})
        sid = r.json()["id"]
        while (await c.get(f"/scenarios/{sid}", headers=HEADERS)).json()["status"] not in ("done", "failed"):
            await asyncio.sleep(0.2)
        idle = []
        for _ in range(40):  # the machine's floor: /health with nothing else running
            t = time.perf_counter()
            await c.get("/health")
            idle.append(time.perf_counter() - t)
            await asyncio.sleep(0.05)
        stop = asyncio.Event()
        health: list[float] = []
        maps: list[float] = []
        map_codes: dict[int, int] = {}
        submit_codes: dict[int, int] = {}
        submit_lat: list[float] = []

        stop_file = Path(tempfile.mkdtemp(prefix="geoplan-probe-")) / "stop"
        prober = subprocess.Popen([sys.executable, "-c", PROBE, base, str(stop_file)], stdout=subprocess.PIPE, text=True)

        async def read_maps() -> None:
            while not stop.is_set():
                t = time.perf_counter()
                m = await c.get(f"/scenarios/{sid}/map", headers=auth("portal"))
                maps.append(time.perf_counter() - t)
                map_codes[m.status_code] = map_codes.get(m.status_code, 0) + 1
                if m.status_code == 429:
                    await asyncio.sleep(float(m.headers.get("retry-after", "1")))

        async def attack() -> None:
            sem = asyncio.Semaphore(30)

            async def one(i: int) -> None:
                async with sem:
                    t = time.perf_counter()
                    a = await c.post("/scenarios", params={"mode": "async"}, headers=auth("county-a"),
                                     json={"county_code": COUNTY, "scenario": {"name": f"flood {i}", "budget": 3,
                                                                                "seed": i}})
                    submit_lat.append(time.perf_counter() - t)
                    submit_codes[a.status_code] = submit_codes.get(a.status_code, 0) + 1

            await asyncio.gather(*[one(i) for i in range(jobs)])

        tasks = [asyncio.create_task(read_maps()) for _ in range(readers)]
        t0 = time.perf_counter()
        flood = asyncio.create_task(attack())
        await asyncio.sleep(1.0)  # the flood is under way
        t = time.perf_counter()
        other = await c.post("/scenarios", headers=auth("county-b"),
                             json={"county_code": OTHER, "scenario": {"name": "other county", "budget": 3}})
        oid = other.json()["id"]
        while (await c.get(f"/scenarios/{oid}", headers=HEADERS)).json()["status"] not in ("done", "failed"):
            await asyncio.sleep(0.1)
        other_s = time.perf_counter() - t
        await flood
        flood_s = time.perf_counter() - t0
        await asyncio.sleep(max(0.0, 15.0 - flood_s))  # keep reading maps for 15 s at least
        stop.set()
        stop_file.touch()
        await asyncio.gather(*tasks)
        health.extend(json.loads((await asyncio.to_thread(prober.communicate))[0]))
    h = np.asarray(health) * 1000
    i = np.asarray(idle) * 1000
    mp = np.asarray(maps) * 1000
    return {"idle_p50": float(np.percentile(i, 50)), "idle_p95": float(np.percentile(i, 95)), "health_n": len(h), "health_p50": float(np.percentile(h, 50)), "health_p95": float(np.percentile(h, 95)),
            "health_p99": float(np.percentile(h, 99)), "health_max": float(h.max()), "submit": submit_codes,
            "flood_s": flood_s, "other_s": other_s, "maps": map_codes, "map_p50": float(np.percentile(mp, 50)),
            "map_p95": float(np.percentile(mp, 95)),
            "submit_p50": float(np.percentile(submit_lat, 50)) * 1000, "submit_p95": float(np.percentile(submit_lat, 95)) * 1000}


def abuse(args: argparse.Namespace) -> str:
    with tempfile.TemporaryDirectory(prefix="geoplan-bench-abuse-") as tmp:
        port = free_port()
        proc = start_serve(port, Path(tmp), Path(args.code).resolve(), args.compute)
        try:
            r = asyncio.run(abuse_async(f"http://127.0.0.1:{port}", args.jobs, args.map_readers))
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    codes = ", ".join(f"{n}× {k}" for k, n in sorted(r["submit"].items()))
    mcodes = ", ".join(f"{n}× {k}" for k, n in sorted(r["maps"].items()))
    return (f"| {args.code} ({args.compute}) | {r['idle_p50']:.1f} / {r['idle_p95']:.1f} | {r['health_n']} | {r['health_p50']:.1f} | {r['health_p95']:.1f} | {r['health_p99']:.1f} "
            f"| {r['health_max']:.1f} | {codes} ({r['flood_s']:.1f} s) | {r['other_s']:.2f} | {mcodes} "
            f"| {r['map_p50']:.0f} / {r['map_p95']:.0f} | {r['submit_p50']:.0f} / {r['submit_p95']:.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--scenarios", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--solve-concurrency", type=int, default=2)
    ap.add_argument("--abuse", action="store_true", help="run issue 11's attack instead (see above)")
    ap.add_argument("--jobs", type=int, default=300)
    ap.add_argument("--map-readers", type=int, default=8)
    ap.add_argument("--code", default=str(ROOT), help="checkout to serve in --abuse mode")
    ap.add_argument("--compute", choices=("process", "thread"), default="process",
                    help="GEOPLAN_COMPUTE of the served code in --abuse mode")
    args = ap.parse_args()
    if args.abuse:
        print("| code | /health idle p50 / p95 ms | /health probes under attack | p50 ms | p95 ms | p99 ms | max ms | county planner's 300 submissions "
              "| other county's budget-3 scenario, s | service map reads | map p50 / p95 ms | async submit p50 / p95 ms |")
        print("|---|---:|---:|---:|---:|---:|---:|---|---:|---|---:|---:|")
        print(abuse(args))
        return
    with tempfile.TemporaryDirectory(prefix="geoplan-bench-api-") as tmp:
        port = free_port()
        proc = start_server(port, Path(tmp), args.solve_concurrency)
        try:
            report = asyncio.run(main_async(args, f"http://127.0.0.1:{port}"))
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    print(report)


if __name__ == "__main__":
    main()

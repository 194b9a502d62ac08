"""How many ticket pages per second the Halo simulator serves.

    python -m benchmarks.simulator_throughput [--tickets N] [--pages P] [--clients C]

The simulator runs in this process (its own server threads); the clients run in
separate processes (keep-alive ``requests.Session``), so the figure is the
server's. Two phases are measured:

* ``cached``   - pages whose tickets are already rendered (JSON bytes cache),
* ``uncached`` - a full sequential read of every ticket, each rendered on demand
  (the cache is far smaller than the data set).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import time

import requests

from integration_tests.halo_simulator import HaloSimulator


def _client(base_url: str, token: str, pages: list, page_size: int, out) -> None:
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + token
    url = base_url + "/api/Tickets"
    nbytes = rows = 0
    t0 = time.perf_counter()
    for p in pages:
        # stream=True + one raw read: the whole body in a single call, so the
        # client's per-chunk overhead does not hide the server's speed
        r = s.get(url, params={"pageinate": "true", "page_size": page_size, "page_no": p, "order": "id"}, stream=True)
        body = r.raw.read(decode_content=True)
        if r.status_code != 200:
            raise SystemExit(f"page {p}: HTTP {r.status_code}")
        nbytes += len(body)
        rows += body.count(b'"tickettype_id"')
    out.put((len(pages), rows, nbytes, time.perf_counter() - t0))


def run_phase(sim: HaloSimulator, token: str, pages: list, clients: int, page_size: int) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    chunks = [pages[i::clients] for i in range(clients)]
    procs = [ctx.Process(target=_client, args=(sim.base_url, token, c, page_size, q)) for c in chunks]
    for p in procs:
        p.start()
    t0 = time.perf_counter()
    cpu0 = time.process_time()  # this process = the simulator's server threads only
    res = [q.get() for _ in procs]
    wall = time.perf_counter() - t0
    server_cpu = time.process_time() - cpu0
    for p in procs:
        p.join()
    n = sum(r[0] for r in res)
    busy = max(r[3] for r in res)  # excludes client process start-up
    return {"pages": n, "rows": sum(r[1] for r in res), "mb": sum(r[2] for r in res) / 1e6,
            "seconds": busy, "wall": wall, "pages_per_s": n / busy, "server_cpu": server_cpu,
            "cpu_pages_per_s": n / server_cpu if server_cpu else float("inf")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.simulator_throughput", description=__doc__.split("\n\n")[0])
    ap.add_argument("--tickets", type=int, default=200_000, help="tickets in the simulator")
    ap.add_argument("--pages", type=int, default=2000, help="pages requested per phase")
    ap.add_argument("--page-size", type=int, default=100)
    ap.add_argument("--clients", type=int, default=1, help="client processes (keep-alive sessions)")
    ap.add_argument("--cache-size", type=int, default=20_000, help="simulator JSON cache (tickets)")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    with HaloSimulator(tickets=a.tickets, cache_size=a.cache_size) as sim:
        build = time.perf_counter() - t0
        tok = requests.post(sim.base_url + "/auth/token?tenant=demo", data={
            "grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "demo-secret",
            "scope": "all"}).json()["access_token"]
        n_pages = (a.tickets + a.page_size - 1) // a.page_size
        hot = max(1, min(n_pages, a.cache_size // a.page_size // 2))
        # warm the query cache and the rendered JSON of the hot pages
        s = requests.Session()
        s.headers["Authorization"] = "Bearer " + tok
        for p in range(1, hot + 1):
            s.get(sim.base_url + "/api/Tickets", params={"pageinate": "true", "page_size": a.page_size, "page_no": p,
                                                         "order": "id"})
        cached = run_phase(sim, tok, [1 + i % hot for i in range(a.pages)], a.clients, a.page_size)
        cold_pages = list(range(hot + 1, min(n_pages, hot + a.pages) + 1))
        uncached = run_phase(sim, tok, cold_pages, a.clients, a.page_size) if cold_pages else None
    print(f"simulator: {a.tickets} tickets built in {build:.2f}s; page_size={a.page_size}; clients={a.clients} "
          f"(separate processes, keep-alive)")
    for name, r in (("cached", cached), ("uncached", uncached)):
        if r:
            print(f"{name:>9}: {r['pages_per_s']:8.1f} pages/s  ({r['pages']} pages, {r['rows']} tickets, "
                  f"{r['mb'] / r['seconds']:.0f} MB/s, {r['rows'] / r['seconds']:.0f} tickets/s); "
                  f"server CPU {1000 * r['server_cpu'] / r['pages']:.2f} ms/page = "
                  f"{r['cpu_pages_per_s']:.0f} pages/s per core")
    print(f"pages/second (cached, measured by the client): {cached['pages_per_s']:.0f}; "
          f"server capacity on one core: {cached['cpu_pages_per_s']:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

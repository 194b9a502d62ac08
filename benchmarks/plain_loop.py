"""The reference of `benchmarks.throughput`: the least a program can do to read every ticket.

One token, one `requests.Session`, the two status parts (`open_only`, `closed_only`) paged by id with
100 rows a page until `record_count` rows are read; each page parsed with `orjson.loads` and each ticket
written to stdout as one Airbyte RECORD line (`orjson.dumps`), through the ordinary buffered stdout.

Run: python -m benchmarks.plain_loop BASE_URL [--page-size 100] > records.jsonl
"""
import sys
import time

import orjson
import requests


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0].startswith("-"):
        print("usage: python -m benchmarks.plain_loop BASE_URL [--page-size N]", file=sys.stderr)
        return 2
    base = argv[0].rstrip("/")
    page_size = int(argv[argv.index("--page-size") + 1]) if "--page-size" in argv else 100
    session = requests.Session()
    token = session.post(f"{base}/auth/token", params={"tenant": "demo"}, timeout=60, data={
        "grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "demo-secret", "scope": "all"})
    token.raise_for_status()
    session.headers["Authorization"] = "Bearer " + token.json()["access_token"]
    out = sys.stdout.buffer
    dumps, loads = orjson.dumps, orjson.loads
    url = f"{base}/api/Tickets"
    for part in ("open_only", "closed_only"):
        page_no, read = 1, 0
        while True:
            answer = session.get(url, timeout=60, params={
                "pageinate": "true", "page_size": page_size, "page_no": page_no, "order": "id", "orderdesc": "false",
                part: "true"})
            answer.raise_for_status()
            page = loads(answer.content)
            tickets = page["tickets"]
            for ticket in tickets:
                record = {"stream": "tickets", "data": ticket, "emitted_at": int(time.time() * 1000)}
                out.write(dumps({"type": "RECORD", "record": record}))
                out.write(b"\n")
            read += len(tickets)
            if not tickets or read >= page["record_count"]:
                break
            page_no += 1
    out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

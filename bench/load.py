"""A small HTTP load generator, run as its own process so it does not share the server's GIL.

    python -m bench.load --url http://127.0.0.1:8470/v1/actions --key KEY --body FILE \
        --connections 32 --seconds 5              # closed loop: as fast as answers come
    python -m bench.load ... --rate 500           # open loop: 500 requests/s on a schedule

It prints one JSON object: requests, errors, seconds, rate, p50/p99 in milliseconds. In open
loop, latency is measured from the moment each request was due, so a server that falls behind
is charged for the queue it builds (no coordinated omission).

It speaks just enough HTTP/1.1 over keep-alive connections (asyncio streams) to stay out of the
way: a general client costs more CPU per request than the server spends deciding, and on two
cores that would measure the client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from urllib.parse import urlsplit


async def _request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes, body: bytes
) -> int:
    writer.write(head + body)
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    await reader.readexactly(length)
    return status


async def run(url: str, key: str, body: bytes, connections: int, seconds: float,
              rate: float | None) -> dict[str, float]:  # fmt: skip
    parts = urlsplit(url)
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    deadline = start + seconds
    next_due = [start]
    interval = 1.0 / rate if rate else 0.0

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while True:
                if rate:
                    due = next_due[0]
                    next_due[0] += interval
                    if due >= deadline:
                        return
                    wait = due - time.perf_counter()
                    if wait > 0:
                        await asyncio.sleep(wait)
                else:
                    due = time.perf_counter()
                    if due >= deadline:
                        return
                status = await _request(reader, writer, head, body)
                latencies.append(time.perf_counter() - due)
                if status != 200:
                    errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "errors": errors,
        "seconds": elapsed,
        "rate": len(ordered) / elapsed,
        "p50_ms": statistics.median(ordered) * 1000 if ordered else 0.0,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        if ordered
        else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--body", required=True, help="a file with the JSON body to send")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=None)
    args = parser.parse_args()
    with open(args.body, "rb") as f:
        body = f.read()
    result = asyncio.run(run(args.url, args.key, body, args.connections, args.seconds, args.rate))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

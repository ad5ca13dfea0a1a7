"""A small closed-loop HTTP/1.1 load generator on asyncio: N clients, each on its own keep-alive connection, send
GETs back to back for a fixed time and record each answer's status and latency. Loopback only, bounded in time.
Answers must carry Content-Length (Django's CommonMiddleware and whitenoise set it)."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class LoadResult:
    clients: int
    seconds: float
    latencies_s: list[float]
    statuses: Counter
    failures: int  # connections that broke (counted as errors)

    def summary(self) -> dict:
        ok = sum(count for status, count in self.statuses.items() if status < 400)  # 304s are answers too
        latencies = sorted(self.latencies_s)
        return {
            "clients": self.clients,
            "requests": len(latencies),
            "requests_per_s": round(len(latencies) / self.seconds, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
            "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 2) if latencies else None,
            "errors": len(latencies) - ok + self.failures,
            "statuses": {str(status): count for status, count in sorted(self.statuses.items())},
        }


async def _client(host: str, port: int, paths: itertools.cycle, headers: str, deadline: float, result: LoadResult):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.monotonic() < deadline:
            path = next(paths)
            started = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
            await reader.readexactly(int(fields["content-length"]))
            result.latencies_s.append(time.perf_counter() - started)
            result.statuses[status] += 1
            if fields.get("connection", "").lower() == "close":
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    except (OSError, asyncio.IncompleteReadError, KeyError, ValueError):
        result.failures += 1
    finally:
        writer.close()


def run_load(
    host: str, port: int, paths: Sequence[str], clients: int, seconds: float, headers: dict[str, str] | None = None
) -> LoadResult:
    """`clients` connections requesting `paths` in turn (shared cycle) for `seconds`."""
    header_text = "".join(f"{key}: {value}\r\n" for key, value in (headers or {}).items())
    result = LoadResult(clients, seconds, [], Counter(), 0)
    cycle = itertools.cycle(paths)

    async def main() -> None:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(_client(host, port, cycle, header_text, deadline, result) for _ in range(clients)))

    started = time.monotonic()
    asyncio.run(main())
    result.seconds = time.monotonic() - started
    return result

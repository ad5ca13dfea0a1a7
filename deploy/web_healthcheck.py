"""The web container's healthcheck: GET /healthz from inside the container; exit 0 when the web server answers
and reaches its database and broker, 1 otherwise (the slim image has no curl).

The workers are checked by their own containers, so a worker that is down does not make the web unhealthy;
/healthz still reports them (its `workers` part) to people and load balancers. The request names the first host
of ALLOWED_HOSTS, which Django requires; /healthz is exempt from the HTTPS redirect (SECURE_REDIRECT_EXEMPT).
"""

import json
import os
import sys
import urllib.error
import urllib.request


def host_header(allowed_hosts: str) -> str:
    """A Host that ALLOWED_HOSTS accepts: its first entry (".example.org" also matches example.org)."""
    first = next((host.strip() for host in allowed_hosts.split(",") if host.strip()), "localhost")
    return "localhost" if first == "*" else first.lstrip(".")


def check(url: str, host: str, timeout_s: float) -> str | None:
    """None when /healthz says the database and the broker are up; what is wrong otherwise."""
    request = urllib.request.Request(url, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body = response.read()
    except urllib.error.HTTPError as error:  # 503 names what is down; the workers may be the only thing
        body = error.read()
    except OSError as error:
        return f"{url} does not answer: {error}"
    try:
        health = json.loads(body)
        down = [part for part in ("database", "broker") if not health[part]["ok"]]
    except (ValueError, KeyError, TypeError):
        return f"{url} answered something else than /healthz's JSON: {body[:200]!r}"
    return f"down: {', '.join(down)}" if down else None


def main() -> int:
    port = (os.environ.get("GUNICORN_BIND") or "0.0.0.0:8000").rpartition(":")[2]
    problem = check(f"http://127.0.0.1:{port}/healthz", host_header(os.environ.get("ALLOWED_HOSTS", "")), 10.0)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

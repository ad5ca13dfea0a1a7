import socket

from config.celery_app import app


@app.task(name="workers.ping")
def ping(payload: str = "pong") -> dict[str, str]:
    """Answer with the payload and the worker's host: proves a round trip through broker and worker."""
    return {"payload": payload, "host": socket.gethostname()}

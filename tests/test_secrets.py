"""No secret in the repository: every tracked file (`git ls-files`) is scanned for private keys, cloud and service
tokens, and long random SECRET_KEY literals. Tests and example env files may hold obvious fakes; nothing else may."""

from __future__ import annotations

import math
import re
import subprocess
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_BYTES = 2 * 1024 * 1024  # larger tracked files are data (checkpoints, images), not configuration

PATTERNS = {
    "a private key": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    "an AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "an AWS secret access key": re.compile(
        r"aws_?secret_?access_?key[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])", re.IGNORECASE
    ),
    "a GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})"),
    "a Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
}
# SECRET_KEY = "…", SECRET_KEY: …, "SECRET_KEY": "…", and env.str("SECRET_KEY", default="…")
SECRET_KEY = re.compile(
    r"SECRET_KEY[\"']?\s*(?:[:=]|,\s*default\s*=)\s*[\"']?(?P<value>[^\s\"'$}]{24,})", re.IGNORECASE
)
PLACEHOLDER = re.compile(r"insecure|change[-_]?me|example|placeholder|not[-_]a[-_]secret|dummy|x{8}", re.IGNORECASE)


def may_hold_fakes(path: str) -> bool:
    name = Path(path).name.lower()
    return path.startswith("tests/") or "example" in name or name.endswith((".sample", ".template"))


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def findings(path: str, text: str) -> list[str]:
    found = [f"{path}: {what}" for what, pattern in PATTERNS.items() if pattern.search(text)]
    if not may_hold_fakes(path):
        for match in SECRET_KEY.finditer(text):
            value = match["value"]
            if not PLACEHOLDER.search(value) and entropy(value) >= 3.5:
                found.append(f"{path}: a SECRET_KEY literal ({value[:4]}…)")
    return found


def tracked_texts() -> dict[str, str]:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    texts = {}
    for name in names.decode().split("\0"):
        path = ROOT / name
        if not name or not path.is_file() or path.stat().st_size > MAX_BYTES:
            continue
        data = path.read_bytes()
        if b"\0" not in data[:8192]:  # binary files hold no configuration
            texts[name] = data.decode("utf-8", errors="replace")
    return texts


def test_no_tracked_file_holds_a_secret() -> None:
    texts = tracked_texts()
    assert len(texts) > 100 and "platform/config/settings/base.py" in texts  # the scan really reads the repository
    found = [finding for path, text in texts.items() for finding in findings(path, text)]
    assert found == []


def test_the_scan_finds_each_kind_of_secret() -> None:
    """Planted examples, assembled at run time so this file itself holds none."""
    rng_key = "".join(chr(33 + (i * 37) % 90) for i in range(50)).replace('"', "q").replace("'", "q")
    planted = {
        "a private key": "-----BEGIN " + "OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n",
        "an AWS access key id": "key = AKIA" + "Q4ZJ7W2XK5N3LP8R",
        "an AWS secret access key": "AWS_SECRET_ACCESS_KEY=" + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY",
        "a GitHub token": "token: ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        "a Slack token": "xoxb-" + "1234567890-abcdefghij",
        "a SECRET_KEY literal": f'SECRET_KEY = "{rng_key}"',
    }
    for what, text in planted.items():
        assert any(what in finding for finding in findings("platform/config/settings/leak.py", text)), what
    fine = [
        'SECRET_KEY = env.str("SECRET_KEY", default="insecure-local-development-key-change-me")',
        "SECRET_KEY: ${SECRET_KEY:?set SECRET_KEY in .env}",
        'SECRET_KEY = env.str("SECRET_KEY")',
    ]
    assert [f for text in fine for f in findings("docker-compose.yml", text)] == []
    assert findings("deploy/example.env", f"SECRET_KEY={rng_key}") == []

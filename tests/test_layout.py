"""The repository layout rules every later change relies on."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_platform_is_a_source_root_not_a_package() -> None:
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_stdlib_platform_still_imports_from_the_repo_root() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import platform; print(platform.system(), platform.__file__)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    system, path = out.split()
    assert system == "Linux"
    assert not path.startswith(str(ROOT))


def test_importing_smgeo_does_not_import_django_or_celery() -> None:
    code = (
        "import sys, smgeo, smgeo.cli\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'django', 'celery', 'rest_framework'})\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_platform_never_imports_workers_or_smgeo() -> None:
    pattern = re.compile(r"^\s*(from|import)\s+(workers|smgeo)\b", re.MULTILINE)
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "platform").rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


def test_top_level_layout_of_the_product_card() -> None:
    for name in ("platform", "smgeo", "workers", "frontend", "deploy", "tests"):
        assert (ROOT / name).is_dir(), name
    for name in ("manage.py", "docker-compose.yml", "pyproject.toml", "README.md"):
        assert (ROOT / name).is_file(), name

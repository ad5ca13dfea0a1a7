"""docker-compose.yml, deploy/ and the production settings, checked against the code without a Docker engine.

The compose file is parsed with PyYAML and validated by Debian's docker-compose (`config` reads files only);
its environment is resolved with the values of deploy/example.env, as `docker compose` would after
`cp deploy/example.env .env`, and the production settings are loaded and checked with exactly that environment.
"""

import ast
import importlib
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from urllib.parse import urlparse

import pytest
import yaml
from celery import Celery
from pytest_django.live_server_helper import LiveServer

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SETTINGS = ROOT / "platform" / "config" / "settings"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("web", "worker-gpu", "worker-cpu", "beat")
ENTRYPOINTS = ("entrypoint-web.sh", "entrypoint-worker.sh")

# `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?error}`, `${NAME?error}`, `$NAME`; `$$` is a literal `$`.
INTERPOLATION = re.compile(r"\$\$|\$\{(?P<braced>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<bare>\w+)")
# Where the code reads an environment variable: env.str("X", ...), env("X"), os.environ["X"], os.environ.get("X"),
# os.environ.setdefault("X", ...), os.getenv("X"), and helpers given the environment: read(os.environ, "X"),
# read(environment, "X") (settings/storage.py).
ENV_READ = re.compile(
    r"""(?:\benv(?:\.\w+)?|os\.environ(?:\.get|\.setdefault)?|os\.getenv)\s*[(\[]\s*["']([A-Z][A-Z0-9_]*)["']"""
    r"""|\w\(\s*(?:os\.environ|environment)\s*,\s*["']([A-Z][A-Z0-9_]*)["']"""
)


def example_env(path: Path = DEPLOY / "example.env") -> dict[str, str]:
    """deploy/example.env (or a .env) as compose reads it: KEY=VALUE lines; comments and blank lines skipped."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", key), f"not KEY=VALUE: {line!r}"
            values[key] = value
    return values


def interpolate(text: str, values: dict[str, str]) -> str:
    """Compose's variable substitution of one value, given the .env values."""

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("braced") or match.group("bare")
        op, arg, value = match.group("op"), match.group("arg"), values.get(name)
        if op in (":-", ":?") and not value or op in ("-", "?") and value is None:
            if op.endswith("?"):
                raise KeyError(f"{name}: {arg}")
            return arg
        return value or ""

    return INTERPOLATION.sub(substitute, text)


def variables_used(node: object) -> set[str]:
    """Every variable the compose file substitutes, anywhere in `node`."""
    if isinstance(node, dict):
        return set().union(*(variables_used(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(variables_used(value) for value in node))
    if isinstance(node, str):
        return {m.group("braced") or m.group("bare") for m in INTERPOLATION.finditer(node) if m.group(0) != "$$"}
    return set()


def service_env(service: str, dot_env: dict[str, str] | None = None) -> dict[str, str]:
    """A service's environment as its container gets it from a .env (by default the example's values)."""
    values = example_env() if dot_env is None else dot_env
    return {key: interpolate(str(value), values) for key, value in SERVICES[service]["environment"].items()}


def command_of(service: str) -> list[str]:
    return [str(part) for part in SERVICES[service]["command"]]


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def code_env_reads() -> set[str]:
    """The environment variables the platform's settings, Celery app, workers and deploy scripts read."""
    files = [*(ROOT / "platform" / "config").rglob("*.py"), *(ROOT / "workers").rglob("*.py"), *DEPLOY.glob("*.py")]
    return {name for path in files for match in ENV_READ.finditer(path.read_text()) for name in match.groups() if name}


def required_by_production() -> set[str]:
    """Variables the production settings read with no default (django-environ then refuses to start)."""
    required = set()
    for path in SETTINGS.glob("*.py"):
        if path.stem in {"local", "test"}:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args or not isinstance(node.args[0], ast.Constant):
                continue
            func = node.func
            by_env = (
                isinstance(func, ast.Name)
                and func.id == "env"
                or (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "env")
            )
            if by_env and not any(keyword.arg == "default" for keyword in node.keywords):
                required.add(node.args[0].value)
    return required


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py").replace(".", "_"), DEPLOY / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_with(env: dict[str, str], *command: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """A command in the repository root with only `env` (plus PATH/HOME) and the image's PYTHONPATH."""
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    full = {**keep, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'platform'}", **env}
    return subprocess.run(command, cwd=ROOT, env=full, capture_output=True, text=True, timeout=timeout)


def setup_commands() -> str:
    """The commands deploy/example.env's header tells a person to run (indented by three spaces after `#`)."""
    header = (DEPLOY / "example.env").read_text().split("\n\n")[0]
    return "\n".join(line[4:] for line in header.splitlines() if line.startswith("#   "))


@pytest.fixture(scope="module")
def dot_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The .env a person gets by following deploy/example.env's header."""
    project = tmp_path_factory.mktemp("compose-project")
    (project / "deploy").mkdir()
    shutil.copy(DEPLOY / "example.env", project / "deploy" / "example.env")
    subprocess.run(["bash", "-euo", "pipefail", "-c", setup_commands()], cwd=project, check=True)
    return example_env(project / ".env")


def production_env(dot_env: dict[str, str], **overrides: str) -> dict[str, str]:
    """The web container's environment from that .env, with the test database in place of the compose network's."""
    env = service_env("web", dot_env)
    # the test server's maintenance database: it always exists, and nothing here writes to it
    test_server = urlparse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smgeo"))
    env["DATABASE_URL"] = test_server._replace(path="/postgres").geturl()
    return {**env, **overrides}


# --- the compose file ------------------------------------------------------------------------------------------


def test_docker_compose_accepts_the_file_with_the_example_env() -> None:
    """Docker's own parser: schema, service references, volumes and variable substitution."""
    command = ["docker-compose", "--project-directory", str(ROOT), "--env-file", str(DEPLOY / "example.env")]
    result = subprocess.run([*command, "-f", "docker-compose.yml", "config", "-q"], cwd=ROOT, capture_output=True)
    assert result.returncode == 0, result.stderr.decode()


def test_every_service_of_the_deployment_is_there() -> None:
    expected = {"postgres", "redis", "minio", "minio-init", "web", "worker-gpu", "worker-cpu", "beat"}
    assert expected <= set(SERVICES)


def test_the_app_services_run_the_project_image_with_the_whole_shared_environment() -> None:
    shared = COMPOSE["x-platform-env"]
    for name in APP_SERVICES:
        service = SERVICES[name]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile", name
        assert (ROOT / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
        assert service["environment"].items() >= shared.items(), f"{name} lacks part of x-platform-env"
    assert SERVICES["worker-gpu"]["image"] != SERVICES["web"]["image"]  # the CUDA build
    assert "cu" in interpolate(SERVICES["worker-gpu"]["build"]["args"]["TORCH_INDEX"], example_env())
    assert SERVICES["web"]["build"]["args"]["TORCH_INDEX"].endswith("/whl/cpu")


def test_the_web_command_migrates_collects_static_and_serves_the_asgi_app_with_the_gunicorn_config() -> None:
    command = command_of("web")
    assert command == ["deploy/entrypoint-web.sh"]
    script = (DEPLOY / "entrypoint-web.sh").read_text()
    for step in ("deploy/wait_for_db.py", "manage.py migrate --noinput", "manage.py collectstatic --noinput"):
        assert step in script
    gunicorn = shlex.split(script.splitlines()[-1])
    assert gunicorn[:2] == ["exec", "gunicorn"]
    assert (ROOT / option(gunicorn, "--config")).is_file()
    module, _, attribute = gunicorn[-1].partition(":")
    assert gunicorn[-1] == "config.asgi:application"
    assert f"\n{attribute} = " in (ROOT / "platform" / Path(*module.split("."))).with_suffix(".py").read_text()


def test_the_workers_consume_the_queues_the_tasks_are_routed_to() -> None:
    from django.conf import settings

    from config.celery_app import QUEUES

    consumed = {}
    for name in ("worker-gpu", "worker-cpu"):
        command = command_of(name)
        assert command[0] == "deploy/entrypoint-worker.sh" and (ROOT / command[0]).is_file()
        assert command[1:3] == ["celery", "--app"] and option(command, "--app") == "workers.app"
        assert isinstance(importlib.import_module(option(command, "--app")).app, Celery)
        consumed[name] = option(command, "--queues").split(",")
    assert consumed == {"worker-gpu": ["gpu"], "worker-cpu": ["cpu"]}
    assert set(QUEUES) == {"gpu", "cpu"}
    assert {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} <= {"gpu", "cpu"}
    assert option(command_of("worker-gpu"), "--concurrency") == "1"  # one task at a time per GPU


def test_exactly_one_beat_runs_the_sweep_schedule() -> None:
    command = command_of("beat")
    assert command[:5] == ["deploy/entrypoint-worker.sh", "celery", "--app", "workers.app", "beat"]
    assert SERVICES["beat"].get("deploy", {}).get("replicas", 1) == 1
    # its schedule file lies in var/, the one folder the image lets the app write
    assert option(command, "--schedule").startswith("/app/var/beat/")
    assert "/app/var/beat" in (DEPLOY / "Dockerfile").read_text()
    commands = {name: " ".join(map(str, service.get("command", []))) for name, service in SERVICES.items()}
    assert [name for name, command in commands.items() if "workers.app beat" in command] == ["beat"]


def test_worker_healthchecks_ping_the_worker_by_its_own_name() -> None:
    for name, prefix in (("worker-gpu", "gpu"), ("worker-cpu", "cpu")):
        assert option(command_of(name), "--hostname") == f"{prefix}@%h"  # %h: the container's hostname
        kind, test = SERVICES[name]["healthcheck"]["test"]
        assert kind == "CMD-SHELL"
        ping = shlex.split(test)
        assert ping[:4] == ["celery", "--app", "config.celery_app", "inspect"] and "ping" in ping
        # `$$` so that compose leaves `$HOSTNAME` to the container's shell
        assert option(ping, "--destination") == f"{prefix}@$$HOSTNAME"


def test_the_web_healthcheck_runs_the_script_that_asks_healthz() -> None:
    test = SERVICES["web"]["healthcheck"]["test"]
    assert test == ["CMD", "python", "deploy/web_healthcheck.py"]
    assert "/healthz" in (DEPLOY / "web_healthcheck.py").read_text()


def test_every_variable_the_compose_file_gives_the_platform_is_one_the_code_reads() -> None:
    read = code_env_reads()
    for name in APP_SERVICES:
        unread = set(SERVICES[name]["environment"]) - read
        assert unread == set(), f"{name} sets variables nothing reads: {sorted(unread)}"


def test_every_setting_production_requires_is_set() -> None:
    shared = set(COMPOSE["x-platform-env"])
    required = required_by_production()
    assert {"SECRET_KEY", "ALLOWED_HOSTS"} <= required
    # and what has a default that is wrong in a deployment: SQLite, a broker on 127.0.0.1, media on the local disk
    expected = {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CSRF_TRUSTED_ORIGINS", "MEDIA_STORAGE"}
    s3 = {"AWS_STORAGE_BUCKET_NAME", "AWS_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert required | expected | s3 | {"AWS_S3_REGION_NAME"} <= shared
    env = service_env("web")
    assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    assert env["MEDIA_STORAGE"] == "s3"


def test_the_urls_in_the_environment_name_services_of_the_compose_file() -> None:
    env = service_env("web")
    assert urlparse(env["DATABASE_URL"]).hostname == "postgres"
    assert urlparse(env["REDIS_URL"]).hostname == "redis"
    assert urlparse(env["CELERY_BROKER_URL"]).hostname == "redis"
    assert urlparse(env["AWS_S3_ENDPOINT_URL"]).hostname == "minio"
    database = urlparse(env["DATABASE_URL"])
    postgres = {key: interpolate(str(v), example_env()) for key, v in SERVICES["postgres"]["environment"].items()}
    assert (database.username, database.password, database.path) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        "/" + postgres["POSTGRES_DB"],
    )


def test_the_bucket_init_creates_the_bucket_and_the_key_the_platform_uses() -> None:
    init = SERVICES["minio-init"]
    assert init["image"].startswith("minio/mc:") and init["restart"] == "no"
    assert init["depends_on"] == {"minio": {"condition": "service_healthy"}}
    env = {key: interpolate(str(value), example_env()) for key, value in init["environment"].items()}
    platform = service_env("web")
    assert env["BUCKET"] == platform["AWS_STORAGE_BUCKET_NAME"]
    assert (env["APP_KEY"], env["APP_SECRET"]) == (platform["AWS_ACCESS_KEY_ID"], platform["AWS_SECRET_ACCESS_KEY"])
    assert env["APP_KEY"] != env["MINIO_ROOT_USER"]  # `mc admin user add` refuses the root user
    script = interpolate(init["command"][0], {})
    assert 'mc mb --ignore-existing "smgeo/$BUCKET"' in script
    assert "http://minio:9000" in script


def test_every_compose_variable_is_documented_in_the_example_env_and_every_example_value_is_used() -> None:
    used, documented = variables_used(COMPOSE), set(example_env())
    assert used - documented == set(), "add these to deploy/example.env"
    assert documented - used == set(), "deploy/example.env documents variables docker-compose.yml never uses"


def test_the_gpu_reservation_is_on_the_gpu_worker_only() -> None:
    devices = SERVICES["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert len(devices) == 1
    assert devices[0]["driver"] == "nvidia" and devices[0]["capabilities"] == ["gpu"]
    assert devices[0]["count"] == "${GPU_COUNT:-1}" and example_env()["GPU_COUNT"] == "1"
    assert service_env("worker-gpu")["FINE_TUNE_GPUS"] == ""  # empty: every GPU the worker sees
    for name, service in SERVICES.items():
        if name != "worker-gpu":
            assert "reservations" not in service.get("deploy", {}).get("resources", {}), name


def test_depends_on_waits_for_healthy_services_and_the_finished_bucket_init() -> None:
    for name, service in SERVICES.items():
        for target, how in service.get("depends_on", {}).items():
            condition = how["condition"]
            assert condition in {"service_healthy", "service_completed_successfully"}, (name, target)
            if condition == "service_healthy":
                assert "healthcheck" in SERVICES[target], f"{name} waits for {target}, which has no healthcheck"
            else:
                assert SERVICES[target]["restart"] == "no", f"{target} must run once"
    for name in APP_SERVICES:
        needs = SERVICES[name]["depends_on"]
        assert {"postgres", "redis", "minio-init"} <= set(needs), name
    for name in ("worker-gpu", "worker-cpu", "beat"):  # after the web container's migrations
        assert SERVICES[name]["depends_on"]["web"] == {"condition": "service_healthy"}


def test_every_long_running_service_but_beat_has_a_healthcheck_and_restarts() -> None:
    for name, service in SERVICES.items():
        if name == "minio-init":
            continue
        assert service["restart"] == "unless-stopped", name
        if name != "beat":  # beat answers no ping; nothing waits for it
            assert "healthcheck" in service, name


def test_named_volumes_are_declared_and_the_data_services_keep_their_data() -> None:
    declared = set(COMPOSE["volumes"])
    mounted = {
        volume.split(":")[0]
        for service in SERVICES.values()
        for volume in service.get("volumes", [])
        if not volume.startswith((".", "/"))
    }
    assert mounted == declared
    for name, path in (("postgres", "/var/lib/postgresql/data"), ("redis", "/data"), ("minio", "/data")):
        assert any(v.endswith(f":{path}") for v in SERVICES[name]["volumes"]), name


# --- the images -------------------------------------------------------------------------------------------------


def dockerfile_stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined), grouped by build stage."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("FROM "):
            stages.append([])
        if line and not line.startswith("#") and stages:
            stages[-1].append(line)
    return stages


def test_the_image_runs_as_a_non_root_user() -> None:
    final = dockerfile_stages()[-1]
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0", "0:0"}
    assert any("useradd" in line and users[-1] in line for line in final)
    assert all(SERVICES[name].get("user") in (None, users[-1]) for name in APP_SERVICES)


def test_the_image_pins_torch_like_pyproject_and_starts_files_that_exist() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    for package, arg in (("torch", "TORCH_VERSION"), ("torchvision", "TORCHVISION_VERSION")):
        pinned = re.search(rf'"{package}==([\d.]+)"', pyproject).group(1)
        assert f"ARG {arg}={pinned}\n" in text, f"{arg} in deploy/Dockerfile differs from pyproject's {pinned}"
    cmd = re.search(r"^CMD (\[.*\])$", text, re.MULTILINE).group(1)
    assert (ROOT / yaml.safe_load(cmd)[0]).is_file()
    for source in re.findall(r"^COPY (?!--from)(?:--\S+ )*(\S+) ", text, re.MULTILINE):
        assert (ROOT / source).exists(), source


def test_the_dockerignore_keeps_local_state_and_secrets_out_of_the_image() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".venv", "var", ".git", "data", "runs", ".env"} <= ignored


@pytest.mark.parametrize("name", ENTRYPOINTS)
def test_the_entrypoints_are_executable_bash_scripts(name: str) -> None:
    path = DEPLOY / name
    assert os.access(path, os.X_OK), f"chmod +x deploy/{name}"
    assert path.read_text().startswith("#!/usr/bin/env bash\n")
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_gunicorn_config_imports_and_reads_its_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUNICORN_WORKERS", "3")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    monkeypatch.delenv("GUNICORN_BIND", raising=False)
    config = load_script("gunicorn.conf.py")
    assert (config.bind, config.workers, config.forwarded_allow_ips) == ("0.0.0.0:8000", 3, "*")
    assert config.accesslog == "-" and config.timeout > 30  # longer than a target's long poll
    assert str(ROOT / "platform") in config.pythonpath.split(",")
    monkeypatch.setenv("GUNICORN_WORKERS", "")  # what compose passes for an empty value in .env
    assert load_script("gunicorn.conf.py").workers >= 1


def test_gunicorn_loads_the_asgi_app_with_the_compose_environment(dot_env: dict[str, str]) -> None:
    gunicorn = ["-m", "gunicorn", "--config", "deploy/gunicorn.conf.py", "--check-config", "config.asgi:application"]
    result = run_with(production_env(dot_env), sys.executable, *gunicorn)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_example_env_header_fills_in_every_placeholder(dot_env: dict[str, str]) -> None:
    assert [key for key, value in dot_env.items() if "change-me" in value] == []
    assert dot_env.keys() == example_env().keys()
    assert len(dot_env["SECRET_KEY"]) >= 50
    secrets = [dot_env[key] for key in ("POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "AWS_SECRET_ACCESS_KEY")]
    assert len(set(secrets)) == 3 and all(8 <= len(secret) <= 40 for secret in secrets)  # MinIO's limits
    assert all(re.fullmatch(r"[\w-]+", secret) for secret in secrets)  # URL-safe: the password is in DATABASE_URL


# --- the production settings with the compose environment ----------------------------------------------------------


def test_check_deploy_finds_nothing_with_the_example_env_filled_in(dot_env: dict[str, str]) -> None:
    result = run_with(
        production_env(dot_env), sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_production_refuses_the_example_secret_key(dot_env: dict[str, str]) -> None:
    env = production_env(dot_env, SECRET_KEY=example_env()["SECRET_KEY"])
    result = run_with(env, sys.executable, "manage.py", "check")
    assert result.returncode != 0
    assert "SECRET_KEY must be set to a long random value" in result.stderr


def test_production_serves_static_files_with_whitenoise_and_keeps_the_media_storage(dot_env: dict[str, str]) -> None:
    code = (
        "import django, json; from django.conf import settings; django.setup(); "
        "print(json.dumps([settings.MIDDLEWARE, settings.STORAGES]))"
    )
    result = run_with(production_env(dot_env), sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr
    middleware, storages = yaml.safe_load(result.stdout)
    assert middleware.index("core.async_middleware.StaticFilesMiddleware") == 1  # right after SecurityMiddleware
    assert storages["staticfiles"]["BACKEND"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    env = service_env("web")  # media in the MinIO bucket of the compose file
    assert storages["default"]["BACKEND"] == "storages.backends.s3.S3Storage"
    options = storages["default"]["OPTIONS"]
    assert (options["bucket_name"], options["endpoint_url"]) == (env["AWS_STORAGE_BUCKET_NAME"], "http://minio:9000")


@pytest.mark.slow
def test_collectstatic_with_the_production_storage_writes_hashed_compressed_files(
    dot_env: dict[str, str], tmp_path: Path
) -> None:
    """What the web container does on every start: it must not fail on a file a stylesheet names."""
    env = production_env(dot_env, STATIC_ROOT=str(tmp_path))
    result = run_with(env, sys.executable, "manage.py", "collectstatic", "--noinput")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "staticfiles.json").is_file()
    hashed = list((tmp_path / "frontend" / "css").glob("app.*.css"))
    assert hashed and (hashed[0].parent / (hashed[0].name + ".gz")).is_file()


def test_wait_for_db_returns_once_the_database_answers_and_fails_with_the_reason(dot_env: dict[str, str]) -> None:
    ready = run_with(production_env(dot_env), sys.executable, "deploy/wait_for_db.py")
    assert ready.returncode == 0, ready.stderr
    down = run_with(
        production_env(dot_env, DATABASE_URL="postgres://smgeo:x@127.0.0.1:9/smgeo", WAIT_FOR_DB_S="1"),
        sys.executable, "deploy/wait_for_db.py",
    )  # fmt: skip
    assert down.returncode == 1
    assert "the database did not answer within 1 s" in down.stderr


# --- the web healthcheck ---------------------------------------------------------------------------------------------


def test_the_healthcheck_names_a_host_django_accepts() -> None:
    healthcheck = load_script("web_healthcheck.py")
    assert healthcheck.host_header("smgeo.example.org,localhost") == "smgeo.example.org"
    assert healthcheck.host_header(".example.org") == "example.org"
    assert healthcheck.host_header("*") == "localhost"
    assert healthcheck.host_header("") == "localhost"


@pytest.mark.django_db(transaction=True)
def test_the_healthcheck_passes_when_database_and_broker_answer_even_with_no_worker(live_server: LiveServer) -> None:
    healthcheck = load_script("web_healthcheck.py")
    host = urlparse(live_server.url).hostname
    assert healthcheck.check(f"{live_server.url}/healthz", host, 15.0) is None  # /healthz itself says 503: no worker
    assert "does not answer" in healthcheck.check("http://127.0.0.1:9/healthz", host, 2.0)
    assert "something else" in healthcheck.check(f"{live_server.url}/api/v1/", host, 15.0)


# ------------------------------------------------------------------------------------------- several hosts
def test_the_files_for_several_hosts_are_valid_and_point_a_remote_gpu_worker_at_the_main_host(tmp_path: Path) -> None:
    """deploy/compose.share.yml publishes the data services on a private address; deploy/compose.gpu-host.yml runs a
    GPU worker elsewhere on the same database, broker and bucket, with the main deployment's environment."""
    env_file = tmp_path / ".env"
    env_file.write_text((DEPLOY / "example.env").read_text() + "MAIN_HOST=10.0.0.10\nSHARE_BIND=10.0.0.10\n")
    command = ["docker-compose", "--project-directory", str(ROOT), "--env-file", str(env_file)]
    for files in (["docker-compose.yml", "deploy/compose.share.yml"], ["deploy/compose.gpu-host.yml"]):
        flags = [arg for name in files for arg in ("-f", name)]
        result = subprocess.run([*command, *flags, "config", "-q"], cwd=ROOT, capture_output=True)
        assert result.returncode == 0, (files, result.stderr.decode())
    remote = yaml.safe_load((DEPLOY / "compose.gpu-host.yml").read_text())["services"]["worker-gpu"]
    main = SERVICES["worker-gpu"]
    assert remote["command"] == main["command"] and remote["deploy"] == main["deploy"]
    assert set(remote["environment"]) == set(main["environment"])  # nothing the platform needs is missing
    values = {**example_env(), "MAIN_HOST": "10.0.0.10"}
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "AWS_S3_ENDPOINT_URL"):
        assert "10.0.0.10" in interpolate(remote["environment"][name], values), name
    shared = yaml.safe_load((DEPLOY / "compose.share.yml").read_text())["services"]
    assert {name: spec["ports"][0].rsplit(":", 1)[1] for name, spec in shared.items()} == {
        "postgres": "5432", "redis": "6379", "minio": "9000"
    }  # fmt: skip

"""Compose extraction and the container rules DC001 / DC002."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from prodlint.config import Config
from prodlint.extract import Source
from prodlint.kinds import classify
from prodlint.extract.compose import extract_compose, extract_other_yaml, interpolate
from prodlint.facts.compose import ComposeService

BOTH_MISSING = "set deploy.resources.limits.memory and deploy.resources.limits.cpus"


def test_resource_limits(run):
    assert run("containers/compose_app", select="DC001") == [
        f'docker-compose.prod.yml:10:3 DC001 service "admin" has no memory limit and no CPU limit; {BOTH_MISSING}',
        'docker-compose.yml:22:3 DC001 service "worker" has a memory limit but no CPU limit; '
        "set deploy.resources.limits.cpus (or cpus)",
        'docker-compose.yml:27:3 DC001 service "scheduler" has a CPU limit but no memory limit; '
        "set deploy.resources.limits.memory (or mem_limit)",
        f'docker-compose.yml:52:3 DC001 service "cache" has no memory limit and no CPU limit; {BOTH_MISSING}',
        f'ops/stack.yml:2:3 DC001 service "proxy" has no memory limit and no CPU limit; {BOTH_MISSING}',
    ]


def test_exposed_datastore_ports(run):
    assert run("containers/compose_app", select="DC002") == [
        'docker-compose.yml:47:9 DC002 PostgreSQL service "db" publishes port 5432 on all network interfaces '
        '(host port 5432); publish it as "127.0.0.1:5432:5432" or remove it',
        'docker-compose.yml:67:9 DC002 MySQL service "orders-db" publishes port 3306 on all network interfaces '
        '(host port 3306); publish it as "127.0.0.1:3306:3306" or remove it',
        'docker-compose.yml:77:9 DC002 Valkey service "sessions" publishes port 6381 on all network interfaces '
        '(a random host port); publish it as "127.0.0.1::6381" or remove it',
    ]


def test_dev_files_are_configurable(run):
    # Declared production configuration, docker-compose.dev.yml is an overlay: its db joins the base db and its limits.
    found = run("containers/compose_app", select="DC", dev_files=(), roles=(("config", ("docker-compose.dev.yml",)),))
    assert [line for line in found if line.startswith("docker-compose.dev.yml")] == [
        'docker-compose.dev.yml:5:9 DC002 PostgreSQL service "db" publishes port 5432 on all network interfaces '
        '(host port 5432); publish it as "127.0.0.1:5432:5432" or remove it',
        f'docker-compose.dev.yml:6:3 DC001 service "mailhog" has no memory limit and no CPU limit; {BOTH_MISSING}',
    ]


@pytest.mark.parametrize(("path", "kind"), [
    ("docker-compose.yml", "compose"),
    ("deploy/docker-compose.prod.yaml", "compose"),
    ("compose.yaml", "compose"),
    ("compose.staging.yml", "compose"),
    ("ops/stack.yml", "yaml"),
    (".github/workflows/ci.yml", None),
    ("charts/api/templates/deployment.yaml", None),
    ("pnpm-lock.yaml", None),
    ("tests/cassettes/test_checkout.yaml", None),
    ("{{cookiecutter.project_slug}}/docker-compose.yml", None),
    ("{{cookiecutter.project_slug}}/Dockerfile", None),
])
def test_which_files_are_read_as_compose(path, kind):
    assert classify(path) == kind


def services(text: str, path: str = "deploy/docker-compose.yml") -> dict[str, ComposeService]:
    return {s.name: s for s in extract_compose(Source(path, text), Config())}


def test_service_facts_keep_values_and_lines():
    found = services(
        "services:\n"
        "  api:\n"
        "    build:\n"
        "      context: ../backend\n"
        "      dockerfile: docker/Dockerfile.prod\n"
        "      target: runtime\n"
        "    command: uvicorn app:app --workers ${WORKERS:-2}\n"
        "    environment:\n"
        "      - WEB_CONCURRENCY=4\n"
        "      - SECRET_KEY\n"
        "    env_file: [.env, {path: ../config/api.env, required: false}]\n"
        "    volumes:\n"
        "      - ./postgresql.conf:/etc/postgresql/postgresql.conf:ro\n"
        "      - data:/var/lib/data\n"
        "    deploy: {replicas: 3, mode: replicated}\n"
        "  db:\n"
        "    image: postgres:${PG_VERSION:-16}\n"
        "    command: [postgres, -c, max_connections=200]\n"
        "    environment:\n"
        "      POSTGRES_DB: shop\n"
        "      POSTGRES_PASSWORD:\n"
    )
    api, db = found["api"], found["db"]
    assert (api.at.line, api.at.column) == (2, 3)
    assert (api.build.context, api.build.dockerfile, api.build.target) == ("backend", "backend/docker/Dockerfile.prod", "runtime")
    assert api.command.argv == ("uvicorn", "app:app", "--workers", "${WORKERS:-2}")
    assert api.command.at.line == 7
    assert [(v.name, v.value.value if v.value else None, v.at.line) for v in api.environment] == [
        ("WEB_CONCURRENCY", "4", 9), ("SECRET_KEY", None, 10),
    ]
    assert api.env_files == ("deploy/.env", "config/api.env")
    assert [(m.kind, m.path, m.target, m.read_only) for m in api.volumes] == [
        ("bind", "deploy/postgresql.conf", "/etc/postgresql/postgresql.conf", True),
        ("volume", None, "/var/lib/data", False),
    ]
    assert api.replicas.value == "3"
    assert (db.image.value, db.image.default) == (None, "postgres:16")
    assert db.command.argv == ("postgres", "-c", "max_connections=200") and db.command.at.line == 18
    assert [(v.name, v.value.value if v.value else None) for v in db.environment] == [("POSTGRES_DB", "shop"), ("POSTGRES_PASSWORD", None)]


def test_port_syntaxes():
    found = services(
        "services:\n"
        "  db:\n"
        "    image: postgres\n"
        "    ports:\n"
        "      - 5432\n"
        "      - 127.0.0.1::5433\n"
        "      - \"[::1]:5434:5432/tcp\"\n"
        "      - \"${BIND}:5435:5432\"\n"
        "      - 0.0.0.0:5436:5432/udp\n"
        "      - {target: 5432, published: 5437, host_ip: 0.0.0.0}\n"
    )["db"]
    shown = [(p.host_ip.raw if p.host_ip else None, p.published.raw if p.published else None, p.target.raw, p.protocol, p.at.line)
             for p in found.ports]
    assert shown == [
        (None, None, "5432", "tcp", 5),
        ("127.0.0.1", None, "5433", "tcp", 6),
        ("::1", "5434", "5432", "tcp", 7),
        ("${BIND}", "5435", "5432", "tcp", 8),
        ("0.0.0.0", "5436", "5432", "udp", 9),
        ("0.0.0.0", "5437", "5432", "tcp", 10),
    ]
    assert found.ports[3].host_ip.value is None


def test_other_yaml_needs_compose_shape():
    assert list(extract_other_yaml(Source("deploy/monitoring.yaml", "interval: 5\nservices:\n  api: {image: x}\n"), Config())) == []
    assert [s.name for s in extract_other_yaml(Source("stack.yml", "services:\n  api: {image: x}\n"), Config())] == ["api"]
    # A Helm-like template is not YAML; outside a compose-named file that is nobody's business.
    assert list(extract_other_yaml(Source("values.yaml", "replicas: {{ .Values.n }}\n"), Config())) == []


@pytest.mark.parametrize(("raw", "expected"), [
    ("4", ("4", "4", ())),
    ("$$HOME", ("$HOME", "$HOME", ())),
    ("${WORKERS:-4}", (None, "4", ("WORKERS",))),
    ("${WORKERS-4}", (None, "4", ("WORKERS",))),
    ("${A:-${B:-x}}y", (None, "xy", ("A",))),
    ("$WORKERS", (None, None, ("WORKERS",))),
    ("${WORKERS:?set it}", (None, None, ("WORKERS",))),
    ("${BIND:-127.0.0.1}:5432", (None, "127.0.0.1:5432", ("BIND",))),
])
def test_interpolation(raw, expected):
    assert interpolate(raw) == expected


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 70000), st.text("ab:$/{}[]-=. 0", max_size=12))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["image", "build", "command", "entrypoint", "environment", "env_file", "ports", "volumes",
                     "deploy", "resources", "limits", "memory", "cpus", "replicas", "target", "published",
                     "host_ip", "context", "dockerfile", "profiles", "extends", "service", "path", "<<"]),
    inner, max_size=4), max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text("abc", min_size=1, max_size=3), _values, max_size=3))
def test_any_service_shape_extracts_without_error(body):
    text = yaml.safe_dump({"services": body})
    for service in extract_compose(Source("docker-compose.yml", text), Config()):
        assert isinstance(service, ComposeService)

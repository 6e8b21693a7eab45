"""Compose services: resource limits (DC001) and datastore ports open to the network (DC002)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from prodlint.facts.compose import PortMapping, Text
from prodlint.model.services import Service, services
from prodlint.project import Project
from prodlint.rules import Finding, rule

# Image names (the last path part, without registry or tag) of datastores that hold data.
# Exact names: `redis-commander` and `mongo-express` are web UIs, `postgres-exporter` a metrics exporter.
DATASTORE_IMAGES = {
    "postgres": "PostgreSQL", "postgresql": "PostgreSQL", "postgis": "PostgreSQL", "timescaledb": "PostgreSQL",
    "timescaledb-ha": "PostgreSQL", "pgvector": "PostgreSQL", "postgresql-repmgr": "PostgreSQL",
    "mysql": "MySQL", "mysql-server": "MySQL", "percona-server": "MySQL", "mariadb": "MariaDB",
    "redis": "Redis", "redis-stack": "Redis", "redis-stack-server": "Redis", "valkey": "Valkey", "keydb": "KeyDB",
    "mongo": "MongoDB", "mongodb": "MongoDB", "mongodb-community-server": "MongoDB",
}
ALL_INTERFACES = frozenset({"0.0.0.0", "::", "[::]", ""})
_TAG = re.compile(r"[:@].*$")


@rule("DC001")
def missing_resource_limits(project: Project) -> Iterator[Finding]:
    for service in project.view(services).production():
        if service.limits_unknown:
            continue
        missing_memory, missing_cpu = service.memory_limit is None, service.cpu_limit is None
        if missing_memory and missing_cpu:
            yield Finding("DC001", f'service "{service.name}" has no memory limit and no CPU limit; '
                          "set deploy.resources.limits.memory and deploy.resources.limits.cpus", service.at)
        elif missing_memory:
            yield Finding("DC001", f'service "{service.name}" has a CPU limit but no memory limit; '
                          "set deploy.resources.limits.memory (or mem_limit)", service.at)
        elif missing_cpu:
            yield Finding("DC001", f'service "{service.name}" has a memory limit but no CPU limit; '
                          "set deploy.resources.limits.cpus (or cpus)", service.at)


@rule("DC002")
def exposed_datastore_port(project: Project) -> Iterator[Finding]:
    for service in project.view(services).production():
        product = datastore(service)
        if product is None:
            continue
        for port in service.ports:
            if publishes_on_all_interfaces(port):
                published = port.published.raw if port.published else None
                host_port = f"host port {published}" if published else "a random host port"
                local = f"127.0.0.1:{published or ''}:{port.target.raw}"
                yield Finding("DC002", f'{product} service "{service.name}" publishes port {port.target.raw} on all '
                              f'network interfaces ({host_port}); publish it as "{local}" or remove it', port.at)


def datastore(service: Service) -> str | None:
    """The datastore the service's image runs, by image name; None for built or other images."""
    image = service.image
    if image is None or image.value is None and image.default is None:
        return None
    name = _TAG.sub("", (image.value or image.default or "").rsplit("/", 1)[-1]).lower()
    return DATASTORE_IMAGES.get(name)


def publishes_on_all_interfaces(port: PortMapping) -> bool:
    """No host ip (compose binds 0.0.0.0 and ::) or a wildcard one; an interpolated ip is unknown."""
    return port.host_ip is None or _literal(port.host_ip) in ALL_INTERFACES


def _literal(text: Text) -> str | None:
    return text.value.strip() if text.value is not None else None

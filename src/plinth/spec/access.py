"""Who may do what in each data store: one identity per ``uses`` edge of the spec, derived once.

Every service that uses a data store gets its own identity there (a PostgreSQL role, a ClickHouse user, a
KafkaUser, a Redis ACL user), named after the service, with exactly the grants its edge needs:

* PostgreSQL: a login role owning one database of its own; pg_hba admits the role to that database only.
* ClickHouse: a user with the DDL and DML privileges on one database of its own (``<service>``).
* Kafka: SCRAM-SHA-512 user; Write/Describe on the topics it ``produces``, Read/Describe on those it ``consumes``
  and Read on its one consumer group.
* Redis: an ACL user limited to the keys and channels ``<service>:*``, without the admin and dangerous commands.
* Iceberg is reached through its REST catalog: the service's credential is a catalog principal, not a store identity.

The platform's own components that keep state in PostgreSQL (the Iceberg catalog) get a role the same way
(``platform_postgres_roles``): one login role owning one database, admitted to that database only.

The password of an identity lives once in the cloud's secret manager (``remote_key``); the service's
ExternalSecret and the store's own ExternalSecret (which the operator creates the user from) both read it.
Components render these facts; the PL-SEC checks and the tests read them back from the rendered objects.
"""

from __future__ import annotations

from dataclasses import dataclass

from plinth.spec.derived import managed_stores
from plinth.spec.model import Platform, QueueDepthTrigger

IDENTITY_STORES: tuple[str, ...] = ("postgres", "clickhouse", "kafka", "redis")
"""Stores in which a service gets an identity of its own (Iceberg is reached with a catalog principal)."""


def platform_postgres_roles(platform: Platform) -> dict[str, str]:
    """PostgreSQL roles of the platform's own components, each to the one database it owns: the Iceberg REST
    catalog's (role and database both ``datastores.iceberg.catalog.database``)."""
    catalog = platform.datastores.iceberg.catalog.database
    return {catalog: catalog}

KAFKA_PRODUCE_OPERATIONS: tuple[str, ...] = ("Describe", "Write")
KAFKA_CONSUME_OPERATIONS: tuple[str, ...] = ("Describe", "Read")
KAFKA_GROUP_OPERATIONS: tuple[str, ...] = ("Read",)
"""Kafka ACL operations per kind of use (Kafka's own names; IdempotentWrite is implied by Write on a topic)."""

CLICKHOUSE_PRIVILEGES: tuple[str, ...] = (
    "SELECT", "INSERT", "ALTER", "CREATE TABLE", "CREATE VIEW", "CREATE DICTIONARY", "DROP TABLE", "DROP VIEW",
    "DROP DICTIONARY", "TRUNCATE", "OPTIMIZE", "SHOW",
)
"""What a service may do in its own ClickHouse database (its schema and its data; nothing outside it)."""

REDIS_COMMANDS = "+@all -@admin -@dangerous"
"""Redis ACL command rules of a service user: every data command, none of the admin or dangerous ones."""


@dataclass(frozen=True)
class KafkaAcl:
    """One Kafka ACL rule of a service's KafkaUser (literal resource names)."""

    resource_type: str
    """``topic`` or ``group``."""
    name: str
    operations: tuple[str, ...]


@dataclass(frozen=True)
class StoreIdentity:
    """The identity one service has in one data store, what it may do there, and where its password lives."""

    service: str
    store: str
    user: str
    """The user / role name the store knows it by (and the ``username`` the service reads)."""
    database: str | None
    """Its own database (PostgreSQL, ClickHouse); None where the store has no databases."""
    remote_key: str
    """Remote secret (relative to the environment's prefix) holding its password, key ``password``."""
    kafka_acls: tuple[KafkaAcl, ...] = ()
    redis_keys: str | None = None
    """Redis key and channel pattern it may touch."""


def sql_name(service: str) -> str:
    """A service name as an unquoted SQL identifier (PostgreSQL roles and databases, ClickHouse users and databases)."""
    return service.replace("-", "_")


def identity_remote_key(service: str, store: str) -> str:
    """Remote secret of a service's password in one store, relative to ``derived.secret_name_prefix``."""
    return f"identities/{service}/{store}"


def consumer_group(platform: Platform, service: str) -> str:
    """The one consumer group a service consumes in: its KEDA trigger's group, else the service's name."""
    trigger = platform.services[service].scaling.trigger
    return trigger.consumer_group if isinstance(trigger, QueueDepthTrigger) else service


def kafka_acls(platform: Platform, service: str) -> tuple[KafkaAcl, ...]:
    """The ACLs a service's KafkaUser gets: exactly its produces/consumes topics and its consumer group."""
    svc = platform.services[service]
    rules: dict[str, set[str]] = {}
    for topic in svc.produces:
        rules.setdefault(topic, set()).update(KAFKA_PRODUCE_OPERATIONS)
    for topic in svc.consumes:
        rules.setdefault(topic, set()).update(KAFKA_CONSUME_OPERATIONS)
    acls = [KafkaAcl("topic", topic, tuple(sorted(ops))) for topic, ops in sorted(rules.items())]
    if svc.consumes:
        acls.append(KafkaAcl("group", consumer_group(platform, service), KAFKA_GROUP_OPERATIONS))
    return tuple(acls)


def store_identity(platform: Platform, service: str, store: str) -> StoreIdentity:
    """The identity of ``service`` in ``store`` (which it must use)."""
    if store not in platform.services[service].uses or store not in IDENTITY_STORES:
        raise KeyError(f"{service} has no identity in {store}")
    user = sql_name(service) if store in ("postgres", "clickhouse") else service
    database = sql_name(service) if store in ("postgres", "clickhouse") else None
    return StoreIdentity(
        service=service, store=store, user=user, database=database, remote_key=identity_remote_key(service, store),
        kafka_acls=kafka_acls(platform, service) if store == "kafka" else (),
        redis_keys=f"{service}:*" if store == "redis" else None,
    )


def identities(platform: Platform, store: str | None = None) -> list[StoreIdentity]:
    """Every service's identity (in one store, or in all), sorted by store then service. A store the cloud manages has
    none: its clients share the credentials the cloud layer writes (``derived.managed_store_secrets``)."""
    stores = tuple(s for s in ((store,) if store else IDENTITY_STORES) if s not in managed_stores(platform))
    return [store_identity(platform, name, s) for s in stores for name, svc in sorted(platform.services.items())
            if s in svc.uses]


KEDA_LAG_OPERATIONS: tuple[str, ...] = ("Describe",)
"""What KEDA's Kafka scaler needs to read a consumer group's lag: describe the topic (offsets) and the group."""


def lag_reader_identity(platform: Platform, service: str) -> StoreIdentity | None:
    """The KafkaUser KEDA reads a queue-depth service's lag with (``<service>-lag``: Describe on its topic and group
    only, so the autoscaler cannot read or write messages); None for services scaled otherwise."""
    trigger = platform.services[service].scaling.trigger
    if not isinstance(trigger, QueueDepthTrigger):
        return None
    user = f"{service}-lag"
    return StoreIdentity(service=service, store="kafka", user=user, database=None, remote_key=identity_remote_key(user, "kafka"),
                         kafka_acls=(KafkaAcl("group", trigger.consumer_group, KEDA_LAG_OPERATIONS),
                                     KafkaAcl("topic", trigger.topic, KEDA_LAG_OPERATIONS)))


def kafka_users(platform: Platform) -> list[StoreIdentity]:
    """Every KafkaUser: one per service using Kafka, and one lag reader per queue-depth autoscaler."""
    lag = [i for name in sorted(platform.services) if (i := lag_reader_identity(platform, name)) is not None]
    return sorted(identities(platform, "kafka") + lag, key=lambda i: i.user)

"""Kafka: the Strimzi operator in KRaft mode, a Kafka cluster (``kafka.strimzi.io/v1``) with two
KafkaNodePools (controllers, brokers), rack awareness by zone, and the pipelines' KafkaTopics.

RPO 0 for acknowledged writes needs producers with ``acks=all`` plus replication factor 3,
``min.insync.replicas`` 2 and unclean leader election off; the broker side is set here.
"""

from __future__ import annotations

from typing import Any

from plinth.components.argocd import OPERATOR_CLUSTER_KINDS
from plinth.components.base import Component, HelmRelease, KubeObject
from plinth.components.internal_pki import INTERNAL_CA
from plinth.kube import datastores as ds
from plinth.kube.conventions import DATASTORE_NAMES
from plinth.kube.objects import k8s_object, labels
from plinth.kube.secrets import identity_secret
from plinth.kube.scheduling import POOL_LABEL
from plinth.monitoring.conventions import APP_SERVICE_LABEL, PIPELINE_FAILED_TOTAL, PIPELINE_PROCESSED_TOTAL
from plinth.monitoring.dashboards import APPS_NAMESPACE, RATE, ready_pods
from plinth.monitoring.panels import Panel
from plinth.monitoring.rules import AlertRule, AlertTest, RuleGroup
from plinth.spec.access import StoreIdentity, kafka_users
from plinth.spec.model import Platform, QueueDepthTrigger, VolumeSpec
from plinth.kube.flows import Flow, Pods, flow, scrape, to_api_server

NAME = "kafka"
STORE = "kafka"
CLUSTER = DATASTORE_NAMES["kafka"]
STRIMZI_API = "kafka.strimzi.io/v1"
BROKERS = "brokers"
CONTROLLERS = "controllers"
OPERATOR = "strimzi"
CONTROL_PLANE_PORT = 9090
REPLICATION_PORT = 9091
METRICS_PORT = 9404
CLIENT_PORT = 9093
"""The one client listener: TLS (a certificate from the platform's internal CA) with SCRAM-SHA-512 users."""
CLIENT_LISTENER = "tls"
BROKER_CERTIFICATE = f"{CLUSTER}-listener-tls"
"""cert-manager Certificate (and Secret) of the client listener, issued by the internal CA every service trusts."""

POD_REQUESTS: dict[str, tuple[int, int]] = {"strimzi-cluster-operator": (200, 384), "kafka-exporter": (100, 128)}
"""CPU millicores and memory MiB of the operator pod (chart values) and of the Kafka Exporter (the Kafka CR)."""
EXPORTER = f"{CLUSTER}-kafka-exporter"
"""Name Strimzi gives the Kafka Exporter's Deployment and the ``strimzi.io/name`` label of its pods."""
METRICS_PORT_NAME = "tcp-prometheus"
"""Container port (9404) on which Strimzi's Kafka Exporter and the Kafka nodes serve metrics."""
LAG_LONG_WINDOW = "1h"
LAG_SHORT_WINDOW = "5m"
"""Windows over which consumer lag must grow in both before the growth alert fires (long: sustained; short: still now)."""
STALL_WINDOW = "10m"
"""A consumer group that commits no offset for this long while it has lag has stopped."""

METRICS_ALLOW_LIST = (
    "kafka_server_replicamanager_.*",
    "kafka_controller_kafkacontroller_.*",
    "kafka_server_brokertopicmetrics_.*",
    "kafka_network_requestmetrics_.*",
    "kafka_log_logmanager_.*",
)
"""Metrics the Strimzi Metrics Reporter exposes (the alerts and panels use the first two)."""


def broker_config(platform: Platform) -> dict[str, Any]:
    """Broker settings from the spec: replication, ISR and leader election."""
    k = platform.datastores.kafka
    return {
        "default.replication.factor": k.default_replication_factor,
        "min.insync.replicas": k.min_insync_replicas,
        "unclean.leader.election.enable": k.unclean_leader_election,
        "offsets.topic.replication.factor": k.default_replication_factor,
        "transaction.state.log.replication.factor": k.default_replication_factor,
        "transaction.state.log.min.isr": k.min_insync_replicas,
        "auto.create.topics.enable": False,
    }


def kafka(platform: Platform) -> KubeObject:
    """The Kafka cluster: listeners, broker config, rack awareness by zone, metrics, operators."""
    k = platform.datastores.kafka
    return k8s_object(STRIMZI_API, "Kafka", CLUSTER, ds.DATA_NAMESPACE, labels=labels(NAME, CLUSTER, k.version), spec={
        "kafka": {
            "version": k.version,
            "listeners": [{
                "name": CLIENT_LISTENER, "port": CLIENT_PORT, "type": "internal", "tls": True,
                "authentication": {"type": "scram-sha-512"},
                "configuration": {"brokerCertChainAndKey": {"secretName": BROKER_CERTIFICATE, "certificate": "tls.crt",
                                                            "key": "tls.key"}},
            }],
            # Kafka's own authorizer: users may do what their KafkaUser's ACLs allow, nothing else (Strimzi's
            # operators are super users through their certificates on the replication listener).
            "authorization": {"type": "simple"},
            "config": broker_config(platform),
            "rack": {"topologyKey": ds.ZONE_KEY},
            "metricsConfig": {"type": "strimziMetricsReporter", "values": {"allowList": list(METRICS_ALLOW_LIST)}},
        },
        "kafkaExporter": kafka_exporter(platform),
        "entityOperator": {
            "topicOperator": {"resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}},
            "userOperator": {"resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}},
            "template": {"pod": _pod_template(platform, {"strimzi.io/name": f"{CLUSTER}-entity-operator"}, anti_affinity=False)},
        },
    })


def kafka_exporter(platform: Platform) -> dict[str, Any]:
    """Strimzi's Kafka Exporter (consumer lag and topic offsets): the spec's topics, every consumer group; its pods carry
    the store's labels, so the store's own NetworkPolicies let it reach the brokers."""
    topics = sorted(t.name for t in platform.datastores.kafka.topics)
    cpu, mem = POD_REQUESTS["kafka-exporter"]
    return {
        "topicRegex": "|".join(topics) if topics else ".*",
        "groupRegex": ".*",
        "resources": {"requests": {"cpu": f"{cpu}m", "memory": f"{mem}Mi"}, "limits": {"memory": f"{mem * 2}Mi"}},
        "template": {"pod": _pod_template(platform, {"strimzi.io/name": EXPORTER}, anti_affinity=False)},
    }


def _pod_template(platform: Platform, selector: dict[str, str], anti_affinity: bool = True) -> dict[str, Any]:
    """Strimzi pod template: data pool (node affinity + tolerations), zone spread, one per node."""
    place = ds.placement(platform)
    affinity: dict[str, Any] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": [place["nodeSelector"][POOL_LABEL]]}]}]}}}
    if anti_affinity:
        affinity.update(ds.required_anti_affinity(selector))
    template: dict[str, Any] = {"metadata": {"labels": ds.datastore_labels(STORE)}, "affinity": affinity}
    if "tolerations" in place:
        template["tolerations"] = place["tolerations"]
    if anti_affinity:
        template["topologySpreadConstraints"] = ds.zone_spread(selector)
    return template


def _storage(volume: VolumeSpec) -> dict[str, Any]:
    return {"type": "jbod", "volumes": [{"id": 0, "type": "persistent-claim", "size": f"{volume.size_gib}Gi",
                                          "class": volume.storage_class, "deleteClaim": False, "kraftMetadata": "shared"}]}


def node_pool(platform: Platform, name: str) -> KubeObject:
    """A KafkaNodePool: brokers or KRaft controllers, sized from the spec."""
    k = platform.datastores.kafka
    is_broker = name == BROKERS
    spec = {
        "replicas": k.brokers if is_broker else k.controllers,
        "roles": ["broker"] if is_broker else ["controller"],
        "storage": _storage(k.storage if is_broker else k.controller_storage),
        "resources": ds.resources(k.resources if is_broker else k.controller_resources),
        "template": {"pod": _pod_template(platform, {"strimzi.io/pool-name": name})},
    }
    return k8s_object(STRIMZI_API, "KafkaNodePool", name, ds.DATA_NAMESPACE,
                      labels=labels(NAME, name, k.version, **{"strimzi.io/cluster": CLUSTER}), spec=spec)


def topics(platform: Platform) -> list[KubeObject]:
    """KafkaTopics of the pipelines: partitions and retention from the spec, replication from the cluster."""
    k = platform.datastores.kafka
    return [k8s_object(STRIMZI_API, "KafkaTopic", t.name, ds.DATA_NAMESPACE,
                       labels=labels(NAME, t.name, **{"strimzi.io/cluster": CLUSTER}), spec={
        "topicName": t.name,
        "partitions": t.partitions,
        "replicas": k.default_replication_factor,
        "config": {"retention.ms": t.retention_hours * 3600 * 1000, "min.insync.replicas": k.min_insync_replicas},
    }) for t in k.topics]


def listener_certificate(platform: Platform) -> KubeObject:
    """The client listener's certificate from the internal CA (PKCS#8 key, as Strimzi requires), valid for the
    bootstrap Service and every broker's name."""
    ns = ds.DATA_NAMESPACE
    names = [f"{CLUSTER}-kafka-bootstrap", f"{CLUSTER}-kafka-brokers"]
    dns = sorted({f"{n}.{ns}.svc{suffix}" for n in names for suffix in ("", ".cluster.local")}
                 | {f"*.{CLUSTER}-kafka-brokers.{ns}.svc{suffix}" for suffix in ("", ".cluster.local")})
    return k8s_object("cert-manager.io/v1", "Certificate", BROKER_CERTIFICATE, ns, labels=labels(NAME, BROKER_CERTIFICATE), spec={
        "secretName": BROKER_CERTIFICATE,
        "dnsNames": dns,
        "duration": "2160h",
        "renewBefore": "720h",
        "privateKey": {"algorithm": "ECDSA", "size": 256, "encoding": "PKCS8", "rotationPolicy": "Always"},
        "usages": ["server auth"],
        "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": INTERNAL_CA},
    })


def user_secret_name(identity: StoreIdentity) -> str:
    """Secret (in platform-data) a KafkaUser's SCRAM password is read from."""
    return f"kafka-user-{identity.user}"


def user_secrets(platform: Platform) -> list[KubeObject]:
    """The KafkaUsers' passwords, read from the secret store (the services' own ExternalSecrets read the same)."""
    return [identity_secret(platform, user_secret_name(i), ds.DATA_NAMESPACE, NAME, i) for i in kafka_users(platform)]


def users(platform: Platform) -> list[KubeObject]:
    """One KafkaUser per service (SCRAM-SHA-512, the password from the secret store) with ACLs for exactly the
    topics it produces and consumes and its consumer group; one per lag-driven autoscaler (Describe only)."""
    result = []
    for identity in kafka_users(platform):
        acls = [{"resource": {"type": acl.resource_type, "name": acl.name, "patternType": "literal"},
                 "operations": list(acl.operations), "host": "*"} for acl in identity.kafka_acls]
        result.append(k8s_object(STRIMZI_API, "KafkaUser", identity.user, ds.DATA_NAMESPACE,
                                 labels=labels(NAME, identity.user, **{"strimzi.io/cluster": CLUSTER}), spec={
            "authentication": {"type": "scram-sha-512", "password": {"valueFrom": {"secretKeyRef": {
                "name": user_secret_name(identity), "key": "password"}}}},
            "authorization": {"type": "simple", "acls": acls},
        }))
    return result


def pod_monitor(platform: Platform) -> KubeObject:
    """Scrapes the Strimzi Metrics Reporter on every Kafka node (the node pools' pods)."""
    return k8s_object("monitoring.coreos.com/v1", "PodMonitor", CLUSTER, ds.DATA_NAMESPACE, labels=labels(NAME, CLUSTER), spec={
        "selector": {"matchLabels": {"strimzi.io/cluster": CLUSTER, "strimzi.io/kind": "Kafka"},
                     "matchExpressions": [{"key": "strimzi.io/pool-name", "operator": "Exists"}]},
        "podMetricsEndpoints": [{"port": METRICS_PORT_NAME}],
    })


def exporter_pod_monitor(platform: Platform) -> KubeObject:
    """Scrapes Strimzi's Kafka Exporter (consumer lag, topic offsets)."""
    return k8s_object("monitoring.coreos.com/v1", "PodMonitor", EXPORTER, ds.DATA_NAMESPACE, labels=labels(NAME, EXPORTER), spec={
        "selector": {"matchLabels": {"strimzi.io/cluster": CLUSTER, "strimzi.io/name": EXPORTER}},
        "podMetricsEndpoints": [{"port": METRICS_PORT_NAME}],
    })


def objects(platform: Platform) -> list[KubeObject]:
    """Every Kafka object of platform-data."""
    return [listener_certificate(platform), kafka(platform), node_pool(platform, CONTROLLERS), node_pool(platform, BROKERS),
            *topics(platform), *user_secrets(platform), *users(platform), pod_monitor(platform), exporter_pod_monitor(platform)]


def charts(platform: Platform) -> list[HelmRelease]:
    """The Strimzi cluster operator chart, watching its own namespace."""
    return [HelmRelease("strimzi-kafka-operator", "strimzi", ds.DATA_NAMESPACE, {
        "replicas": 1,
        "resources": ds.chart_resources(*POD_REQUESTS["strimzi-cluster-operator"]),
        "labels": {ds.OPERATOR_LABEL: OPERATOR},
        # The platform renders every NetworkPolicy from its flows; Strimzi's own would open the listeners to every pod.
        "generateNetworkPolicy": False,
        **ds.operator_placement(platform),
    }, sync_wave=-5, ignore_differences=(EMPTY_SCHEMA_DROPPED,))]


EMPTY_SCHEMA_DROPPED = {
    "group": "apiextensions.k8s.io", "kind": "CustomResourceDefinition", "name": "kafkas.kafka.strimzi.io",
    # Strimzi's schema holds an empty `properties: {}`, which the API server does not keep: without this the
    # structured-merge diff of server-side apply reports the CRD OutOfSync forever (seen in `plinth sim sync`).
    "jqPathExpressions": [".spec.versions[].schema.openAPIV3Schema.properties.status.properties.clusterSecurity.properties | select(. == {})"],
}
"""The Kafka CRD's field the API server drops."""


def alerts(platform: Platform) -> list[RuleGroup]:
    """Under-replicated and offline partitions (acknowledged writes at risk / unavailable)."""
    k = platform.datastores.kafka
    return [RuleGroup("kafka", (
        AlertRule(
            name="KafkaUnderReplicatedPartitions",
            expr=f'sum by (namespace, pod) (kafka_server_replicamanager_underreplicatedpartitions{{namespace="{ds.DATA_NAMESPACE}"}}) > 0',
            for_="10m", severity="warning", labels={"datastore": STORE},
            summary="Kafka broker {{ $labels.pod }} leads under-replicated partitions",
            description=f"Partitions led by {{{{ $labels.pod }}}} have fewer than {k.default_replication_factor} in-sync replicas for 10 minutes; one more loss drops them below min.insync.replicas {k.min_insync_replicas} and acks=all writes fail.",
        ),
        AlertRule(
            name="KafkaOfflinePartitions",
            expr=f'sum by (namespace) (kafka_controller_kafkacontroller_offlinepartitionscount{{namespace="{ds.DATA_NAMESPACE}"}}) > 0',
            for_="1m", severity="critical", labels={"datastore": STORE},
            summary="Kafka has offline partitions",
            description="Some partitions have no leader: producers and consumers of those partitions are down (unclean leader election is off, so no out-of-sync replica takes over).",
        ),
    )), *pipeline_alerts(platform)]


def queue_workers(platform: Platform) -> list[tuple[str, QueueDepthTrigger, int]]:
    """(service, its Kafka trigger, its max replicas) of every service scaled on a consumer group's lag."""
    return [(name, svc.scaling.trigger, svc.scaling.max_replicas) for name, svc in sorted(platform.services.items())
            if isinstance(svc.scaling.trigger, QueueDepthTrigger)]


def _lag(trigger: QueueDepthTrigger) -> str:
    return f'kafka_consumergroup_lag{{consumergroup="{trigger.consumer_group}",topic="{trigger.topic}"}}'


def pipeline_alerts(platform: Platform) -> list[RuleGroup]:
    """SLO-style alerts on each pipeline's consumer lag (Kafka Exporter): growing in a long and a short window while
    beyond what the workers absorb at their maximum scale (the autoscaler can do no more), and a stalled group."""
    rules = []
    for name, trigger, max_replicas in queue_workers(platform):
        capacity = trigger.lag_per_replica * max_replicas
        keep = "consumergroup, topic"
        group = f'consumergroup="{trigger.consumer_group}",topic="{trigger.topic}"'
        offsets = f'kafka_consumergroup_current_offset{{{group}}}'
        rules += [
            AlertRule(
                name="PipelineConsumerLagGrowing",
                expr=(f"sum by ({keep}) ({_lag(trigger)}) > {capacity}"
                      f" and sum by ({keep}) (delta({_lag(trigger)}[{LAG_LONG_WINDOW}])) > 0"
                      f" and sum by ({keep}) (delta({_lag(trigger)}[{LAG_SHORT_WINDOW}])) > 0"),
                for_="10m", severity="warning", labels={"service": name},
                summary="Pipeline {{ $labels.consumergroup }} falls behind on {{ $labels.topic }}",
                description=(f"Consumer lag of {{{{ $labels.consumergroup }}}} on {{{{ $labels.topic }}}} is above {capacity} messages "
                             f"({trigger.lag_per_replica} per replica x {max_replicas} replicas, {name}'s maximum scale) and has grown over "
                             f"the last {LAG_LONG_WINDOW} and {LAG_SHORT_WINDOW}: the workers at full scale do not keep up, and data "
                             "reaches the platform later and later."),
            ),
            AlertRule(
                name="PipelineConsumerStalled",
                expr=(f"sum by ({keep}) (rate({offsets}[{STALL_WINDOW}])) == 0"
                      f" and sum by ({keep}) ({_lag(trigger)}) > 0"),
                for_="15m", severity="critical", labels={"service": name},
                summary="Pipeline {{ $labels.consumergroup }} has stopped consuming {{ $labels.topic }}",
                description=(f"{{{{ $labels.consumergroup }}}} has committed no offset on {{{{ $labels.topic }}}} for {STALL_WINDOW} while "
                             f"messages wait: {name} is down, stuck or failing every record, and the pipeline delivers nothing."),
            ),
        ]
    return [RuleGroup("pipeline", tuple(rules))] if rules else []


def alert_tests(platform: Platform) -> list[AlertTest]:
    """promtool cases for the Kafka alerts."""
    ns = ds.DATA_NAMESPACE
    pod = f"{CLUSTER}-{BROKERS}-0"
    urp = lambda v: {"series": f'kafka_server_replicamanager_underreplicatedpartitions{{namespace="{ns}",pod="{pod}"}}', "values": f"{v}x30"}
    off = lambda v: {"series": f'kafka_controller_kafkacontroller_offlinepartitionscount{{namespace="{ns}",pod="{CLUSTER}-{CONTROLLERS}-3"}}', "values": f"{v}x30"}
    return [
        AlertTest("KafkaUnderReplicatedPartitions", (urp(4),), (urp(0),), "15m", {"namespace": ns, "pod": pod}),
        AlertTest("KafkaOfflinePartitions", (off(2),), (off(0),), "5m", {"namespace": ns}),
        *pipeline_alert_tests(platform),
    ]


def pipeline_alert_tests(platform: Platform) -> list[AlertTest]:
    """promtool cases: lag above the workers' capacity and rising fires, the same lag draining does not; a group with lag
    and no committed offset for the stall window fires, one that commits does not."""
    tests = []
    for _, trigger, max_replicas in queue_workers(platform):
        capacity = trigger.lag_per_replica * max_replicas
        labels = {"consumergroup": trigger.consumer_group, "topic": trigger.topic}
        series = lambda metric: f'{metric}{{consumergroup="{trigger.consumer_group}",topic="{trigger.topic}",partition="0",namespace="{ds.DATA_NAMESPACE}"}}'  # noqa: E731
        lag, offset = series("kafka_consumergroup_lag"), series("kafka_consumergroup_current_offset")
        tests += [
            AlertTest("PipelineConsumerLagGrowing", ({"series": lag, "values": f"{capacity + 1000}+100x120"},),
                      ({"series": lag, "values": f"{capacity + 13000}-100x120"},), "90m", labels),
            AlertTest("PipelineConsumerStalled",
                      ({"series": offset, "values": "5000x60"}, {"series": lag, "values": "50x60"}),
                      ({"series": offset, "values": "5000+60x60"}, {"series": lag, "values": "50x60"}), "40m", labels),
        ]
    return tests


def panels(platform: Platform) -> list[Panel]:
    """Platform-health panels: under-replicated and offline partitions."""
    return [
        Panel("platform-health", "Kafka under-replicated partitions",
              (f'sum(kafka_server_replicamanager_underreplicatedpartitions{{namespace="{ds.DATA_NAMESPACE}"}})',), kind="stat"),
        Panel("platform-health", "Kafka offline partitions",
              (f'sum(kafka_controller_kafkacontroller_offlinepartitionscount{{namespace="{ds.DATA_NAMESPACE}"}})',), kind="stat"),
        *pipeline_panels(platform),
    ]


def pipeline_panels(platform: Platform) -> list[Panel]:
    """Kafka consumer lag per topic and group, produce/consume rates, the queue-driven workers' replicas."""
    topics = "|".join(sorted(t.name for t in platform.datastores.kafka.topics))
    panels = [
        Panel("pipeline-execution", "Consumer lag by group and topic",
              (f'sum by (consumergroup, topic) (kafka_consumergroup_lag{{topic=~"{topics}"}})',),
              legend=("{{consumergroup}} / {{topic}}",)),
        Panel("pipeline-execution", "Messages produced per second by topic",
              (f'sum by (topic) (rate(kafka_topic_partition_current_offset{{topic=~"{topics}"}}[{RATE}]))',),
              legend=("{{topic}}",)),
        Panel("pipeline-execution", "Messages consumed per second by group",
              (f'sum by (consumergroup, topic) (rate(kafka_consumergroup_current_offset{{topic=~"{topics}"}}[{RATE}]))',),
              legend=("{{consumergroup}} / {{topic}}",)),
    ]
    workers = "|".join(name for name, _, _ in queue_workers(platform))
    if workers:
        worker = f'namespace="{APPS_NAMESPACE}",{APP_SERVICE_LABEL}=~"{workers}"'
        processed = f"sum by ({APP_SERVICE_LABEL}) (rate({PIPELINE_PROCESSED_TOTAL}{{{worker}}}[{RATE}]))"
        failed = f"sum by ({APP_SERVICE_LABEL}) (rate({PIPELINE_FAILED_TOTAL}{{{worker}}}[{RATE}]))"
        panels += [
            Panel("pipeline-execution", "Consumer lag change per minute by group and topic",
                  (f'sum by (consumergroup, topic) (deriv(kafka_consumergroup_lag{{topic=~"{topics}"}}[{LAG_SHORT_WINDOW}])) * 60',),
                  legend=("{{consumergroup}} / {{topic}}",)),
            Panel("pipeline-execution", "Worker records processed per second", (processed,),
                  unit="reqps", legend=("{{" + APP_SERVICE_LABEL + "}}",)),
            Panel("pipeline-execution", "Worker record failures (share of records)",
                  (f"{failed} / ({processed} + {failed})",), unit="percentunit", legend=("{{" + APP_SERVICE_LABEL + "}}",)),
        ]
    for name, service in sorted(platform.services.items()):
        trigger = service.scaling.trigger
        if isinstance(trigger, QueueDepthTrigger):
            panels.append(Panel(
                "pipeline-execution", f"{name}: replicas (max {service.scaling.max_replicas}) vs. lag / {trigger.lag_per_replica}",
                (f"sum({ready_pods(name)})",
                 f'sum(kafka_consumergroup_lag{{consumergroup="{trigger.consumer_group}",topic="{trigger.topic}"}}) / {trigger.lag_per_replica}'),
                legend=("replicas", "replicas the lag asks for")))
    return panels


KAFKA_AGENT_PORT = 8443
"""Strimzi's KafkaAgent on every Kafka node: the cluster operator reads broker state from it during rolling updates."""


def flows(platform: Platform) -> list[Flow]:
    """Kafka (KRaft): brokers replicate and reach the controllers, controllers keep their quorum; Strimzi's cluster
    operator uses the control plane, replication and agent ports, the entity operator and the Kafka Exporter the
    replication listener; Prometheus scrapes the nodes and the exporter."""
    ns = ds.DATA_NAMESPACE
    nodes = Pods.of(ns, {"strimzi.io/cluster": CLUSTER, "strimzi.io/name": f"{CLUSTER}-kafka"})
    brokers = Pods.of(ns, {"strimzi.io/cluster": CLUSTER, "strimzi.io/broker-role": "true"})
    controllers = Pods.of(ns, {"strimzi.io/cluster": CLUSTER, "strimzi.io/controller-role": "true"})
    entity = Pods.of(ns, {"strimzi.io/cluster": CLUSTER, "strimzi.io/name": f"{CLUSTER}-entity-operator"})
    exporter = Pods.of(ns, {"strimzi.io/cluster": CLUSTER, "strimzi.io/name": EXPORTER})
    operator = Pods.of(ns, {"strimzi.io/kind": "cluster-operator", ds.OPERATOR_LABEL: OPERATOR})
    return [
        flow(brokers, brokers, REPLICATION_PORT, "replication between brokers"),
        flow(nodes, controllers, CONTROL_PLANE_PORT, "KRaft: metadata quorum and brokers' registration"),
        to_api_server(nodes, "the init container reads the node's zone (rack awareness)"),
        to_api_server(operator, "Strimzi reconciles Kafka and its node pools"),
        flow(operator, nodes, (CONTROL_PLANE_PORT, REPLICATION_PORT, KAFKA_AGENT_PORT),
             "the cluster operator administers the cluster and reads broker state while rolling"),
        to_api_server(entity, "the topic operator reconciles KafkaTopics"),
        flow(entity, brokers, REPLICATION_PORT, "the topic operator manages topics over the replication listener"),
        scrape(nodes, METRICS_PORT, "Prometheus scrapes the Strimzi metrics reporter"),
        flow(exporter, brokers, REPLICATION_PORT, "the Kafka Exporter reads topic offsets and consumer groups (replication listener, TLS)"),
        scrape(exporter, METRICS_PORT, "Prometheus scrapes the Kafka Exporter (consumer lag, topic offsets)"),
    ]


COMPONENT = Component(
    name=NAME,
    namespace=ds.DATA_NAMESPACE,
    objects=objects,
    charts=charts,
    alerts=alerts,
    alert_tests=alert_tests,
    panels=panels,
    sync_wave=0,
    cluster_kinds=OPERATOR_CLUSTER_KINDS,
    flows=flows,
)

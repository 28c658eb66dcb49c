"""The Apache Kafka broker jars for the Kafka drill, resolved from Maven Central by Maven into a local cache.

Debian packages no Kafka broker; Maven Central publishes ``org.apache.kafka:kafka_2.13`` (the broker and the
KRaft controller, ``kafka.Kafka``) with its dependencies. ``mvn dependency:copy-dependencies`` copies them into
``<cache>/<version>/libs`` (outside Git); the drill starts ``java -cp '<libs>/*' kafka.Kafka``.

The cache folder is ``$PLINTH_KAFKA_CACHE`` when set (CI and several worktrees can share one), else
``.cache/kafka`` in the project checkout. ``python -m plinth.drills.kafka_dist --spec platform.yaml`` resolves the
versions the spec names (``scripts/setup.sh test`` runs it); a resolved version is not fetched again.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from plinth.procs import ProcessSetupError
from plinth.spec.loader import load_all

CACHE_ENV = "PLINTH_KAFKA_CACHE"
"""Environment variable naming the cache folder (holding ``<version>/libs``)."""
KAFKA_GROUP = "org.apache.kafka"
KAFKA_ARTIFACT = "kafka_2.13"
"""The broker artifact: Kafka's server built for Scala 2.13 (the only Scala build of Kafka 4)."""
LOG_BINDING = ("org.apache.logging.log4j", "log4j-slf4j-impl")
"""Kafka logs through SLF4J 1.7; the binding to its Log4j 2 is in Kafka's distribution but not in the broker's POM."""
READY_MARK = ".resolved"
"""Written last into ``<version>/``: the libs folder is complete."""
JAVA_MIN_MAJOR = 17
"""Kafka 4 brokers need Java 17 or later."""

_POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>plinth.drills</groupId>
  <artifactId>kafka-broker-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
{dependencies}
  </dependencies>
</project>
"""


def project_root() -> Path:
    """The checkout this package is installed from (editable install), for the default cache folder."""
    return Path(__file__).resolve().parents[3]


def cache_dir() -> Path:
    """Folder holding ``<version>/libs``: ``$PLINTH_KAFKA_CACHE`` or ``.cache/kafka`` in the checkout."""
    configured = os.environ.get(CACHE_ENV, "").strip()
    if configured:
        return Path(configured).expanduser().resolve()
    root = project_root()
    if (root / "pyproject.toml").is_file():
        return root / ".cache" / "kafka"
    return Path.home() / ".cache" / "plinth" / "kafka"


def libs_dir(version: str) -> Path:
    """Where the jars of ``version`` are (or will be) cached."""
    return cache_dir() / version / "libs"


def is_resolved(version: str) -> bool:
    """True when the cache holds a complete set of jars for ``version``."""
    folder = libs_dir(version)
    return (folder.parent / READY_MARK).is_file() and (folder / f"{KAFKA_ARTIFACT}-{version}.jar").is_file()


def require_libs(version: str) -> Path:
    """The cached libs folder of ``version``, or a setup error saying how to resolve it."""
    if not is_resolved(version):
        raise ProcessSetupError(
            f"the Kafka {version} jars are not in {libs_dir(version)}: run `scripts/setup.sh test` "
            f"(or `python -m plinth.drills.kafka_dist --version {version}`); set {CACHE_ENV} to share a cache")
    return libs_dir(version)


def java_major_version(java: str = "java") -> int:
    """The major version of the ``java`` on PATH (a setup error when there is none)."""
    binary = shutil.which(java)
    if binary is None:
        raise ProcessSetupError("java not found: install openjdk-17-jre-headless (scripts/apt-test.txt; `make test` does it)")
    output = subprocess.run([binary, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', output)
    if match is None:
        raise ProcessSetupError(f"cannot read the Java version from `java -version`: {output.strip()[:200]}")
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def resolve(version: str, say: Callable[[str], None] = print) -> Path:
    """Copy ``kafka_2.13:<version>`` and its runtime dependencies from Maven Central into the cache (idempotent)."""
    if is_resolved(version):
        return libs_dir(version)
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ProcessSetupError("mvn not found: install maven (scripts/apt-test.txt; `make test` does it)")
    target = libs_dir(version)
    staging = Path(tempfile.mkdtemp(prefix=f"kafka-{version}-", dir=_ensure(cache_dir())))
    try:
        say(f"kafka: resolving {KAFKA_GROUP}:{KAFKA_ARTIFACT}:{version} from Maven Central into {target}")
        _copy_dependencies(mvn, staging, [(KAFKA_GROUP, KAFKA_ARTIFACT, version)])
        log4j = log4j_version(staging)
        if log4j is not None:
            _copy_dependencies(mvn, staging, [(*LOG_BINDING, log4j)])
        if not (staging / f"{KAFKA_ARTIFACT}-{version}.jar").is_file():
            raise ProcessSetupError(f"Maven resolved no {KAFKA_ARTIFACT}-{version}.jar")
        shutil.rmtree(target.parent, ignore_errors=True)
        target.parent.mkdir(parents=True)
        staging.rename(target)
        (target.parent / READY_MARK).write_text(f"{KAFKA_GROUP}:{KAFKA_ARTIFACT}:{version}\n")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def log4j_version(folder: Path) -> str | None:
    """The Log4j version Kafka depends on, read from the resolved ``log4j-core-<version>.jar``."""
    for jar in folder.glob("log4j-core-*.jar"):
        return jar.name[len("log4j-core-"):-len(".jar")]
    return None


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _copy_dependencies(mvn: str, into: Path, artifacts: list[tuple[str, str, str]]) -> None:
    dependencies = "\n".join(
        f"    <dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version></dependency>"
        for g, a, v in artifacts)
    with tempfile.TemporaryDirectory(prefix="kafka-pom-") as work:
        pom = Path(work) / "pom.xml"
        pom.write_text(_POM.format(dependencies=dependencies))
        result = subprocess.run(
            [mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(pom), "dependency:copy-dependencies", f"-DoutputDirectory={into}",
             "-DincludeScope=runtime"],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False, timeout=1800)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        wanted = ", ".join(":".join(a) for a in artifacts)
        raise ProcessSetupError(f"mvn could not resolve {wanted} from Maven Central (exit {result.returncode}):\n{tail}")


def spec_versions(spec: Path) -> list[str]:
    """The Kafka versions the spec's environments name (usually one)."""
    return sorted({platform.datastores.kafka.version for platform in load_all(spec).values()})


def main(argv: list[str] | None = None) -> int:
    """Resolve the Kafka jars for the spec's version(s) or the versions given; exit 2 on bad input or failure."""
    parser = argparse.ArgumentParser(prog="python -m plinth.drills.kafka_dist", description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, help="resolve the Kafka version(s) this spec names")
    parser.add_argument("--version", action="append", default=[], help="a Kafka version to resolve (repeatable)")
    args = parser.parse_args(argv)
    versions = list(args.version)
    try:
        if args.spec is not None:
            versions += spec_versions(args.spec)
        if not versions:
            parser.error("give --spec or --version")
        for version in sorted(set(versions)):
            if is_resolved(version):
                continue  # quiet: the set-up runs this every time
            folder = resolve(version)
            print(f"kafka: {version} resolved into {folder} ({len(list(folder.glob('*.jar')))} jars)")
    except ProcessSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a spec error: report it without a traceback
        problems = getattr(exc, "problems", None)
        print("error: " + ("\n".join(map(str, problems)) if problems else f"{type(exc).__name__}: {exc}"), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

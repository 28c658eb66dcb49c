"""The one door for generated files: a single registry of every artifact Plinth writes into the repository,
one ``--check`` over all of them, and atomic writes everywhere.

An artifact is a function of the spec (and what is rendered from it) giving ``path -> text`` under one folder.
A folder artifact owns its whole folder (the rendered tree, the workflows, the runbooks): files it no longer
produces are stale and the folder is swapped in atomically. A file artifact owns only its files (the docs and
examples next to hand-written ones): each is replaced atomically. ``plinth generate --check`` compares every
artifact with what is committed; the test suite runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from plinth.charts.lock import LOCK_FILE, lock_data, lock_text
from plinth.charts.hydrate import Hydration
from plinth.charts.workflow import chart_dir_for, hydrate_spec
from plinth.checks import as_written
from plinth.checks.docs import checks_markdown
from plinth.delivery.workflows import WORKFLOWS_DIR, render_workflows
from plinth.docs.build import generated_docs
from plinth.docs.datastores import render_markdown as datastores_markdown
from plinth.drills.runbooks import RUNBOOK_DIR, render_runbooks
from plinth.examples import cloud_example, extra_service_example
from plinth.files import TreeDiff, UnsafeWrite, check_replaceable, diff_files, diff_tree, write_files, write_tree
from plinth.render.pipeline import RenderedObject, render_all, to_files
from plinth.spec.derived import WORKLOAD_IDENTITIES
from plinth.spec.model import Platform


@dataclass
class Inputs:
    """What artifacts are generated from: the spec file, its environments, and the CLI's command names (the CI
    workflow may only run commands that exist)."""

    spec: Path
    platforms: dict[str, Platform]
    cli_commands: frozenset[str] = field(default_factory=frozenset)

    @property
    def root(self) -> Path:
        """The repository: the spec's folder."""
        return self.spec.resolve().parent

    @property
    def documented(self) -> Platform:
        """The environment the documents describe: prod when the spec has it."""
        return self.platforms.get("prod") or self.platforms[sorted(self.platforms)[0]]

    @cached_property
    def rendered(self) -> list[RenderedObject]:
        """Every object of every environment (rendered once for all artifacts)."""
        return render_all(self.platforms)

    @cached_property
    def hydration(self) -> Hydration:
        """Every chart Application hydrated (needs the chart directory and helm; ``ChartsSetupError`` without them)."""
        return hydrate_spec(self.spec, self.platforms, self.rendered)

    def charts_lock(self) -> str:
        """charts.lock.yaml: what each pinned chart of the chart directory is (needs the chart directory and helm)."""
        return lock_text(lock_data(self.documented, chart_dir_for(self.spec), self.hydration))

    def docs(self) -> dict[str, str]:
        """docs/architecture.md and its diagram (the cost table plans the hydrated charts' pods: needs the chart directory)."""
        return generated_docs(self.documented, self.hydration.for_environment(self.documented.environment))


@dataclass(frozen=True)
class Artifact:
    """A set of generated files under one folder of the repository."""

    name: str
    """Name on the command line (``plinth generate NAME``)."""
    description: str
    folder: Callable[[Inputs], str]
    """Folder relative to the repository."""
    owns_folder: bool
    """True: every file under the folder is this artifact's (others are stale; the folder is replaced atomically)."""
    files: Callable[[Inputs], dict[str, str]]
    """Path relative to the folder -> text."""


ARTIFACTS: tuple[Artifact, ...] = (
    Artifact("tree", "the GitOps tree Argo CD syncs, every environment (one file per object)",
             lambda i: i.documented.git.rendered_path, True, lambda i: to_files(i.rendered)),
    Artifact("workflows", "the CI/CD workflows (GitHub Actions)", lambda i: WORKFLOWS_DIR, True,
             lambda i: render_workflows(i.documented, set(i.cli_commands))),
    Artifact("architecture", "docs/architecture.md and its Graphviz diagram (the cost table needs the chart directory)",
             lambda i: "docs", False, lambda i: i.docs()),
    Artifact("datastores", "docs/datastores.md: per data store, failures covered and the real RTO/RPO", lambda i: "docs", False,
             lambda i: {"datastores.md": datastores_markdown(i.documented)}),
    Artifact("checks", "docs/checks.md: every registered check", lambda i: "docs", False,
             lambda i: {"checks.md": checks_markdown()}),
    Artifact("runbooks", "docs/runbooks/: one runbook per failure and one anchor per alert", lambda i: RUNBOOK_DIR, True,
             lambda i: render_runbooks(i.documented)),
    Artifact("charts-lock", "charts.lock.yaml: each pinned chart's version, appVersion, digest, CRDs and images (from the chart "
             "directory)", lambda i: ".", False, lambda i: {LOCK_FILE: i.charts_lock()}),
    Artifact("examples", "examples/: the design as written, the spec plus one service, the spec on GCP and on Azure, on AWS "
             "with cloud-managed PostgreSQL and Redis",
             lambda i: "examples", False,
             lambda i: {"design-as-written.yaml": as_written.build(i.spec)[0],
                        "extra-service.yaml": extra_service_example(i.spec.read_text(encoding="utf-8")),
                        "gcp.yaml": cloud_example(i.spec.read_text(encoding="utf-8"), "gcp"),
                        "azure.yaml": cloud_example(i.spec.read_text(encoding="utf-8"), "azure",
                                                    tuple(w.name for w in WORKLOAD_IDENTITIES if "azure" in w.providers)),
                        "aws-managed.yaml": cloud_example(i.spec.read_text(encoding="utf-8"), "aws-managed")}),
)
"""Every artifact Plinth generates, in the order ``plinth generate`` writes them."""


def by_name(names: Iterable[str]) -> list[Artifact]:
    """The artifacts named (all when none); an unknown name is a ValueError listing the known ones."""
    wanted = list(names)
    known = {a.name: a for a in ARTIFACTS}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ValueError(f"unknown artifact(s) {', '.join(unknown)} (expected some of: {', '.join(known)})")
    return [known[n] for n in wanted] if wanted else list(ARTIFACTS)


@dataclass(frozen=True)
class Staleness:
    """How one artifact differs from what is in the repository."""

    artifact: Artifact
    folder: Path
    diff: TreeDiff

    def lines(self, root: Path) -> list[str]:
        """``added|removed|changed <path>`` per differing file, relative to the repository."""
        where = self.folder.relative_to(root) if self.folder.is_relative_to(root) else self.folder
        prefix = "" if str(where) == "." else f"{where}/"
        return [f"{kind} {prefix}{path}" for kind, paths in (("added", self.diff.added), ("removed", self.diff.removed),
                                                            ("changed", self.diff.changed)) for path in paths]


def stale(artifacts: Iterable[Artifact], inputs: Inputs) -> list[Staleness]:
    """Every artifact that differs from what the repository holds (empty when all are fresh)."""
    result = []
    for artifact in artifacts:
        folder = inputs.root / artifact.folder(inputs)
        files = artifact.files(inputs)
        diff = diff_tree(files, folder) if artifact.owns_folder else diff_files(files, folder)
        if not diff.clean:
            result.append(Staleness(artifact, folder, diff))
    return result


class ArtifactRefused(UnsafeWrite):
    """An artifact whose folder Plinth may not replace; names the artifact (the tree's folder comes from the spec's
    ``git.rendered_path``)."""

    def __init__(self, artifact: Artifact, exc: UnsafeWrite):
        self.artifact = artifact
        super().__init__(exc.path, exc.reason)


def _overlap(a: Path, b: Path) -> bool:
    """True when one folder is, or lies inside, the other."""
    return a == b or a in b.parents or b in a.parents


def check_writable(artifacts: Iterable[Artifact], inputs: Inputs, files: dict[str, dict[str, str]]) -> None:
    """Raise ArtifactRefused unless every folder artifact may be replaced: it overlaps no other artifact's folder (the
    tree at ``docs`` would delete the documents) and holds nothing Plinth did not write (``plinth.files``)."""
    root = inputs.root
    protected = [inputs.spec]
    for artifact in artifacts:
        if not artifact.owns_folder:
            continue
        folder = (root / artifact.folder(inputs)).resolve()
        for other in ARTIFACTS:
            other_folder = (root / other.folder(inputs)).resolve()
            clash = _overlap(folder, other_folder) if other.owns_folder else (other_folder == folder or folder in other_folder.parents)
            if other is not artifact and clash:
                raise ArtifactRefused(artifact, UnsafeWrite(folder, f"refusing to replace this folder: it is (or holds, or lies in) "
                                                                    f"{other_folder.relative_to(root) if other_folder.is_relative_to(root) else other_folder}"
                                                                    f", where the {other.name!r} artifact writes"))
        try:
            check_replaceable(folder, files[artifact.name], protected)
        except UnsafeWrite as exc:
            raise ArtifactRefused(artifact, exc) from None


def write(artifacts: Iterable[Artifact], inputs: Inputs) -> list[tuple[Artifact, Path, int]]:
    """Write every artifact atomically, after checking that each folder artifact may be replaced (nothing is written
    when one may not); (artifact, folder, files) for each."""
    chosen = list(artifacts)
    files = {artifact.name: artifact.files(inputs) for artifact in chosen}
    check_writable(chosen, inputs, files)
    written = []
    for artifact in chosen:
        folder = inputs.root / artifact.folder(inputs)
        if artifact.owns_folder:
            write_tree(files[artifact.name], folder, [inputs.spec])
        else:
            write_files(files[artifact.name], folder)
        written.append((artifact, folder, len(files[artifact.name])))
    return written

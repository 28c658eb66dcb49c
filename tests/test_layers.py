"""The layers are enforced, not described: the import-linter contracts in `.importlinter` hold, and no module
hides an import inside a function (where a cycle would go unseen) beyond the command line's lazy loading."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

LAZY_IMPORTS_ALLOWED = {
    "plinth/cli.py": "each subcommand loads what it needs, so `plinth --help` and `plinth render` start fast",
    "plinth/commands/": "the command groups load what each subcommand needs, for the same reason",
    "plinth/cloud/program.py": "only the chosen cloud's Pulumi SDK is imported (each is hundreds of MB)",
}


def test_import_linter_contracts_hold() -> None:
    linter = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(linter), "--config", str(REPO / ".importlinter")], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "broken" in proc.stdout and "0 broken" in proc.stdout


def test_no_plinth_import_hides_inside_a_function() -> None:
    hidden = []
    for path in sorted((REPO / "src" / "plinth").rglob("*.py")):
        rel = str(path.relative_to(REPO / "src"))
        if any(rel == allowed or (allowed.endswith("/") and rel.startswith(allowed)) for allowed in LAZY_IMPORTS_ALLOWED):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("plinth"):
                        hidden.append(f"{rel}:{inner.lineno} from {inner.module}")
                    elif isinstance(inner, ast.Import) and any(a.name.startswith("plinth") for a in inner.names):
                        hidden.append(f"{rel}:{inner.lineno} import")
    assert not hidden, "imports inside functions (move them to the top; a cycle they hide is a layering bug):\n" + "\n".join(hidden)

"""The import directions of docs/architecture.md, enforced: its table of parts is the rule.

Every module of the project is read as text (nothing is imported); each of its imports of our own code
must name a part that its row allows, and each import of an outside library must be one its row allows.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
PACKAGES = (
    "admin",
    "activities",
    "api",
    "bench",
    "db",
    "domain",
    "pages",
    "scripts",
    "web",
    "workflows",
    "zalo",
)
MODULES = ("server", "settings", "worker")
OURS = set(PACKAGES) | set(MODULES)
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


@dataclass(frozen=True)
class Rule:
    may_import: frozenset[str]
    libraries: frozenset[str] | None  # None: any


def read_rules() -> dict[str, Rule]:
    """The table of docs/architecture.md: part → the parts it may import and the libraries it may use."""
    rules: dict[str, Rule] = {}
    for line in DOC.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not re.fullmatch(r"`[a-z_.]+`", cells[0]):
            continue
        names = re.findall(r"`([a-z_.]+)`", cells[2])
        libraries = None if cells[3] == "any" else frozenset(re.findall(r"`([a-z_]+)`", cells[3]))
        rules[cells[0].strip("`")] = Rule(frozenset(names), libraries)
    return rules


RULES = read_rules()


def read_rows() -> dict[str, int]:
    """The layered picture of docs/architecture.md: part → its row (0 at the bottom)."""
    picture = DOC.read_text().split("```")[1]
    rows: dict[str, int] = {}
    for line in picture.splitlines():
        found = re.match(r"^\s*(\d+)\s+(.*)$", line)
        if found:
            for token in re.findall(r"[a-z_/]+(?:\.py)?/?", found.group(2)):
                if "/" in token or token.endswith(".py"):
                    rows[token.removesuffix(".py").strip("/").replace("/", ".")] = int(found.group(1))
    return rows


def part_of(module: str) -> str:
    """The most specific part of the table that `module` belongs to."""
    candidates = [part for part in RULES if module == part or module.startswith(part + ".")]
    assert candidates, f"{module} belongs to no part of docs/architecture.md"
    return max(candidates, key=len)


def is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of every module `path` imports, anywhere in it (functions and blocks too)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = [f"{node.module}.{alias.name}" for alias in node.names]
            modules = [name for name in submodules if is_module(name)]
            found += [(node.lineno, name) for name in modules] or [(node.lineno, node.module)]
    return found


def project_files() -> list[tuple[str, Path]]:
    files = [(name, ROOT / f"{name}.py") for name in MODULES]
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # Alembic's scripts: they import only the tables and Alembic
            dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            if dotted == "workflows" and not imports_of(path):
                continue  # the package's face: it holds nothing (its modules are parts of their own)
            files.append((dotted, path))
    return files


FILES = project_files()


def test_the_table_names_every_part_and_only_parts() -> None:
    assert set(RULES) >= OURS - {"workflows"}
    for part, rule in RULES.items():
        unknown = rule.may_import - set(RULES)
        assert not unknown, f"{part} may import {unknown}, which are not parts"


def test_the_picture_places_every_part_above_what_it_may_import() -> None:
    rows = read_rows()
    assert set(rows) == set(RULES)
    for part, rule in RULES.items():
        for target in rule.may_import:
            assert rows[target] < rows[part], (
                f"{part} (row {rows[part]}) may import {target} (row {rows[target]})"
            )


@pytest.mark.parametrize(("module", "path"), FILES, ids=[module for module, _ in FILES])
def test_imports_follow_the_allowed_directions(module: str, path: Path) -> None:
    part = part_of(module)
    rule = RULES[part]
    wrong = []
    for line, name in imports_of(path):
        top = name.split(".")[0]
        if top in OURS:
            target = part_of(name)
            if target != part and target not in rule.may_import:
                wrong.append(
                    f"{path.relative_to(ROOT)}:{line} imports {name} ({part} may not import {target})"
                )
        elif top not in STDLIB and rule.libraries is not None and top not in rule.libraries:
            wrong.append(
                f"{path.relative_to(ROOT)}:{line} uses {top} (allowed for {part}: {sorted(rule.libraries)})"
            )
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    # The workflow importing an activity's implementation is what the table exists to stop.
    source = tmp_path / "dossier.py"
    source.write_text("from activities.records import RecordActivities\nimport sqlmodel\n")
    names = [name for _, name in imports_of(source)]
    assert names == ["activities.records", "sqlmodel"]
    rule = RULES[part_of("workflows.dossier")]
    assert part_of("activities.records") not in rule.may_import
    assert rule.libraries is not None
    assert "sqlmodel" not in rule.libraries

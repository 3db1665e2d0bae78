"""Start-up checks of a service's declarations against its catalog and the families:
a misdeclared model stops the service with a message that names the fix, instead of
failing as a 500 at request time."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from pathlib import Path

from ai.runtime.catalog import CatalogEntry, CatalogError
from ai.runtime.declarations import Declaration
from ai.runtime.errors import StartupError
from ai.runtime.families import families_for, get_family
from ai.runtime.families.tasks import Task


def declaration_problems(
    declarations: Iterable[Declaration],
    catalog: Mapping[str, CatalogEntry],
    hosted: Iterable[str],
    source: Path,
) -> list[str]:
    """What is wrong, one line each (empty when the service can start)."""
    hosted = set(hosted)
    problems: list[str] = []
    seen: set[str] = set()
    for declaration in declarations:
        path = declaration.contract.path
        if path in seen:
            problems.append(f"POST {path} is declared twice")
        seen.add(path)
        for model, task in declaration.uses.items():
            problems += _use_problems(f"POST {path}", model, task, catalog, hosted, source)
    for name in sorted(hosted):
        family = get_family(catalog[name].family)
        if family is None:
            continue  # shown as disabled; no endpoint of this service needs it (checked above)
        try:
            family.options_of(catalog[name])
        except CatalogError as exc:
            problems.append(f"{source}: {exc}")
    return problems


def _use_problems(
    where: str, model: str, task: Task, catalog: Mapping[str, CatalogEntry], hosted: set[str], source: Path
) -> list[str]:
    entry = catalog.get(model)
    if entry is None:
        return [
            f"{where} runs model {model!r}, which is not in {source} (its models: {', '.join(sorted(catalog))}); "
            "fix the name in the declaration or add the catalog row"
        ]
    if model not in hosted:
        return []  # another instance of the service hosts it
    family = get_family(entry.family)
    row = f"`family` of [models.{model}] in {source}"
    if family is None:
        return [f"{where} runs {model}, but its family {entry.family!r} is not part of this build; fix {row}"]
    if task not in family.tasks:
        does = ", ".join(sorted(t.value for t in family.tasks))
        able = ", ".join(families_for(task)) or "none yet"
        return [
            f"{where} needs {model} to {task.value}, but family {entry.family} does only {does}; "
            f"set {row} to one that does ({able})"
        ]
    if inspect.isabstract(family):
        missing = ", ".join(sorted(family.__abstractmethods__))
        return [
            f"{where} runs {model}, but family {entry.family} does not implement {missing}; add e.g. "
            "`def run_batch(self, inputs: list[In]) -> list[Out]` (one forward pass, one output per input)"
        ]
    return []


def check_declarations(
    declarations: Iterable[Declaration], catalog: Mapping[str, CatalogEntry], hosted: Iterable[str], source: Path
) -> None:
    problems = declaration_problems(declarations, catalog, hosted, source)
    if problems:
        raise StartupError("the service cannot start:\n  - " + "\n  - ".join(problems))

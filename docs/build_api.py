"""Build the API reference of provergym, agents and corpora with pdoc, and check it.

The HTML comes from the docstrings (reStructuredText roles such as :class:`~x.Y` become
links). The build fails (exit 1) when:

- pdoc warns about anything, an import error of a module first of all (pdoc imports every
  module it documents, so a module that cannot be imported cannot be documented);
- a docstring refers to an object that does not exist: a reST role (``:class:``,
  ``:func:``, ``:meth:``, ``:mod:``, ``:data:``, ``:attr:``, ``:exc:``, ``:obj:``,
  ``:const:``) whose target is found neither in its module (nor class), nor among the
  documented modules, nor among Python's builtins; or a name in backquotes that starts
  with ``provergym.``, ``agents.`` or ``corpora.`` and names nothing.

A reference to something that exists but is private (``_name``) is not an error: pdoc
renders it as code, without a link. Docstrings inherited from other libraries' classes are
not checked.

    python docs/build_api.py --out /tmp/provergym-docs     # or: make docs
"""

from __future__ import annotations

import argparse
import builtins
import re
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

PACKAGES = ("provergym", "agents", "corpora")
REPO = Path(__file__).resolve().parents[1]

# :class:`~provergym.api.Proved`, :py:meth:`step`, ...
ROLE = re.compile(r"(?::py)?:(mod|func|data|const|class|meth|attr|exc|obj):`([^`]+)`")
# `provergym.json` is a file, not a module
FILE_SUFFIXES = ("json", "jsonl", "py", "txt", "md", "html", "mm", "v", "lark", "npz", "toml")


def dotted_pattern(packages: Sequence[str]) -> re.Pattern:
    """`provergym.api.Proved` or ``agents.train.train()``: single or double backquotes."""
    heads = "|".join(re.escape(package) for package in packages)
    return re.compile(r"(?<![`\w])``?((?:" + heads + r")(?:\.\w+)+)(?:\(\))?``?(?![`\w])")


def module_names(packages: Sequence[str]) -> list[str]:
    """Every public module of the packages, each package before its modules. (pdoc's own
    walk follows a package's ``__all__``, and ``provergym``'s lists only the API's names,
    which would leave every submodule out.)"""
    import importlib
    import pkgutil

    names = []
    for package in packages:
        names.append(package)
        path = importlib.import_module(package).__path__
        # A subpackage that fails to import is still listed (before its import); build()
        # reports its error when pdoc imports it.
        for info in pkgutil.walk_packages(path, prefix=package + ".",
                                          onerror=lambda name: None):
            if not any(part.startswith("_") for part in info.name.split(".")):
                names.append(info.name)
    return sorted(names, key=lambda name: name.split("."))


def walk(doc) -> Iterator:
    """``doc`` and every member below it (classes' members too)."""
    import pdoc.doc

    yield doc
    if isinstance(doc, pdoc.doc.Namespace):
        for member in doc.own_members:
            yield from walk(member)


def targets(docstring: str, dotted: re.Pattern) -> Iterator[tuple[str, str]]:
    """(kind, target) of each reference in a docstring; kind "" for a plain dotted name
    (``dotted``: what such a name looks like)."""
    for match in ROLE.finditer(docstring):
        target = match.group(2).strip()
        if "<" in target and target.endswith(">"):  # :class:`text <target>`
            target = target[target.rindex("<") + 1:-1].strip()
        yield match.group(1), target.lstrip("~!").removesuffix("()")
    without_roles = ROLE.sub("", docstring)
    for match in dotted.finditer(without_roles):
        yield "", match.group(1)


def exists(target: str) -> bool:
    """Whether the absolute dotted name ``target`` names a module or an object in one."""
    import importlib

    parts = target.split(".")
    for split in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:]:
            value = getattr(value, part, None)
            if value is None:
                return False
        return True
    return False


def resolves(target: str, module, namespace: str, all_modules: dict,
             packages: Sequence[str]) -> bool:
    """Whether ``target``, written in ``module`` (inside the class ``namespace``, if any),
    names an existing object: as pdoc would look it up (then it is a link), or else a
    private one, a builtin, or a name the module imports (then it is shown as code)."""
    from pdoc.render_helpers import possible_sources, qualname_candidates

    for qualname in qualname_candidates(target, namespace):
        if module.get(qualname) is not None:
            return True
    if target in all_modules:
        return True
    try:
        for module_name, qualname in possible_sources(all_modules, target):
            found = all_modules.get(module_name)
            if found is not None and found.get(qualname) is not None:
                return True
    except ValueError:  # no documented module starts it: external, or a name of the module
        pass
    head = target.split(".")[0]
    if head in packages:
        return exists(target)
    if hasattr(builtins, head):
        return True
    # a name of the module (private, or imported from the standard library, numpy, another
    # of our modules...), or of the class the docstring is in
    for prefix in ([namespace] if namespace else []) + [""]:
        value = module.obj
        for part in (f"{prefix}.{target}" if prefix else target).split("."):
            value = getattr(value, part, None)
            if value is None:
                break
        if value is not None:
            return True
    return False


def build(out: Path, packages: Sequence[str] = PACKAGES) -> list[str]:
    """Render the reference of ``packages`` into ``out``; return the problems found
    (empty: none)."""
    import pdoc
    import pdoc.doc
    import pdoc.render

    problems: list[str] = []
    sys.path.insert(0, str(REPO))  # the packages of this checkout, installed or not
    pdoc.render.configure(docformat="restructuredtext", search=True, show_source=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        all_modules = {}
        unimportable: list[str] = []
        for name in module_names(packages):
            try:
                all_modules[name] = pdoc.doc.Module.from_name(name)
            except Exception as error:  # any import-time failure means no page
                cause = error.__cause__ or error  # pdoc wraps the module's own error
                problems.append(f"cannot import {name}: {type(cause).__name__}: {cause}")
                unimportable.append(name)
        out.mkdir(parents=True, exist_ok=True)
        for module in all_modules.values():
            html = pdoc.render.html_module(module, all_modules)
            path = out / f"{module.fullname.replace('.', '/')}.html"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(html, encoding="utf-8")
        (out / "index.html").write_text(pdoc.render.html_index(all_modules), encoding="utf-8")
        (out / "search.js").write_text(pdoc.render.search_index(all_modules), encoding="utf-8")
    for warning in caught:
        message = str(warning.message).strip()
        if issubclass(warning.category, DeprecationWarning) and \
                "pdoc" not in str(warning.filename):
            continue  # a library's own deprecation, raised while pdoc imports it
        if any(message.startswith(f"Couldn't import {name}:") for name in unimportable):
            continue  # reported above (pdoc tries again for the package's page)
        problems.append(f"pdoc warning: {message}")
    dotted = dotted_pattern(packages)
    for module in all_modules.values():
        source = module.source
        for doc in walk(module):
            first_line = next((line.strip() for line in (doc.docstring or "").splitlines()
                               if line.strip()), "")
            if first_line not in source:
                continue  # inherited (from gymnasium, say): its references are not ours
            namespace = doc.qualname if isinstance(doc, pdoc.doc.Class) else \
                doc.qualname.rpartition(".")[0]
            for kind, target in targets(doc.docstring or "", dotted):
                if not kind and target.rpartition(".")[2] in FILE_SUFFIXES:
                    continue
                if not resolves(target, module, namespace, all_modules, packages):
                    written = f":{kind}:`{target}`" if kind else f"`{target}`"
                    problems.append(f"{doc.fullname}: broken reference {written}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="/tmp/provergym-docs", help="output folder")
    args = parser.parse_args()
    out = Path(args.out)
    problems = build(out)
    for problem in problems:
        print(problem, file=sys.stderr)
    pages = sum(1 for _ in out.rglob("*.html"))
    if problems:
        print(f"{len(problems)} problem(s); {pages} pages written to {out}", file=sys.stderr)
        return 1
    print(f"API reference: {pages} pages in {out} (open {out / 'index.html'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

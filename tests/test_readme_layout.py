"""README's layout section names every module of the package (the command modules of cli/ excepted:
"one thin click module per command"), so the map cannot fall behind the code."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sarcgen"


def _layout() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Layout"):]
    return section.split("```")[1]


def _package_lines(layout: str) -> dict[str, str]:
    """{package: its entry, continuation lines joined}."""
    found: dict[str, str] = {}
    current = None
    for line in layout.splitlines():
        head = re.match(r"^  (\w+)/\s", line)
        if head:
            current = head.group(1)
            found[current] = line
        elif current and re.match(r"^ {10,}\S", line):
            found[current] += " " + line
        else:
            current = None
    return found


def test_every_top_level_module_is_in_the_layout() -> None:
    layout = _layout()
    missing = [p.name for p in sorted(PACKAGE.glob("*.py")) if p.stem not in ("__init__", "__main__", "version")
               and p.name not in layout]
    assert missing == [], f"README layout does not name: {missing}"


def test_every_subpackage_module_is_in_its_entry() -> None:
    entries = _package_lines(_layout())
    missing = []
    for pkg in sorted(d for d in PACKAGE.iterdir() if (d / "__init__.py").is_file() and d.name != "cli"):
        entry = entries.get(pkg.name, "")
        missing += [f"{pkg.name}/{p.stem}" for p in sorted(pkg.glob("*.py"))
                    if p.stem != "__init__" and not re.search(rf"\b{p.stem}\b", entry)]
    assert missing == [], f"README layout does not name: {missing}"

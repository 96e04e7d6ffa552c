"""The code rests on stock Django: no app module reaches into Django's private machinery."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("core", "outbox", "accounts", "webhooks", "billing", "api", "videogen")
# Names that mean a private layer under Django: a handler of our own, the middleware chain, tuned
# garbage collection, forced prepared statements.
FORBIDDEN_NAMES = {"_middleware_chain", "_get_response_async", "load_middleware", "prepare_threshold", "freeze"}
FORBIDDEN_BASES = {"ASGIHandler", "WSGIHandler", "BaseHandler"}


def _modules() -> list[Path]:
    return sorted(p for app in APPS for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts)


def _violations(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_NAMES:
            found.append(f"line {node.lineno}: .{node.attr}")
        if isinstance(node, ast.FunctionDef) and node.name in FORBIDDEN_NAMES:
            found.append(f"line {node.lineno}: def {node.name}")
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
                if name in FORBIDDEN_BASES:
                    found.append(f"line {node.lineno}: class {node.name}({name})")
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_uses_django_private_machinery(path: Path) -> None:
    assert _violations(ast.parse(path.read_text(), filename=str(path))) == []


def test_the_check_finds_a_private_handler() -> None:
    source = (
        "from django.core.handlers.asgi import ASGIHandler\nclass H(ASGIHandler):\n    pass\nimport gc\ngc.freeze()\n"
    )
    assert len(_violations(ast.parse(source))) == 2


def test_the_asgi_entry_point_is_djangos_own() -> None:
    from django.core.handlers.asgi import ASGIHandler

    from videogen.asgi import application

    assert type(application) is ASGIHandler

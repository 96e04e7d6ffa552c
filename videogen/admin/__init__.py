"""The operators' admin for generations and providers (registered on import)."""

from __future__ import annotations

from videogen.admin import generations, organizations, providers, showcase

__all__ = ["generations", "organizations", "providers", "showcase"]

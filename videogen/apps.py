from __future__ import annotations

from django.apps import AppConfig


class VideogenConfig(AppConfig):
    name = "videogen"
    verbose_name = "Generations"

    def ready(self) -> None:
        # The sandbox adapter registers itself with the provider registry on import.
        from videogen.providers import sandbox  # noqa: F401

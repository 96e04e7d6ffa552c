"""Python client for the Hailuo Studio video generation API (`/api/v1`).

import hailuo

client = hailuo.Client()  # reads HAILUO_API_KEY and HAILUO_BASE_URL
video = client.generations.create(model="hailuo-02", prompt="a paper boat", wait=True)
client.generations.download(video, "boat.mp4")
"""

from __future__ import annotations

from hailuo import webhooks
from hailuo._client import AsyncClient, Client
from hailuo.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    GenerationError,
    HailuoError,
    InsufficientCreditsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    WaitTimeout,
)
from hailuo.models import (
    Balance,
    Generation,
    GenerationFailure,
    GenerationOutput,
    LedgerEntry,
    Model,
    ModelPrice,
    Page,
    Price,
    Progress,
    Upload,
)

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APIError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Balance",
    "Client",
    "ConflictError",
    "Generation",
    "GenerationError",
    "GenerationFailure",
    "GenerationOutput",
    "HailuoError",
    "InsufficientCreditsError",
    "LedgerEntry",
    "Model",
    "ModelPrice",
    "NotFoundError",
    "Page",
    "PermissionDeniedError",
    "Price",
    "Progress",
    "RateLimitError",
    "ServerError",
    "Upload",
    "WaitTimeout",
    "__version__",
    "webhooks",
]

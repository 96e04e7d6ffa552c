"""Typed objects of the native API, read from its JSON (unknown keys are kept in `raw`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

__all__ = [
    "ACTIVE_STATUSES",
    "FINAL_STATUSES",
    "Balance",
    "Generation",
    "GenerationFailure",
    "GenerationOutput",
    "LedgerEntry",
    "Model",
    "ModelPrice",
    "Page",
    "Price",
    "Progress",
    "Upload",
]

ACTIVE_STATUSES = frozenset({"queued", "submitting", "running"})
FINAL_STATUSES = frozenset({"succeeded", "failed", "canceled", "timed_out"})

T = TypeVar("T")


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class Price:
    """What a generation costs; `charged` only once it succeeded."""

    amount: Decimal
    amount_micros: int
    currency: str
    charged: bool

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Price:
        return cls(
            amount=Decimal(str(data["amount"])),
            amount_micros=int(data["amount_micros"]),
            currency=str(data.get("currency", "usd")),
            charged=bool(data.get("charged", False)),
        )


@dataclass(frozen=True)
class GenerationOutput:
    """The delivered video: signed links (they expire) and what it is."""

    video_url: str
    download_url: str
    poster_url: str | None
    content_type: str
    duration: float | None
    width: int | None
    height: int | None
    size_bytes: int | None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationOutput:
        return cls(
            video_url=str(data["video_url"]),
            download_url=str(data.get("download_url") or data["video_url"]),
            poster_url=data.get("poster_url"),
            content_type=str(data.get("content_type", "video/mp4")),
            duration=_float(data.get("duration")),
            width=_int(data.get("width")),
            height=_int(data.get("height")),
            size_bytes=_int(data.get("size_bytes")),
        )


@dataclass(frozen=True)
class GenerationFailure:
    """Why a generation ended without a video."""

    code: str
    message: str


@dataclass(frozen=True)
class Generation:
    """One video job."""

    id: str
    status: str
    model: str
    input: dict[str, Any]
    output: GenerationOutput | None
    error: GenerationFailure | None
    price: Price
    metadata: dict[str, str]
    created_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Generation:
        error = data.get("error")
        output = data.get("output")
        return cls(
            id=str(data["id"]),
            status=str(data["status"]),
            model=str(data.get("model", "")),
            input=dict(data.get("input") or {}),
            output=GenerationOutput.from_dict(output) if isinstance(output, dict) else None,
            error=GenerationFailure(str(error.get("code", "")), str(error.get("message", "")))
            if isinstance(error, dict)
            else None,
            price=Price.from_dict(data["price"]),
            metadata=dict(data.get("metadata") or {}),
            created_at=_time(data.get("created_at")),
            started_at=_time(data.get("started_at")),
            completed_at=_time(data.get("completed_at")),
            raw=data,
        )

    @property
    def done(self) -> bool:
        """Final: succeeded, failed, canceled or timed out."""
        return self.status in FINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


@dataclass(frozen=True)
class Progress:
    """Where a generation stands while we wait for it.

    The API reports a status, not a percentage: `fraction` is an estimate from
    the status and the time spent running (it reaches 1.0 only when done).
    """

    generation: Generation
    elapsed: float
    fraction: float

    @property
    def status(self) -> str:
        return self.generation.status

    @property
    def percent(self) -> int:
        return round(self.fraction * 100)


@dataclass(frozen=True)
class ModelPrice:
    """The price of one variant of a model (duration × resolution × mode)."""

    variant: str
    model: str
    duration: int
    resolution: str
    mode: str | None
    price: Decimal
    price_micros: int
    currency: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelPrice:
        return cls(
            variant=str(data["variant"]),
            model=str(data["model"]),
            duration=int(data["duration"]),
            resolution=str(data["resolution"]),
            mode=data.get("mode"),
            price=Decimal(str(data["price"])),
            price_micros=int(data["price_micros"]),
            currency=str(data.get("currency", "usd")),
        )


@dataclass(frozen=True)
class Model:
    """A model of the catalog with its parameters (types, allowed values, rules) and its prices."""

    id: str
    name: str
    description: str
    parameters: dict[str, Any]
    prices: list[ModelPrice]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        return cls(
            id=str(data["id"]),
            name=str(data.get("name", data["id"])),
            description=str(data.get("description", "")),
            parameters=dict(data.get("parameters") or {}),
            prices=[ModelPrice.from_dict(p) for p in data.get("prices") or []],
        )


@dataclass(frozen=True)
class Balance:
    """Credit: `available` = `balance` − `held` (reserved for running generations)."""

    currency: str
    balance: Decimal
    balance_micros: int
    held: Decimal
    held_micros: int
    available: Decimal
    available_micros: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Balance:
        return cls(
            currency=str(data.get("currency", "usd")),
            balance=Decimal(str(data["balance"])),
            balance_micros=int(data["balance_micros"]),
            held=Decimal(str(data["held"])),
            held_micros=int(data["held_micros"]),
            available=Decimal(str(data["available"])),
            available_micros=int(data["available_micros"]),
        )


@dataclass(frozen=True)
class LedgerEntry:
    """One movement of credit, newest first in the ledger."""

    id: str
    kind: str
    amount: Decimal
    amount_micros: int
    held_delta_micros: int
    balance_after_micros: int
    reason: str
    generation: str | None
    api_key: str | None
    created_at: datetime | None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LedgerEntry:
        return cls(
            id=str(data["id"]),
            kind=str(data["kind"]),
            amount=Decimal(str(data["amount"])),
            amount_micros=int(data["amount_micros"]),
            held_delta_micros=int(data.get("held_delta_micros") or 0),
            balance_after_micros=int(data["balance_after_micros"]),
            reason=str(data.get("reason") or ""),
            generation=data.get("generation"),
            api_key=data.get("api_key"),
            created_at=_time(data.get("created_at")),
        )


@dataclass(frozen=True)
class Upload:
    """A stored image; its id works as `first_frame_image` or `last_frame_image`."""

    id: str
    url: str
    content_type: str
    size_bytes: int
    width: int
    height: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Upload:
        return cls(
            id=str(data["id"]),
            url=str(data.get("url", "")),
            content_type=str(data.get("content_type", "")),
            size_bytes=int(data.get("size_bytes") or 0),
            width=int(data.get("width") or 0),
            height=int(data.get("height") or 0),
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, newest first; pass `next_cursor` as `cursor` for the next."""

    data: list[T]
    has_more: bool
    next_cursor: str | None

    @classmethod
    def from_dict(cls, data: dict[str, Any], item: Callable[[dict[str, Any]], T]) -> Page[T]:
        return cls(
            data=[item(x) for x in data.get("data") or []],
            has_more=bool(data.get("has_more")),
            next_cursor=data.get("next_cursor"),
        )

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

"""The HTTP API's request and response schemas; the completion options are generated from the
typed configs (CompletionConfig, RunConfig), so their defaults and descriptions are written once."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from ganfill.config import CompletionConfig, OutputConfig, RunConfig, field_docs

RUN_FIELDS = ("samples", "seed")
MASK_DOC = (
    "mask image of the photo's size, white (>= 128) = to fill; or a mask kind's name (eyes, mouth,"
    " center, ...: with align drawn in every face's frame); or give box instead"
)


def _fields(cls: type, names: tuple[str, ...] | None = None) -> dict[str, Any]:
    """pydantic field definitions (type, Field(default, description)) of a config dataclass."""
    hints, docs = typing.get_type_hints(cls), field_docs(cls)
    return {
        f.name: (hints[f.name], Field(f.default, description=docs.get(f.name, "")))
        for f in dataclasses.fields(cls)
        if names is None or f.name in names
    }


class _Request(BaseModel):
    """What a request adds to the completion settings."""

    model_config = ConfigDict(extra="forbid")  # a misspelt option is an error, not a silent default

    align: bool = Field(
        True, description="find the face in a photo; off: the image is an aligned face at the model's size"
    )
    format: Literal["png", "json"] = Field("png", description="png: the best completion; json: all, base64")


Options = create_model(
    "Options",
    __base__=_Request,
    __doc__="Completion options of a request: every CompletionConfig field, samples, seed and box.",
    **_fields(CompletionConfig),
    **_fields(RunConfig, RUN_FIELDS),
    **_fields(OutputConfig, ("box",)),
)


class CompleteJSON(Options):  # type: ignore[misc, valid-type]
    """The JSON form of a completion request."""

    image: str = Field(description="the photo, base64 (a data: URL prefix is allowed)")
    mask: str | None = Field(None, description=f"{MASK_DOC} (a file as base64)")


def split_options(options: BaseModel) -> tuple[CompletionConfig, RunConfig]:
    """The typed configs of a request's options (they validate the values: ConfigError)."""
    values = options.model_dump()
    config = CompletionConfig(**{f.name: values[f.name] for f in dataclasses.fields(CompletionConfig)})
    return config, RunConfig(**{k: values[k] for k in RUN_FIELDS})


class CompleteResult(BaseModel):
    """The JSON answer of a completion."""

    images: list[str] = Field(description="PNG data URLs, best first")
    width: int
    height: int
    seed: int
    timings: dict[str, float] = Field(description="queued_s, search_s, total_s")


class JobCreated(BaseModel):
    id: str
    status_url: str
    events_url: str
    result_url: str


class JobState(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    progress: float
    iteration: int
    iterations: int
    error: str | None


class Face(BaseModel):
    box: list[int] = Field(description="left, top, right, bottom in photo pixels (EXIF-upright)")
    landmarks: list[list[float]] = Field(description="dlib's 68 points")


class Detection(BaseModel):
    width: int
    height: int
    faces: list[Face]


def upload_doc() -> dict[str, Any]:
    """The OpenAPI request body of the completion routes (multipart or JSON)."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["image"],
                        "properties": {
                            "image": {"type": "string", "format": "binary"},
                            "mask": {"type": "string", "format": "binary", "description": MASK_DOC},
                            **Options.model_json_schema()["properties"],
                        },
                    }
                },
                "application/json": {"schema": CompleteJSON.model_json_schema()},
            },
        }
    }


RESULT_DOC = {
    200: {"content": {"image/png": {}, "application/json": {"schema": CompleteResult.model_json_schema()}}}
}

"""The HTTP API and web page of `ganfill serve`: a thin layer over Completer."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from PIL import Image, ImageOps, UnidentifiedImageError
from pydantic import BaseModel, Field, ValidationError

from ganfill.alignment import AlignmentError
from ganfill.completion import Completer
from ganfill.config import CompletionConfig
from ganfill.server.jobs import Job, JobQueue, QueueFull

STATIC = Path(__file__).parent / "static"
ALLOWED_FORMATS = {"PNG", "JPEG", "WEBP", "BMP"}


class Options(BaseModel):
    """Completion options of a request."""

    iters: int | None = Field(
        None,
        ge=1,
        le=5000,
        description="search steps; default 100 from the encoder's start (10 on a half-face hole), "
        "1500 from random",
    )
    restarts: int = Field(1, ge=1, le=16, description="starts per face; the best is kept")
    samples: int = Field(1, ge=1, le=8, description="distinct completions returned, best first")
    blend: Literal["poisson", "none"] = "poisson"
    seed: int = Field(0, ge=0, le=2**31 - 1)
    align: bool = Field(
        True, description="find the face in a photo; off: the image is an aligned face at the model's size"
    )
    format: Literal["png", "json"] = Field("png", description="png: the best completion; json: all, base64")


class CompleteJSON(Options):
    """The JSON form of a completion request."""

    image: str = Field(description="the photo, base64 (a data: URL prefix is allowed)")
    mask: str = Field(description="mask image of the same size, base64; white (>= 128) = to fill")


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


class ApiError(HTTPException):
    """A client error answered as JSON {"error": ...}."""


@dataclass
class Limits:
    """What a request may carry."""

    max_upload_bytes: int = 10 * 2**20
    max_pixels: int = 25_000_000


def _error(status: int, message: str, **headers: str) -> ApiError:
    return ApiError(status_code=status, detail=message, headers=headers or None)


def decode_image(data: bytes, what: str, limits: Limits) -> Image.Image:
    """An uploaded image checked by content: a known format, not too many pixels."""
    try:
        im = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError):
        raise _error(415, f"{what}: not an image (PNG, JPEG, WebP or BMP)") from None
    if im.format not in ALLOWED_FORMATS:
        raise _error(415, f"{what}: {im.format} images are not accepted (PNG, JPEG, WebP or BMP)")
    if im.width * im.height > limits.max_pixels:
        raise _error(413, f"{what}: {im.width}x{im.height} is more than {limits.max_pixels} pixels")
    try:
        im.load()
    except (OSError, Image.DecompressionBombError):
        raise _error(415, f"{what}: the image data is broken") from None
    return im


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.split(",", 1)[1] if text.startswith("data:") else text, validate=True)
    except ValueError:
        raise _error(400, f"{what}: not valid base64") from None


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", exif=image.info.get("exif", b""))
    return buf.getvalue()


def create_app(
    completer: Completer, *, max_concurrent: int = 1, max_waiting: int = 4, limits: Limits | None = None
) -> FastAPI:
    """The FastAPI app: JSON API under /api/v1, the page at /."""
    limits = limits or Limits()
    queue = JobQueue(max_concurrent, max_waiting)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        queue.shutdown()  # cancel what is still queued or running

    app = FastAPI(
        title="ganfill",
        version="1",
        lifespan=lifespan,
        description="Face completion by latent search in a DCGAN (Yeh et al. 2017). Masks: white = to fill.",
    )
    app.state.queue = queue

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    async def read_request(request: Request) -> tuple[Image.Image, np.ndarray, Options]:
        """Image, known mask and options from a multipart form or a JSON body, within the limits."""
        declared = int(request.headers.get("content-length") or 0)
        if declared > limits.max_upload_bytes:
            raise _error(413, f"request is {declared} bytes; the limit is {limits.max_upload_bytes}")
        body = await request.body()
        if len(body) > limits.max_upload_bytes:
            raise _error(413, f"request is {len(body)} bytes; the limit is {limits.max_upload_bytes}")
        kind = request.headers.get("content-type", "")
        try:
            if kind.startswith("application/json"):
                data = CompleteJSON.model_validate_json(body)
                image_bytes, mask_bytes = _b64(data.image, "image"), _b64(data.mask, "mask")
                options = Options(**data.model_dump(exclude={"image", "mask"}))
            elif kind.startswith("multipart/form-data"):
                form = await request.form()
                files = {k: form.get(k) for k in ("image", "mask")}
                missing = [k for k, v in files.items() if v is None or isinstance(v, str)]
                if missing:
                    raise _error(400, f"missing file field(s): {', '.join(missing)}")
                image_bytes, mask_bytes = await files["image"].read(), await files["mask"].read()
                options = Options(**{k: v for k, v in form.items() if k in Options.model_fields})
            else:
                raise _error(415, "send multipart/form-data (image, mask, options) or application/json")
        except ValidationError as exc:
            first = exc.errors()[0]
            raise _error(422, f"{'.'.join(map(str, first['loc'])) or 'body'}: {first['msg']}") from None
        image = decode_image(image_bytes, "image", limits)
        mask_image = decode_image(mask_bytes, "mask", limits)
        upright = ImageOps.exif_transpose(image)
        mask = np.asarray(ImageOps.exif_transpose(mask_image).convert("L"))
        if mask.shape != (upright.height, upright.width):
            raise _error(
                422, f"mask is {mask.shape[1]}x{mask.shape[0]}, the image is {upright.width}x{upright.height}"
            )
        known = (mask < 128).astype(np.float32)
        if known.all():
            raise _error(422, "mask marks nothing to fill (white = fill)")
        if not options.align and upright.size != (completer.size, completer.size):
            raise _error(
                422, f"with align off the image must be an aligned {completer.size}x{completer.size} face"
            )
        return image, known, options

    def work(image: Image.Image, known: np.ndarray, options: Options):
        def run(job: Job) -> dict[str, Any]:
            start = time.monotonic()
            common = dict(
                iters=options.iters, restarts=max(options.restarts, options.samples), blend=options.blend
            )
            try:
                if options.align:
                    done = completer.complete_photo(
                        image, known, seed=options.seed, samples=options.samples, on_step=job.step, **common
                    )
                    pictures = done.images
                else:
                    rgb = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
                    done = completer.complete(
                        rgb, known, seed=options.seed, samples=options.samples, on_step=job.step, **common
                    )
                    pictures = [Image.fromarray(a) for a in done.alternatives[0]]
            except (AlignmentError, ValueError) as exc:
                job.error_status = 422
                raise ValueError(str(exc)) from None
            return {"pictures": pictures, "search_s": time.monotonic() - start, "seed": options.seed}

        return run

    def submit(image, known, options) -> Job:
        try:
            total = completer.resolve(CompletionConfig(iters=options.iters)).iters
            return queue.submit(work(image, known, options), total)
        except QueueFull:
            raise _error(503, "the server is busy; try again shortly", **{"Retry-After": "10"}) from None

    def answer(job: Job, options: Options, sample: int = 0) -> Response:
        if job.status == "failed":
            raise _error(getattr(job, "error_status", 500), job.error or "failed")
        if job.status == "cancelled":
            raise _error(409, "the job was cancelled")
        if job.status != "done":
            raise _error(409, f"the job is {job.status}")
        res = job.result
        pictures = res["pictures"]
        if options.format == "png":
            if not 0 <= sample < len(pictures):
                raise _error(404, f"no sample {sample}; the job made {len(pictures)}")
            return Response(_png(pictures[sample]), media_type="image/png")
        payload = CompleteResult(
            images=["data:image/png;base64," + base64.b64encode(_png(p)).decode() for p in pictures],
            width=pictures[0].width,
            height=pictures[0].height,
            seed=res["seed"],
            timings={
                "queued_s": round(job.started - job.created, 3),
                "search_s": round(res["search_s"], 3),
                "total_s": round(job.finished - job.created, 3),
            },
        )
        return JSONResponse(payload.model_dump())

    body_doc = {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["image", "mask"],
                        "properties": {
                            "image": {"type": "string", "format": "binary"},
                            "mask": {"type": "string", "format": "binary", "description": "white = fill"},
                            **Options.model_json_schema()["properties"],
                        },
                    }
                },
                "application/json": {"schema": CompleteJSON.model_json_schema()},
            },
        }
    }

    @app.get("/api/v1/health")
    def health() -> dict[str, Any]:
        """Liveness and the queue's state."""
        return {"status": "ok", **queue.counts()}

    @app.get("/api/v1/model")
    def model_info() -> dict[str, Any]:
        """The loaded model: its configuration, training provenance and size."""
        m = completer.model
        params = sum(p.numel() for p in m.generator.parameters()) + sum(
            p.numel() for p in m.discriminator.parameters()
        )
        return {
            "config": m.config.to_dict(),
            "info": m.info,
            "parameters": params,
            "image_size": completer.size,
        }

    @app.post("/api/v1/detect", response_model=Detection, openapi_extra=body_doc)
    async def detect(request: Request) -> Detection:
        """The faces dlib finds in an uploaded photo (multipart field `image`)."""
        form = await request.form()
        upload = form.get("image")
        if upload is None or isinstance(upload, str):
            raise _error(400, "missing file field: image")
        data = await upload.read()
        if len(data) > limits.max_upload_bytes:
            raise _error(413, f"image is {len(data)} bytes; the limit is {limits.max_upload_bytes}")
        rgb = np.asarray(ImageOps.exif_transpose(decode_image(data, "image", limits)).convert("RGB"))
        faces = await asyncio.to_thread(completer.aligner().detect, rgb)
        return Detection(
            width=rgb.shape[1],
            height=rgb.shape[0],
            faces=[Face(box=list(f.box), landmarks=f.landmarks.round(1).tolist()) for f in faces],
        )

    @app.post(
        "/api/v1/complete",
        openapi_extra=body_doc,
        responses={
            200: {
                "content": {
                    "image/png": {},
                    "application/json": {"schema": CompleteResult.model_json_schema()},
                }
            }
        },
    )
    async def complete(request: Request) -> Response:
        """Complete and wait: the best completion as PNG (format=png) or all of them as JSON."""
        image, known, options = await read_request(request)
        job = submit(image, known, options)
        try:
            await asyncio.wrap_future(job.future)
        except asyncio.CancelledError:  # the client went away
            queue.cancel(job.id)
            raise
        return answer(job, options)

    @app.post("/api/v1/jobs", status_code=202, response_model=JobCreated, openapi_extra=body_doc)
    async def create_job(request: Request) -> JobCreated:
        """Start a completion and return at once; follow it with events_url, fetch result_url."""
        image, known, options = await read_request(request)
        job = submit(image, known, options)
        job.options = options
        base = f"/api/v1/jobs/{job.id}"
        return JobCreated(
            id=job.id, status_url=base, events_url=f"{base}/events", result_url=f"{base}/result"
        )

    def find(job_id: str) -> Job:
        job = queue.jobs.get(job_id)
        if job is None:
            raise _error(404, f"no job {job_id}")
        return job

    @app.get("/api/v1/jobs/{job_id}", response_model=JobState)
    def job_state(job_id: str) -> dict[str, Any]:
        """A job's status and progress."""
        return find(job_id).view()

    @app.get("/api/v1/jobs/{job_id}/events", responses={200: {"content": {"text/event-stream": {}}}})
    async def job_events(job_id: str) -> StreamingResponse:
        """Server-sent events: the job's state at each change, until it ends."""
        job = find(job_id)

        def wait() -> None:
            with job.changed:
                job.changed.wait(timeout=1.0)

        async def stream() -> AsyncIterator[str]:
            last = None
            while True:
                state = job.view()
                if state != last:
                    yield f"data: {json.dumps(state)}\n\n"
                    last = state
                if state["status"] in ("done", "failed", "cancelled"):
                    return
                await asyncio.to_thread(wait)

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    @app.get(
        "/api/v1/jobs/{job_id}/result",
        responses={
            200: {
                "content": {
                    "image/png": {},
                    "application/json": {"schema": CompleteResult.model_json_schema()},
                }
            }
        },
    )
    def job_result(job_id: str, sample: int = 0, format: Literal["png", "json"] | None = None) -> Response:
        """A finished job's completion: sample k as PNG, or all as JSON."""
        job = find(job_id)
        options = job.options.model_copy(update={"format": format}) if format else job.options
        return answer(job, options, sample)

    @app.delete("/api/v1/jobs/{job_id}", response_model=JobState)
    def cancel_job(job_id: str) -> dict[str, Any]:
        """Cancel a queued or running job."""
        queue.cancel(job_id)
        return find(job_id).view()

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app

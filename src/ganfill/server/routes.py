"""The HTTP routes: each a few lines over the Completer, the job queue and the upload checks."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from PIL import Image

from ganfill.completion import Completer
from ganfill.config import ServeConfig
from ganfill.errors import UserError
from ganfill.images import carried, known_to_mask_image, upright
from ganfill.server.jobs import Job, JobQueue, QueueFull
from ganfill.server.schemas import (
    RESULT_DOC,
    CompleteResult,
    Detection,
    Face,
    JobCreated,
    JobState,
    upload_doc,
)
from ganfill.server.uploads import Upload, decode_image, error, read_body, read_upload

router = APIRouter(prefix="/api/v1")


@dataclass
class Service:
    """What the routes share: the model, the queue and the limits."""

    completer: Completer
    queue: JobQueue
    limits: ServeConfig


def service(request: Request) -> Service:
    """The app's Service (the routes' shared model, queue and limits)."""
    return request.app.state.service


def _png(image: Image.Image) -> bytes:
    """The picture as PNG bytes, fast to write (zlib level 1: a few times faster than PIL's default
    on a large photo, for files a little larger)."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1, **carried(image))
    return buf.getvalue()


def _work(completer: Completer, upload: Upload) -> Callable[[Job], dict[str, Any]]:
    """The job body: complete the photo (or aligned face) and keep the pictures as PNG bytes
    (encoded here, off the event loop; a fraction of the decoded pictures' memory)."""

    def run(job: Job) -> dict[str, Any]:
        start = time.monotonic()
        common = dict(seed=upload.run.seed, samples=upload.run.samples, on_step=job.step, on_plan=job.plan)
        try:
            if upload.options.align:
                done = completer.complete_photo(upload.image, upload.known, upload.config, **common)
                pictures = done.images
            else:
                rgb = np.asarray(upright(upload.image).convert("RGB"))
                done = completer.complete(rgb, upload.known, upload.config, **common)
                pictures = [Image.fromarray(a) for a in done.alternatives[0]]
        except UserError as exc:
            job.error_status = 422
            raise RuntimeError(str(exc)) from None
        search_s = time.monotonic() - start
        size = pictures[0].size
        return {
            "pngs": [_png(p) for p in pictures],
            "size": size,
            "search_s": search_s,
            "seed": upload.run.seed,
        }

    return run


def _submit(svc: Service, upload: Upload) -> Job:
    try:
        return svc.queue.submit(_work(svc.completer, upload), total=upload.config.iters or 0)
    except QueueFull:
        raise error(503, "the server is busy; try again shortly", **{"Retry-After": "10"}) from None


def _answer(job: Job, form: str, sample: int = 0) -> Response:
    """A finished job's pictures: sample k as PNG, or all as JSON."""
    if job.status == "failed":
        raise error(job.error_status, job.error or "failed")
    if job.status != "done":
        raise error(409, f"the job is {job.status}")
    pngs = job.result["pngs"]
    if form == "png":
        if not 0 <= sample < len(pngs):
            raise error(404, f"no sample {sample}; the job made {len(pngs)}")
        return Response(pngs[sample], media_type="image/png")
    width, height = job.result["size"]
    payload = CompleteResult(
        images=["data:image/png;base64," + base64.b64encode(png).decode() for png in pngs],
        width=width,
        height=height,
        seed=job.result["seed"],
        timings={
            "queued_s": round(job.started - job.created, 3),
            "search_s": round(job.result["search_s"], 3),
            "total_s": round(job.finished - job.created, 3),
        },
    )
    return JSONResponse(payload.model_dump())


@router.get("/health")
def health(request: Request) -> dict[str, Any]:
    """Liveness and the queue's state."""
    return {"status": "ok", **service(request).queue.counts()}


@router.get("/model")
def model_info(request: Request) -> dict[str, Any]:
    """The loaded model: its configuration, training provenance and size."""
    completer = service(request).completer
    m = completer.model
    params = sum(p.numel() for net in (m.generator, m.discriminator) for p in net.parameters())
    return {"config": m.config.to_dict(), "info": m.info, "parameters": params, "image_size": completer.size}


@router.post("/detect", response_model=Detection, openapi_extra=upload_doc())
async def detect(request: Request) -> Detection:
    """The faces dlib finds in an uploaded photo (multipart field `image`)."""
    svc = service(request)
    await read_body(request, int(svc.limits.max_upload_mb * 2**20))
    upload = (await request.form()).get("image")
    if upload is None or isinstance(upload, str):
        raise error(400, "missing file field: image")
    rgb = np.asarray(upright(decode_image(await upload.read(), "image", svc.limits)).convert("RGB"))
    faces = await asyncio.to_thread(svc.completer.aligner().detect, rgb)
    return Detection(
        width=rgb.shape[1],
        height=rgb.shape[0],
        faces=[Face(box=list(f.box), landmarks=f.landmarks.round(1).tolist()) for f in faces],
    )


@router.post(
    "/mask",
    openapi_extra=upload_doc(),
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
async def mask(request: Request) -> Response:
    """The mask a completion with the same request fills, as a mask file (white = to fill): a kind
    drawn in every face's frame, a grown hole; what the page's presets paint."""
    svc = service(request)
    upload = await read_upload(request, svc.limits, svc.completer.size)
    args = dict(align=upload.options.align, dilate=upload.config.dilate, seed=upload.run.seed)
    try:
        known = await asyncio.to_thread(svc.completer.known_mask, upload.image, upload.known, **args)
    except UserError as exc:
        raise error(422, str(exc)) from None
    return Response(_png(known_to_mask_image(known)), media_type="image/png")


@router.post("/complete", openapi_extra=upload_doc(), responses=RESULT_DOC)
async def complete(request: Request) -> Response:
    """Complete and wait: the best completion as PNG (format=png) or all of them as JSON."""
    svc = service(request)
    upload = await read_upload(request, svc.limits, svc.completer.size)
    job = _submit(svc, upload)
    try:
        await asyncio.wrap_future(job.future)
    except asyncio.CancelledError:  # the client went away
        svc.queue.cancel(job.id)
        raise
    try:
        return _answer(job, upload.options.format)
    finally:
        svc.queue.forget(job.id)  # nobody holds this job's id: keep nothing


@router.post("/jobs", status_code=202, response_model=JobCreated, openapi_extra=upload_doc())
async def create_job(request: Request) -> JobCreated:
    """Start a completion and return at once; follow it with events_url, fetch result_url."""
    svc = service(request)
    upload = await read_upload(request, svc.limits, svc.completer.size)
    job = _submit(svc, upload)
    job.options = upload.options
    base = f"/api/v1/jobs/{job.id}"
    return JobCreated(id=job.id, status_url=base, events_url=f"{base}/events", result_url=f"{base}/result")


def _find(request: Request, job_id: str) -> Job:
    job = service(request).queue.jobs.get(job_id)
    if job is None:
        raise error(404, f"no job {job_id} (finished jobs are kept for a short while)")
    return job


@router.get("/jobs/{job_id}", response_model=JobState)
def job_state(request: Request, job_id: str) -> dict[str, Any]:
    """A job's status and progress."""
    return _find(request, job_id).view()


@router.get("/jobs/{job_id}/events", responses={200: {"content": {"text/event-stream": {}}}})
async def job_events(request: Request, job_id: str) -> StreamingResponse:
    """Server-sent events: the job's state at each change, until it ends."""
    job = _find(request, job_id)

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

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


@router.get("/jobs/{job_id}/result", responses=RESULT_DOC)
def job_result(
    request: Request, job_id: str, sample: int = 0, format: Literal["png", "json"] | None = None
) -> Response:
    """A finished job's completion: sample k as PNG, or all as JSON."""
    job = _find(request, job_id)
    return _answer(job, format or job.options.format, sample)


@router.delete("/jobs/{job_id}", response_model=JobState)
def cancel_job(request: Request, job_id: str) -> dict[str, Any]:
    """Cancel a queued or running job."""
    service(request).queue.cancel(job_id)
    return _find(request, job_id).view()

"""`ganfill serve`: the FastAPI app (routes.py under /api/v1, the page at /) and its server."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from ganfill.completion import Completer
from ganfill.config import ServeConfig
from ganfill.errors import UserError, warnings_as_lines
from ganfill.server.jobs import JobQueue
from ganfill.server.routes import Service, router
from ganfill.server.uploads import ApiError

STATIC = Path(__file__).parent / "static"


def create_app(completer: Completer, config: ServeConfig | None = None) -> FastAPI:
    """The FastAPI app: JSON API under /api/v1, the page at /."""
    config = config or ServeConfig()
    queue = JobQueue(config.max_concurrent, config.max_queue)

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
    app.state.service = Service(completer, queue, config)
    app.state.queue = queue
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(router)
    app.add_api_route("/", _page, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's own 422s in the documented {"error": ...} form."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body"))
    return JSONResponse({"error": f"{where or 'request'}: {first.get('msg', 'invalid')}"}, status_code=422)


def _page() -> FileResponse:
    return FileResponse(STATIC / "index.html")


def _listening(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, or a one-line error saying why not (the port in use, a
    privileged port, an unknown host) before anything says the server is up."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise UserError(f"{host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise UserError(f"{host}:{port}: {exc.strerror or exc} (another server there? --port)") from None
    return sock


def serve(completer: Completer, config: ServeConfig | None = None) -> None:
    """Serve the app with uvicorn until interrupted."""
    import uvicorn

    config = config or ServeConfig()
    sock = _listening(config.host, config.port)
    print(f"ganfill serving on http://{config.host}:{config.port}/ (API docs at /docs)")
    server = uvicorn.Server(uvicorn.Config(create_app(completer, config), log_level="warning"))
    with warnings_as_lines("ganfill serve"), sock:
        server.run(sockets=[sock])

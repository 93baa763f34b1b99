"""The HTTP API over one CaptionService: IBM MAX's contract, kept exactly, and a native endpoint.

    POST /model/predict   MAX: form field `image` -> {"status": "ok", "predictions": [...]}
    GET  /model/metadata  MAX: the model actually loaded
    POST /v1/captions     native: several `images`, decode settings, per-word probabilities
    GET  /health, /ready  alive; loaded and warm
    GET  /                interactive docs (/openapi.json beside them)

Errors are {"message": one line} with their status: 400 (a missing field, a wrong type, bytes that
do not decode, bad settings), 401 (the bearer token), 413 (over the size limit), 503 with
Retry-After (the queue is full, the model is loading). Nothing here fetches a URL.
"""

from __future__ import annotations

import os
import secrets
import socket
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from im2txt.config import DecodeConfig
from im2txt.queue_values import Cancelled, QueueFull
from im2txt.results import ImageCaptions
from im2txt.serve.service import CaptionService, NotReady, retry_after
from im2txt.serve.settings import ServeSettings

# MAX's decoding: the original run_inference.py's (beam 3, at most 20 tokens, raw probability).
MAX_DECODE = DecodeConfig(beam_size=3, max_caption_length=20, length_normalization_factor=0.0)
# Every response names the process that answered (host:pid): which replica, behind Ray Serve.
WORKER_HEADER = "X-Im2txt-Worker"
# A refused body is read (and dropped) up to this many times the limit, then the connection closed.
DRAIN_FACTOR = 4


class MaxPrediction(BaseModel):
    index: str
    caption: str
    probability: float


class MaxResponse(BaseModel):
    status: str
    predictions: list[MaxPrediction]


class MaxMetadata(BaseModel):
    id: str
    name: str
    description: str
    type: str
    source: str
    license: str


class Message(BaseModel):
    message: str


class ApiError(Exception):
    """An answer other than 200: its status, one line, and headers (Retry-After)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def create_app(service: CaptionService) -> FastAPI:
    """The application; its lifespan starts loading the model (in a thread: /health answers at
    once, /ready once the model is warm) and closes the queue at the end."""
    settings = service.settings

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        service.start_in_background()
        yield
        service.close()

    app = FastAPI(
        title="im2txt",
        description="Google's im2txt (Show and Tell) captioner. `POST /model/predict` is IBM "
        "MAX's Image Caption Generator API, unchanged; `POST /v1/captions` is the native one.",
        docs_url="/",
        redoc_url=None,
        lifespan=lifespan,
        responses={400: {"model": Message}, 401: {"model": Message}, 413: {"model": Message},
                   503: {"model": Message}},
    )  # fmt: skip
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    worker = f"{socket.gethostname()}:{os.getpid()}"

    @app.middleware("http")
    async def name_the_worker(request: Request, call_next):
        response = await call_next(request)
        response.headers[WORKER_HEADER] = worker
        return response

    _add_error_handlers(app)
    authorised = [Depends(_token_check(settings))]

    @app.get("/health", tags=["service"], response_model=Message)
    async def health():
        """The process is up (the model may still be loading)."""
        return {"message": "ok"}

    @app.get("/ready", tags=["service"], response_model=Message)
    async def ready():
        """200 once the model is loaded and warm; 503 until then, or naming why it failed."""
        if not service.ready:
            raise ApiError(503, service.problem or "not ready", _retry())
        return {"message": "ready"}

    @app.get("/model/metadata", tags=["MAX"], response_model=MaxMetadata, dependencies=authorised)
    async def metadata():
        """The model loaded: its name, description, source and licence."""
        return service.metadata()

    @app.post("/model/predict", tags=["MAX"], response_model=MaxResponse, dependencies=authorised)
    async def predict(
        image: Annotated[UploadFile, File(description="An image file: JPEG, PNG, WebP, …")],
    ):
        """MAX's prediction: up to 3 captions best first (beam 3, at most 20 tokens), each with
        its probability, the end token's included."""
        result = (await service.caption([await _read(image)], decode=MAX_DECODE))[0]
        if result.error:
            raise ApiError(400, result.error)
        predictions = [
            {"index": str(i), "caption": c.text, "probability": c.probability}
            for i, c in enumerate(result.captions)
        ]
        return {"status": "ok", "predictions": predictions}

    @app.post("/v1/captions", tags=["native"], dependencies=authorised)
    async def captions(
        images: Annotated[list[UploadFile], File(description="One or more image files")],
        beam_size: Annotated[int, Form()] = MAX_DECODE.beam_size,
        max_caption_length: Annotated[int, Form()] = MAX_DECODE.max_caption_length,
        length_normalization_factor: Annotated[float, Form()] = 0.0,
    ) -> list[dict]:
        """`caption --json`'s array, one object per image in order, each caption with its words
        and their probabilities; a bad image is an object with an `error` (the others are still
        captioned)."""
        if len(images) > settings.max_images:
            raise ApiError(400, f"{len(images)} images: at most {settings.max_images} a request")
        try:
            decode = DecodeConfig(beam_size, max_caption_length, length_normalization_factor)
        except ValueError as e:
            raise ApiError(400, str(e)) from None
        results = await service.caption([await _read(image) for image in images], decode=decode)
        return [native_json(result) for result in results]

    return app


def app_from_environment() -> FastAPI:
    """The app for each process of `serve --workers N` (uvicorn's factory): settings from
    IM2TXT_SERVE_SETTINGS, which the command sets. The model is loaded here, before the process
    accepts connections from the shared socket: a request waits for a worker that is ready
    instead of a 503 from one still loading."""
    settings = ServeSettings.from_json(os.environ.get("IM2TXT_SERVE_SETTINGS", "{}"))
    service = CaptionService(settings)
    service.start()
    return create_app(service)


def native_json(result: ImageCaptions) -> dict:
    """caption --json's object for one image, each caption with its words' probabilities."""
    payload = result.to_dict()
    for caption, out in zip(result.captions, payload.get("captions", []), strict=True):
        out["words"] = list(caption.words)
        out["word_probabilities"] = list(caption.word_probabilities)
        out["end_probability"] = caption.end_probability
    return payload


async def _read(upload: UploadFile) -> tuple[str, bytes]:
    return upload.filename or "image", await upload.read()


def _token_check(settings: ServeSettings):
    async def check(request: Request) -> None:
        if settings.token is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            token.strip().encode(), settings.token.encode()
        ):
            raise ApiError(401, "a bearer token is needed: Authorization: Bearer <token>",
                           {"WWW-Authenticate": "Bearer"})  # fmt: skip

    return check


def _add_error_handlers(app: FastAPI) -> None:
    def answer(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"message": message}, status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, e: ApiError):
        return answer(e.status, e.message, e.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, e: RequestValidationError):
        return answer(400, _validation_line(e))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, e: HTTPException):
        return answer(e.status_code, str(e.detail), getattr(e, "headers", None))

    @app.exception_handler(QueueFull)
    async def full(_: Request, e: QueueFull):
        return answer(503, str(e), _retry(e))

    @app.exception_handler(NotReady)
    async def not_ready(_: Request, e: NotReady):
        return answer(503, str(e), _retry())

    @app.exception_handler(Cancelled)
    async def stopping(_: Request, e: Cancelled):
        return answer(503, f"the server is stopping ({e})", _retry())


def _retry(full: QueueFull | None = None) -> dict[str, str]:
    return {"Retry-After": str(retry_after(full))}


def _validation_line(error: RequestValidationError) -> str:
    """FastAPI's validation errors as one line: which field, and what is wrong with it."""
    lines = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem.get("loc", ()) if part != "body")
        if problem.get("type") == "missing":
            lines.append(f"the form field {field!r} is missing")
        elif field in ("image", "images"):
            lines.append(f"the form field {field!r} must be a file (multipart/form-data)")
        else:
            lines.append(f"{field}: {problem.get('msg', 'not valid')}")
    return "; ".join(dict.fromkeys(lines)) or "the request is not valid"


class BodyLimit:
    """413 for a request body over `limit` bytes: at once from its Content-Length, or as soon as
    a body sent without one goes past it (the rest is never read)."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._drain(receive, 0)
            await self._refuse(scope, send)
            return
        received, answered, refused = 0, False, False

        async def counting_receive():
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    if message.get("more_body"):
                        await self._drain(receive, received)
                    if not answered:
                        refused = True
                        await self._refuse(scope, send)
                    return {"type": "http.disconnect"}
            return message

        async def watching_send(message) -> None:
            nonlocal answered
            if refused:
                return  # the app's own answer to a body cut short: the 413 is already sent
            answered = True
            await send(message)

        await self.app(scope, counting_receive, watching_send)

    async def _drain(self, receive, received: int) -> None:
        """Read the rest of a refused body before answering, keeping none of it: a client that
        sends its whole body before it reads the answer (most do) gets the 413 rather than a
        reset connection. Up to DRAIN_FACTOR times the limit; past that, the answer goes at
        once and the connection is dropped."""
        while received <= DRAIN_FACTOR * self.limit:
            message = await receive()
            if message["type"] != "http.request":
                return
            received += len(message.get("body", b""))
            if not message.get("more_body"):
                return

    async def _refuse(self, scope, send) -> None:
        response = JSONResponse(
            {"message": f"the request is larger than this server's limit of "
                        f"{self.limit / 2**20:.0f} MB"},
            status_code=413,
        )  # fmt: skip
        await response(scope, _no_receive, send)


async def _no_receive():
    return {"type": "http.disconnect"}

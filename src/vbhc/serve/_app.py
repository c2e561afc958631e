"""The FastAPI application: API under ``/v1``, health, API docs and the clinicians' page."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPBearer
from fastapi.staticfiles import StaticFiles
from starlette.middleware.cors import CORSMiddleware

from vbhc import __version__
from vbhc.core.log import get_logger
from vbhc.serve._batching import MicroBatcher
from vbhc.serve._middleware import BearerAuth, BodyLimit, RequestContext
from vbhc.serve._page import LANGUAGES, render_docs, render_index
from vbhc.serve._request import PredictionRequest, field_messages
from vbhc.serve._response import (
    Health,
    ModelsResponse,
    PredictionResponse,
    Problem,
    ValidationProblem,
)
from vbhc.serve._service import PredictionService, RequestProblem
from vbhc.serve._settings import ServeSettings

STATIC_DIR = Path(__file__).with_name("static")
log = get_logger("vbhc.serve")

_DESCRIPTION = """\
Clinical decision support for primary hip and knee replacement: what this patient can
expect at 12 months (Oxford score with a 90 % interval, chance of a meaningful
improvement), the risks of complication, readmission, reoperation and death, length of
stay, cost and return to work, beside a typical patient of the same joint, with the
factors that move the prediction.

Every `/v1` call needs `Authorization: Bearer <token>`.  Invalid input gets a 422 with
one message per field.  The clinicians' page is at `/`.
"""


def create_app(service: PredictionService, *, token: str, settings: ServeSettings | None = None) -> FastAPI:
    """The decision-support application over loaded models (no I/O beyond serving)."""
    settings = settings or ServeSettings()
    batcher: MicroBatcher = MicroBatcher(service.predict, max_batch=settings.max_batch)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await batcher.start()
        log.info("serving %d models (model set %s)", len(service.models), service.model_set)
        for m in service.summaries():  # names, versions and training periods only: no patient data
            log.info(
                "model %s@%s: trained on operations %d-%d, test year %s",
                m.name, m.version, m.training_years[0], m.training_years[1], m.test_year,
            )
        try:
            yield
        finally:
            await batcher.stop()

    app = FastAPI(
        title="vbhc decision support",
        version=__version__,
        description=_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    bearer = HTTPBearer(auto_error=False, description="The service's API token (VBHC_API_TOKEN or token file).")
    # The token is checked by BearerAuth before the body is read; this dependency
    # only documents the requirement in the OpenAPI schema.
    v1 = APIRouter(prefix="/v1", dependencies=[Security(bearer)], responses={401: {"model": Problem}})

    @v1.post(
        "/predictions",
        response_model=PredictionResponse,
        summary="Predict every outcome for one patient",
        responses={
            400: {"model": Problem, "description": "Body that cannot be read (not UTF-8, bad Content-Length)."},
            413: {"model": Problem, "description": "Request body too large."},
            422: {"model": ValidationProblem, "description": "Invalid input: one message per field."},
        },
    )
    async def predictions(body: PredictionRequest, request: Request) -> Response:
        """Expected 12-month Oxford score with its 90 % interval, chance of meaningful
        improvement, risks and costs, each beside a typical patient of the same joint,
        with the top factors, the model versions and training period, the imputed fields
        and cautions when the patient lies outside the training data."""
        patient = service.prepare(body)
        outcomes = await batcher.submit(patient)
        answer = {  # the PredictionResponse shape, assembled from validated parts
            "request_id": request.state.request_id,
            "joint": patient.joint,
            "pre_op": patient.pre_op.model_dump(mode="json"),
            "outcomes": outcomes,
            "typical_patient": service.typical_profile(patient.joint, patient.row["operation_year"]),
            "imputed": [i.model_dump(mode="json") for i in patient.imputed],
            "cautions": [c.model_dump(mode="json") for c in patient.cautions],
            "model_set": service.model_set,
        }
        text = json.dumps(answer, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
        return Response(text.encode("utf-8"), media_type="application/json")

    @v1.get("/models", response_model=ModelsResponse, summary="The loaded models")
    async def models() -> ModelsResponse:
        """Names, versions, training period and test-year performance of the loaded models."""
        return ModelsResponse(model_set=service.model_set, models=service.summaries())

    app.include_router(v1)

    @app.get("/health", response_model=Health, summary="Liveness and loaded models")
    async def health() -> Health:
        return Health(status="ok", models=len(service.models), model_set=service.model_set, version=__version__)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index(lang: str | None = None) -> HTMLResponse:
        return HTMLResponse(render_index(service, lang if lang in LANGUAGES else None))

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(render_docs(app.openapi()))

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": field_messages(list(exc.errors()))}, status_code=422)

    @app.exception_handler(RequestProblem)
    async def unscorable(request: Request, exc: RequestProblem) -> JSONResponse:
        return JSONResponse({"detail": [{"field": exc.field, "message": str(exc)}]}, status_code=422)

    # Added last = runs first: request id and logging, CORS, token, body size.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(BearerAuth, token=token)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(RequestContext, model_set=service.model_set)
    return app

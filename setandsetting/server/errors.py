"""Every failure the HTTP API answers is {"error": "..."}; only a user's error says why.

A user's error is one of the room's, the journal's, the runner's or the API's own exception
types, each with its status and its one sentence (and a file name too long for the file
system, ENAMETOOLONG wherever it is met, a 400). Anything else — a bare ValueError from
deep inside included — is a bug: a 500 that says "internal error" and nothing more, with
the trace in the log, so no internal detail reaches a client dressed as their mistake.
A browser navigating to an address (it asks for text/html) gets the same sentence as a
page in the night theme: a 404 or a 500 must not light up a dark room.
"""

from __future__ import annotations

import errno
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from setandsetting.core.problems import FormatError
from setandsetting.engine.runner import SessionBusy
from setandsetting.journal.store import JournalError, UnknownSession
from setandsetting.room.catalogue import CatalogueError
from setandsetting.room.errors import EditError, NotFound
from setandsetting.server.pages import error_page, wants_page

log = logging.getLogger(__name__)

# The other layers' user errors, by status (a subclass is looked up before its base).
STATUS: dict[type[Exception], int] = {
    EditError: 400,
    NotFound: 404,
    SessionBusy: 409,
    UnknownSession: 404,
    JournalError: 503,
    CatalogueError: 503,
}


class ApiError(Exception):
    """A request the API refuses: status and one clear sentence (plus extra JSON fields)."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def reply(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def answer(request: Request, status: int, message: str, **extra: Any) -> Response:
    """The error as JSON, or as a night-themed page to a browser navigating here (an
    unknown address, a 500): never the browser's white rendering of a JSON body."""
    if wants_page(request):
        return error_page(request, status, message)
    return reply(status, message, **extra)


async def _api_error(request: Request, err: ApiError) -> Response:
    return answer(request, err.status, err.message, **err.extra)


async def _http_error(request: Request, err: StarletteHTTPException) -> Response:
    if err.status_code == 404 and wants_page(request):
        return error_page(request, 404, f"Nothing here at {request.url.path}.")
    return answer(request, err.status_code, str(err.detail))


async def _invalid(request: Request, err: RequestValidationError) -> Response:
    first = err.errors()[0] if err.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    return answer(request, 400, f"{where}: {first.get('msg', 'invalid request')}".strip(": "))


async def _broken_file(request: Request, err: FormatError) -> Response:
    problems = [str(p) for p in err.problems]
    return answer(request, 400, "\n".join(problems), problems=problems)


async def _user_error(request: Request, err: Exception) -> Response:
    status = next(STATUS[kind] for kind in type(err).__mro__ if kind in STATUS)
    return answer(request, status, str(err) or HTTPStatus(status).phrase.lower())


async def _os_error(request: Request, err: OSError) -> Response:
    """A name the file system cannot hold is the request's fault; any other OSError is not."""
    if err.errno == errno.ENAMETOOLONG:
        message = "a file or folder name in that path is too long for the file system"
        return answer(request, 400, message)
    return await _internal(request, err)


async def _internal(request: Request, err: Exception) -> Response:
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=err)
    return answer(request, 500, "internal error")


def install(app: FastAPI) -> None:
    """The app's exception handlers: the known types with their status, the rest a 500."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(FormatError, _broken_file)
    for kind in STATUS:
        app.add_exception_handler(kind, _user_error)
    app.add_exception_handler(OSError, _os_error)
    app.add_exception_handler(Exception, _internal)

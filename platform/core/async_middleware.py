"""Middleware that runs in the mode of the stack around it: sync under WSGI (`runserver`), async under the ASGI server
of deploy/gunicorn.conf.py. Django runs a sync-only middleware in a thread and the rest of the stack below it from
that thread, so one sync-only middleware would make every waiting long poll (localization/long_poll.py) hold a thread
again; every middleware in MIDDLEWARE is async-capable (tests/platform/test_long_polls.py checks)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse
from whitenoise.middleware import WhiteNoiseMiddleware


class EitherModeMiddleware:
    """Runs `_sync_call` under a sync stack and `_async_call` under an async one; subclasses call `_take_mode`."""

    sync_capable = True
    async_capable = True

    def _take_mode(self, get_response: Callable) -> None:
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        return self._async_call(request) if self.is_async else self._sync_call(request)


class ResponseMiddleware(EitherModeMiddleware):
    """A middleware that looks at each response on its way out: subclasses implement `process_response`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]) -> None:
        self.get_response = get_response
        self._take_mode(get_response)

    def _sync_call(self, request: HttpRequest) -> HttpResponse:
        return self.process_response(request, self.get_response(request))

    async def _async_call(self, request: HttpRequest) -> HttpResponse:
        return self.process_response(request, await self.get_response(request))

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        return response


class StaticFilesMiddleware(EitherModeMiddleware, WhiteNoiseMiddleware):
    """whitenoise's middleware (static files from STATIC_ROOT), async-capable: a static file is answered from
    whitenoise's in-memory index without touching the rest of the stack, anything else passes on in either mode."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]) -> None:
        WhiteNoiseMiddleware.__init__(self, get_response)
        self._take_mode(get_response)

    def _sync_call(self, request: HttpRequest) -> HttpResponse:
        return WhiteNoiseMiddleware.__call__(self, request)

    async def _async_call(self, request: HttpRequest) -> HttpResponse:
        static_file = None if self.autorefresh else self.files.get(request.path_info)  # autorefresh: DEBUG only
        if static_file is not None:
            return self.serve(static_file, request)
        return await self.get_response(request)

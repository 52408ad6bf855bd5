"""``/ws/v1/events/``: the feed, live (API.md "Events, live push and webhooks").

The client's first frame is ``{"type": "auth", "token": "<API token>", "after": <last id seen or null>}``; the server
answers ``{"type": "ready", "last_id": <head>}``, sends every event after ``after`` the caller may see (the feed's
scoping), then each new one as it commits (``events.live``). A ``{"type": "ping"}`` goes out every
``LIVE_PING_SECONDS``; a client's ping is answered with a pong. A bad or missing token closes with ``4401``, a frame
that is not JSON or an ``after`` that is not a whole number with ``4400``; access is checked again at every ping,
and a caller that lost it (sub-account deactivated, token deleted) is closed with ``4403``.

A page of this site's own admin (same origin, logged in) may authenticate with its session instead of a token: its
auth frame carries no token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from rest_framework.authtoken.models import Token

from agents.services import agent_presence_touch
from backoffice.callers import caller_for
from backoffice.tenancy import NOBODY, Caller, CallerRole
from events.live import Listener, hub

logger = logging.getLogger(__name__)

BAD_FRAME, BAD_TOKEN, ACCESS_LOST = 4400, 4401, 4403


def caller_of_token(key: str | None) -> Caller:
    """The caller an API token stands for, looked up afresh (``NOBODY`` for no such token or an inactive user)."""
    if not isinstance(key, str) or not key:
        return NOBODY
    token = Token.objects.select_related("user").filter(key=key).first()
    return NOBODY if token is None else caller_for(token.user)


def caller_of_user(user_id: int | None) -> Caller:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return NOBODY if user is None else caller_for(user)


class EventsConsumer(Listener, AsyncWebsocketConsumer):
    caller: Caller | None = None
    cursor = 0
    # The hub has the process's one channel-layer channel; a connection needs none (saves a Redis subscription and a
    # waiting task per connection).
    channel_layer_alias = None

    async def connect(self):
        await self.accept()
        self.token = None
        self.session_user_id = None
        self.tasks = [asyncio.ensure_future(self._auth_deadline())]

    async def disconnect(self, code):
        hub().leave(self)
        for task in self.tasks:
            task.cancel()
        if self.caller is not None and self.caller.agent_id is not None:
            await database_sync_to_async(agent_presence_touch)(agent_id=self.caller.agent_id)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            frame = json.loads(text_data or "")
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            await self.close(BAD_FRAME)
            return
        if self.caller is None:
            await self._authenticate(frame)
        elif frame.get("type") == "ping":
            await self.send(text_data='{"type":"pong"}')

    async def _authenticate(self, frame: dict) -> None:
        after = frame.get("after")
        if frame.get("type") != "auth":
            await self.close(BAD_TOKEN)
            return
        if after is not None and (isinstance(after, bool) or not isinstance(after, int) or after < 0):
            await self.close(BAD_FRAME)
            return
        token = frame.get("token")
        if token:
            caller = await database_sync_to_async(caller_of_token)(token)
            self.token = token
        else:  # this site's own pages: the session of the logged-in user (same origin only, see backoffice.asgi)
            user = self.scope.get("user")
            self.session_user_id = user.pk if user is not None and user.is_authenticated else None
            caller = await database_sync_to_async(caller_of_user)(self.session_user_id)
        if caller.role == CallerRole.NONE:
            await self.close(BAD_TOKEN)
            return
        self.caller = caller
        for task in self.tasks:
            task.cancel()
        await hub().join(self, after=after, ready=self._ready)
        await self._touch()
        self.tasks = [asyncio.ensure_future(self._keepalive())]

    async def _ready(self, head: int) -> None:
        await self.send(text_data=json.dumps({"type": "ready", "last_id": head}))

    async def push(self, texts: list[str]) -> None:
        for text in texts:
            await self.send(text_data=text)

    async def _auth_deadline(self) -> None:
        await asyncio.sleep(settings.LIVE_AUTH_SECONDS)
        if self.caller is None:
            await self.close(BAD_TOKEN)

    async def _keepalive(self) -> None:
        # The first wait is jittered, so connections made together (after a deploy) do not re-check together forever.
        await asyncio.sleep(settings.LIVE_PING_SECONDS * random.uniform(0.5, 1.0))  # noqa: S311 - not security
        while True:
            if self.token:
                caller = await database_sync_to_async(caller_of_token)(self.token)
            else:
                caller = await database_sync_to_async(caller_of_user)(self.session_user_id)
            if caller.role == CallerRole.NONE:
                hub().leave(self)
                await self.close(ACCESS_LOST)
                return
            self.caller = caller  # a changed scope (a client's shops) applies from now on
            await self.send(text_data='{"type":"ping"}')
            await self._touch()
            await asyncio.sleep(settings.LIVE_PING_SECONDS)

    async def _touch(self) -> None:
        if self.caller is not None and self.caller.agent_id is not None:
            await database_sync_to_async(agent_presence_touch)(agent_id=self.caller.agent_id)

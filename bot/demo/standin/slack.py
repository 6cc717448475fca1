"""A Slack Web API and Socket Mode stand-in: a real local aiohttp server that answers like Slack."""

# wait_for and socket_send take a timeout (ASYNC109) on purpose: each wait is a test's assertion.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.demo.standin.common import Args, SlackError, _need, _need_text, _page, _public
from bot.demo.standin.failures import Failure
from bot.demo.standin.files import Uploads
from bot.demo.standin.identity import BOT_ID, BOT_USER, PERMALINK_HOST, TEAM_ID
from bot.demo.standin.socket import SocketMode

# slack_sdk form-encodes nested arguments as JSON strings; record them as the objects they were.
JSON_FIELDS = ("blocks", "attachments", "view", "metadata", "files")
APP_TOKEN_METHODS = {"apps.connections.open"}


@dataclass
class Call:
    """One Web API call as the stand-in received it; `ok` is set once it is answered ok."""

    method: str
    args: Args
    token: str | None
    at: float
    ok: bool = False


class SlackStandIn(SocketMode):
    """Slack's Web API, response URLs and Socket Mode on 127.0.0.1, recording every call."""

    def __init__(
        self,
        *,
        token: str = "xoxb-test-token",
        app_token: str = "xapp-test-token",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.token, self.app_token = token, app_token
        self.clock = clock  # message timestamps follow it when given (a demo's simulated time)
        self._last_ts = 0.0
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.usergroup_handles: dict[str, str] = {}  # id -> handle, for usergroups.list
        self.channels: dict[str, str] = {"partner-intros": "C0INTROS"}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, Any] = {}
        self.responded: list[tuple[str, dict[str, Any]]] = []  # (response URL, payload)
        self.files: list[dict[str, Any]] = []
        self.socket_connected = asyncio.Event()
        self._failures: defaultdict[str, deque[Failure]] = defaultdict(deque)
        self._answered = asyncio.Condition()
        self._ids = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._uploads = Uploads(self)
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._methods: dict[str, Callable[[Args], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.getPermalink": self._permalink,
            "views.open": self._view,
            "views.update": self._view,
            "views.publish": self._publish,
            "usergroups.users.list": self._usergroup_members,
            "usergroups.list": self._usergroups,
            "users.info": self._user_info,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "conversations.open": self._open,
            "conversations.list": self._list_channels,
            "files.getUploadURLExternal": self._uploads.upload_url,
            "files.completeUploadExternal": self._uploads.complete,
            "apps.connections.open": self._connections_open,
        }

    async def start(self) -> SlackStandIn:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{n}", self._respond)
        app.router.add_post("/upload/{file_id}", self._uploads.upload)
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        """Close Socket Mode connections, then the server."""
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """The server's root, http://127.0.0.1:PORT."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """The Web API base URL; slack_sdk appends the method name to it."""
        return f"{self.url}/api/"

    def fail(self, method: str, *failures: Failure) -> None:
        """Queue failures for the next calls to `method`, one per call, in order.

        `method` is a Web API method, or UPLOAD for the POSTs of file bytes to upload URLs.
        """
        self._failures[method].extend(failures)

    def clear_failures(self) -> None:
        """Forget every queued failure: Slack is well again."""
        self._failures.clear()

    def calls_to(self, method: str) -> list[Args]:
        """Arguments of every call to `method`, answered ok or not."""
        return [c.args for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Args]:
        """Wait until `count` calls to `method` were answered ok; return their arguments."""

        def ok() -> list[Args]:
            return [c.args for c in self.calls if c.method == method and c.ok]

        try:
            async with asyncio.timeout(timeout), self._answered:
                await self._answered.wait_for(lambda: len(ok()) >= count)
        except TimeoutError:
            raise AssertionError(
                f"{method}: {len(ok())} ok of {len(self.calls_to(method))} calls"
                f" after {timeout}s, wanted {count}"
            ) from None
        return ok()

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The replies in the thread under (channel, ts), oldest first."""
        return [m for m in self._timeline(channel) if m["thread_ts"] == ts]

    def files_in(self, channel: str) -> list[dict[str, Any]]:
        """What was uploaded to `channel` (an id; a DM's from conversations.open), oldest first."""
        return [f for f in self.files if f["channel"] == channel]

    @property
    def responses(self) -> list[dict[str, Any]]:
        """What was POSTed to the response URLs, oldest first."""
        return [payload for _, payload in self.responded]

    def new_id(self) -> int:
        """A number no other id of this stand-in has."""
        return next(self._ids)

    def response_url(self) -> str:
        """A fresh response URL that records the JSON POSTed to it into `responses`."""
        return f"{self.url}/respond/{self.new_id()}"

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        # slack_sdk puts GET and many POST arguments in the query string, the rest in the body.
        args: Args = dict(request.query)
        try:
            if request.content_type == "application/json":
                args |= await request.json()
            elif request.method == "POST":
                args |= dict(await request.post())
            for name in JSON_FIELDS:
                if isinstance(args.get(name), str):
                    args[name] = json.loads(args[name])
        except ValueError:
            return web.json_response({"ok": False, "error": "invalid_json"})
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        body_token = args.pop("token", None)
        call = Call(method, args, bearer or body_token, time.monotonic())
        self.calls.append(call)
        failure = self._failures[method].popleft() if self._failures[method] else None
        if failure is not None and failure.after_work:
            answer = await self._answer(call)  # done; then the answer goes wrong
            failed = await self.injected(method, request, failure)
            return failed if failed is not None else web.json_response(answer)
        failed = await self.injected(method, request, failure)
        return failed if failed is not None else web.json_response(await self._answer(call))

    async def injected(
        self, method: str, request: web.Request, failure: Failure | None = None
    ) -> web.Response | None:
        """Apply a failure (by default the next queued for `method`): its canned answer, or
        None to answer."""
        if failure is None:
            failure = self._failures[method].popleft() if self._failures[method] else None
        if failure is None:
            return None
        await asyncio.sleep(failure.delay)
        if failure.disconnect:
            assert request.transport is not None
            request.transport.close()
            return web.Response()  # never written: the transport is gone
        if failure.status is not None:
            return web.Response(
                status=failure.status,
                text=failure.body,
                content_type=failure.content_type,
                headers=failure.headers,
            )
        return None

    async def _answer(self, call: Call) -> dict[str, Any]:
        handler = self._methods.get(call.method)
        wanted = self.app_token if call.method in APP_TOKEN_METHODS else self.token
        try:
            if handler is None:
                raise SlackError("unknown_method")
            if not call.token:
                raise SlackError("not_authed")
            if call.token != wanted:
                raise SlackError("invalid_auth")
            body = {"ok": True} | handler(call.args)
        except SlackError as refused:
            return {"ok": False, "error": str(refused)}
        async with self._answered:
            call.ok = True
            self._answered.notify_all()
        return body

    async def _respond(self, request: web.Request) -> web.Response:
        self.responded.append((str(request.url), await request.json()))
        return web.json_response({"ok": True})

    def _auth_test(self, args: Args) -> dict[str, Any]:
        who = {"team": "Stand-in", "team_id": TEAM_ID, "user_id": BOT_USER, "bot_id": BOT_ID}
        return who | {"url": f"{PERMALINK_HOST}/", "user": "handoff"}

    def next_ts(self) -> str:
        """A message ts, as Slack's: the time it was taken (the clock's, when there is one;
        else the wall clock's), unique and increasing."""
        now = self.clock().timestamp() if self.clock is not None else time.time()
        self._last_ts = max(now, self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    def channel_id(self, value: str | None, *, names: bool = True) -> str:
        value = value or ""
        if names and value.removeprefix("#") in self.channels:
            return self.channels[value.removeprefix("#")]
        if value[:1] in ("C", "G", "D"):
            return value
        if names and value[:1] in ("U", "W") and value in self.users:
            return self.dm(value)  # a user id posts into the app's DM with that user
        raise SlackError("channel_not_found")

    @staticmethod
    def dm(user: str) -> str:
        """The id of the app's DM channel with a user."""
        return f"D{user}"

    def dms(self, user: str) -> list[dict[str, Any]]:
        """What the app wrote to a user by DM, oldest first."""
        return self._timeline(self.dm(user))

    def _timeline(self, channel: str) -> list[dict[str, Any]]:
        in_channel = [m for (c, _), m in self.messages.items() if c == channel]
        return sorted(in_channel, key=lambda m: float(m["ts"]))

    def _message(self, args: Args) -> tuple[str, str, dict[str, Any]]:
        channel = self.channel_id(args.get("channel"), names=False)
        ts = str(args.get("ts") or args.get("message_ts") or "")
        if (channel, ts) not in self.messages:
            raise SlackError("message_not_found")
        return channel, ts, self.messages[channel, ts]

    def say(self, channel: str, user: str, text: str) -> str:
        """A person's message in a channel (what a message shortcut is used on); its ts."""
        ts = self.next_ts()
        self.messages[channel, ts] = {"type": "message", "user": user, "text": text, "ts": ts}
        return ts

    def _post_message(self, args: Args) -> dict[str, Any]:
        channel = self.channel_id(args.get("channel"))
        _need_text(args)
        ts = self.next_ts()
        message: dict[str, Any] = {"type": "message", "user": BOT_USER, "bot_id": BOT_ID, "ts": ts}
        message |= {k: args.get(k) for k in ("text", "blocks", "thread_ts", "metadata")}
        self.messages[channel, ts] = message
        return {"channel": channel, "ts": ts, "message": _public(message)}

    def _update(self, args: Args) -> dict[str, Any]:
        channel, ts, message = self._message(args)
        message |= {k: args[k] for k in ("text", "blocks", "metadata") if k in args}
        return {"channel": channel, "ts": ts, "text": message["text"], "message": _public(message)}

    def _post_ephemeral(self, args: Args) -> dict[str, Any]:
        self.channel_id(args.get("channel"))
        _need(args, "user")
        _need_text(args)
        self.ephemerals.append(args)
        return {"message_ts": self.next_ts()}

    def _permalink(self, args: Args) -> dict[str, Any]:
        channel, ts, _ = self._message(args)
        link = f"{PERMALINK_HOST}/archives/{channel}/p{ts.replace('.', '')}"
        return {"channel": channel, "permalink": link}

    def _view(self, args: Args) -> dict[str, Any]:
        # views.open needs a trigger_id, views.update a view_id or external_id.
        _need(args, "view")
        if not any(args.get(k) for k in ("trigger_id", "view_id", "external_id")):
            raise SlackError("invalid_arguments")
        view_id = args.get("view_id") or f"V{self.new_id():08d}"
        return {"view": {"id": view_id, "team_id": TEAM_ID, **args["view"]}}

    def _publish(self, args: Args) -> dict[str, Any]:
        _need(args, "user_id", "view")
        self.views[args["user_id"]] = args["view"]
        return {"view": {"id": f"V{self.new_id():08d}", "team_id": TEAM_ID, **args["view"]}}

    def _usergroups(self, args: Args) -> dict[str, Any]:
        groups = [
            {"id": gid, "team_id": TEAM_ID, "handle": self.usergroup_handles.get(gid, gid.lower())}
            for gid in self.usergroups
        ]
        return {"usergroups": groups}

    def _usergroup_members(self, args: Args) -> dict[str, Any]:
        if args.get("usergroup") not in self.usergroups:
            raise SlackError("no_such_subteam")
        return {"users": list(self.usergroups[args["usergroup"]])}

    def _user_info(self, args: Args) -> dict[str, Any]:
        if args.get("user") not in self.users:
            raise SlackError("user_not_found")
        return {"user": self.users[args["user"]]}

    def _history(self, args: Args) -> dict[str, Any]:
        channel = self.channel_id(args.get("channel"), names=False)
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or "inf")
        limit = int(args.get("limit") or 100)
        metadata = args.get("include_all_metadata") in (True, "1", "true")
        top = [
            _public(m, metadata=metadata)
            for m in reversed(self._timeline(channel))
            if m["thread_ts"] in (None, m["ts"]) and oldest < float(m["ts"]) < latest
        ]
        return _page(top, args, limit) | {"pin_count": 0}

    def _replies(self, args: Args) -> dict[str, Any]:
        channel = self.channel_id(args.get("channel"), names=False)
        ts = str(args.get("ts") or "")
        metadata = args.get("include_all_metadata") in (True, "1", "true")
        if (channel, ts) not in self.messages:
            raise SlackError("thread_not_found")
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or "inf")
        # The parent first, always; then the replies in the window, oldest first.
        thread = [
            _public(m, metadata=metadata)
            for m in self._timeline(channel)
            if m["ts"] == ts or (m["thread_ts"] == ts and oldest <= float(m["ts"]) <= latest)
        ]
        return _page(thread, args, int(args.get("limit") or 100))

    def _open(self, args: Args) -> dict[str, Any]:
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if len(users) != 1 or users[0] not in self.users:
            raise SlackError("user_not_found")
        return {"channel": {"id": self.dm(users[0])}}

    def _list_channels(self, args: Args) -> dict[str, Any]:
        # One page per channel, so that callers must follow the cursor as with a big workspace.
        names = sorted(self.channels)
        at = int(args.get("cursor") or 0)
        page = [
            {"id": self.channels[n], "name": n, "is_archived": False} for n in names[at : at + 1]
        ]
        more = at + 1 < len(names)
        return {"channels": page, "response_metadata": {"next_cursor": str(at + 1) if more else ""}}

"""A Slack Web API and Socket Mode stand-in: a real local aiohttp server that answers like Slack."""

# wait_for and socket_send take a timeout (ASYNC109) on purpose: each wait is a test's assertion.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import mimetypes
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web

BOT_USER, BOT_ID, TEAM_ID, APP_ID = "UBOT", "BBOT", "T0TEAM", "A0APP"
PERMALINK_HOST = "https://standin.slack.example"
# slack_sdk form-encodes nested arguments as JSON strings; record them as the objects they were.
JSON_FIELDS = ("blocks", "attachments", "view", "metadata", "files")
APP_TOKEN_METHODS = {"apps.connections.open"}
# The name fail() takes for POSTs to the upload URLs that files.getUploadURLExternal hands out.
UPLOAD = "upload"

Args = dict[str, Any]


@dataclass
class Call:
    """One Web API call as the stand-in received it; `ok` is set once it is answered ok."""

    method: str
    args: Args
    token: str | None
    at: float
    ok: bool = False


@dataclass(frozen=True)
class Failure:
    """A canned answer for one call: an HTTP error, a dropped connection or a delay."""

    status: int | None = None  # None: answer normally, after `delay`
    body: str = ""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    disconnect: bool = False
    delay: float = 0.0


def rate_limited(retry_after: int = 1) -> Failure:
    """HTTP 429 with Retry-After, as Slack rate-limits (docs.slack.dev/apis/web-api/rate-limits)."""
    body = json.dumps({"ok": False, "error": "ratelimited"})
    return Failure(status=429, body=body, headers={"Retry-After": str(retry_after)})


def server_error(status: int = 500) -> Failure:
    """An HTTP 5xx with an HTML body, as Slack's edge answers when it is unwell."""
    return Failure(status=status, body="<html>Server Error</html>", content_type="text/html")


def slack_error(error: str) -> Failure:
    """HTTP 200 with {"ok": false, "error": error}."""
    return Failure(status=200, body=json.dumps({"ok": False, "error": error}))


def disconnect() -> Failure:
    """Close the connection without answering."""
    return Failure(disconnect=True)


def slow(seconds: float) -> Failure:
    """Answer normally, but only after `seconds`."""
    return Failure(delay=seconds)


def signed_headers(body: str, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    """Headers that sign `body` the way Slack signs the requests it sends."""
    # https://api.slack.com/authentication/verifying-requests-from-slack
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def form_body(payload: dict[str, Any]) -> str:
    """An interactivity request body: the payload as JSON in a `payload` form field."""
    return urlencode({"payload": json.dumps(payload)})


def command_body(**fields: str) -> str:
    """A slash command request body: the fields form-encoded."""
    return urlencode(fields)


class SlackError(Exception):
    """Refuse a call with {"ok": false, "error": ...}."""


def _need(args: Args, *names: str) -> None:
    if not all(args.get(name) for name in names):
        raise SlackError("invalid_arguments")


def _need_text(args: Args) -> None:
    if not args.get("text") and not args.get("blocks"):
        raise SlackError("no_text")


def _public(message: dict[str, Any], *, metadata: bool = True) -> dict[str, Any]:
    """The message as the API shows it: no empty fields, metadata only when asked for."""
    return {k: v for k, v in message.items() if v is not None and (metadata or k != "metadata")}


class SlackStandIn:
    """Slack's Web API, response URLs and Socket Mode on 127.0.0.1, recording every call."""

    def __init__(
        self, *, token: str = "xoxb-test-token", app_token: str = "xapp-test-token"
    ) -> None:
        self.token, self.app_token = token, app_token
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.channels: dict[str, str] = {"partner-intros": "C0INTROS"}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, Any] = {}
        self.responses: list[dict[str, Any]] = []
        self.files: list[dict[str, Any]] = []
        self.socket_connected = asyncio.Event()
        self._failures: defaultdict[str, deque[Failure]] = defaultdict(deque)
        self._answered = asyncio.Condition()
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._uploads: dict[str, dict[str, Any]] = {}  # file id -> ticket, until completed
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
            "users.info": self._user_info,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "conversations.open": self._open,
            "conversations.list": self._list_channels,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "apps.connections.open": self._connections_open,
        }

    async def start(self) -> SlackStandIn:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{n}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
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

    def response_url(self) -> str:
        """A fresh response URL that records the JSON POSTed to it into `responses`."""
        return f"{self.url}/respond/{next(self._ids)}"

    async def socket_send(
        self, type_: str, payload: dict[str, Any], *, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Send a Socket Mode envelope to the connected client and return its ack."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": type_,
            "payload": payload,
            "accepts_response_payload": type_ != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        ack: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = ack
        try:
            async with asyncio.timeout(timeout):
                await self.socket_connected.wait()
                await self._sockets[-1].send_json(envelope)
                return await ack
        except TimeoutError:
            state = "no ack" if self._sockets else "no Socket Mode client connected"
            raise AssertionError(
                f"{type_} envelope {envelope_id}: {state} after {timeout}s"
            ) from None
        finally:
            del self._acks[envelope_id]

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
        failed = await self._injected(method, request)
        return failed if failed is not None else web.json_response(await self._answer(call))

    async def _injected(self, method: str, request: web.Request) -> web.Response | None:
        """Apply the next queued failure for `method`: its canned answer, or None to answer."""
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
        self.responses.append(await request.json())
        return web.json_response({"ok": True})

    def _auth_test(self, args: Args) -> dict[str, Any]:
        who = {"team": "Stand-in", "team_id": TEAM_ID, "user_id": BOT_USER, "bot_id": BOT_ID}
        return who | {"url": f"{PERMALINK_HOST}/", "user": "handoff"}

    def _next_ts(self) -> str:
        n = next(self._ts)
        return f"{1_750_000_000 + n // 10_000}.{n % 10_000 * 100:06d}"

    def _channel(self, value: str | None, *, names: bool = True) -> str:
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
        channel = self._channel(args.get("channel"), names=False)
        ts = str(args.get("ts") or args.get("message_ts") or "")
        if (channel, ts) not in self.messages:
            raise SlackError("message_not_found")
        return channel, ts, self.messages[channel, ts]

    def _post_message(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        _need_text(args)
        ts = self._next_ts()
        message: dict[str, Any] = {"type": "message", "user": BOT_USER, "bot_id": BOT_ID, "ts": ts}
        message |= {k: args.get(k) for k in ("text", "blocks", "thread_ts", "metadata")}
        self.messages[channel, ts] = message
        return {"channel": channel, "ts": ts, "message": _public(message)}

    def _update(self, args: Args) -> dict[str, Any]:
        channel, ts, message = self._message(args)
        message |= {k: args[k] for k in ("text", "blocks", "metadata") if k in args}
        return {"channel": channel, "ts": ts, "text": message["text"], "message": _public(message)}

    def _post_ephemeral(self, args: Args) -> dict[str, Any]:
        self._channel(args.get("channel"))
        _need(args, "user")
        _need_text(args)
        self.ephemerals.append(args)
        return {"message_ts": self._next_ts()}

    def _permalink(self, args: Args) -> dict[str, Any]:
        channel, ts, _ = self._message(args)
        link = f"{PERMALINK_HOST}/archives/{channel}/p{ts.replace('.', '')}"
        return {"channel": channel, "permalink": link}

    def _view(self, args: Args) -> dict[str, Any]:
        # views.open needs a trigger_id, views.update a view_id or external_id.
        _need(args, "view")
        if not any(args.get(k) for k in ("trigger_id", "view_id", "external_id")):
            raise SlackError("invalid_arguments")
        view_id = args.get("view_id") or f"V{next(self._ids):08d}"
        return {"view": {"id": view_id, "team_id": TEAM_ID, **args["view"]}}

    def _publish(self, args: Args) -> dict[str, Any]:
        _need(args, "user_id", "view")
        self.views[args["user_id"]] = args["view"]
        return {"view": {"id": f"V{next(self._ids):08d}", "team_id": TEAM_ID, **args["view"]}}

    def _usergroup_members(self, args: Args) -> dict[str, Any]:
        if args.get("usergroup") not in self.usergroups:
            raise SlackError("no_such_subteam")
        return {"users": list(self.usergroups[args["usergroup"]])}

    def _user_info(self, args: Args) -> dict[str, Any]:
        if args.get("user") not in self.users:
            raise SlackError("user_not_found")
        return {"user": self.users[args["user"]]}

    def _history(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.get("channel"), names=False)
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or "inf")
        limit = int(args.get("limit") or 100)
        metadata = args.get("include_all_metadata") in (True, "1", "true")
        top = [
            _public(m, metadata=metadata)
            for m in reversed(self._timeline(channel))
            if m["thread_ts"] in (None, m["ts"]) and oldest < float(m["ts"]) < latest
        ]
        return {"messages": top[:limit], "has_more": len(top) > limit, "pin_count": 0}

    def _replies(self, args: Args) -> dict[str, Any]:
        channel = self._channel(args.get("channel"), names=False)
        ts = str(args.get("ts") or "")
        metadata = args.get("include_all_metadata") in (True, "1", "true")
        thread = [
            _public(m, metadata=metadata)
            for m in self._timeline(channel)
            if m["ts"] == ts or m["thread_ts"] == ts
        ]
        if not thread:
            raise SlackError("thread_not_found")
        limit = int(args.get("limit") or 100)
        return {"messages": thread[:limit], "has_more": len(thread) > limit}

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

    def _upload_url(self, args: Args) -> dict[str, Any]:
        _need(args, "filename", "length")
        try:
            length = int(args["length"])
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments") from None
        if length < 1:
            raise SlackError("missing_argument")  # what Slack answers for a length of 0
        file_id = f"F{next(self._ids):08d}"
        ticket = {k: args.get(k) for k in ("filename", "alt_txt", "snippet_type")}
        self._uploads[file_id] = ticket | {"content": None}
        return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        """Take a file's bytes as Slack's upload URLs do: a raw body or a multipart form."""
        failed = await self._injected(UPLOAD, request)
        if failed is not None:
            return failed
        ticket = self._uploads.get(request.match_info["file_id"])
        if ticket is None:
            return web.Response(status=404, text="Not Found")
        if request.content_type == "multipart/form-data":
            fields = list((await request.post()).values())
            parts = [f.file.read() for f in fields if isinstance(f, web.FileField)]
            content = parts[0] if parts else str(fields[0] if fields else "").encode()
        else:
            content = await request.read()
        ticket["content"] = content
        return web.Response(text=f"OK - {len(content)}")  # text/plain, as files.slack.com

    def _share_to(self, args: Args) -> list[str]:
        """The channels a completed upload goes to: channel_id, then the ids in `channels`."""
        wanted = [args.get("channel_id") or ""]
        wanted += str(args.get("channels") or "").split(",")
        ids = [
            self.dm(c) if c in self.users else self._channel(c, names=False) for c in wanted if c
        ]
        return list(dict.fromkeys(ids))

    def _complete_upload(self, args: Args) -> dict[str, Any]:
        _need(args, "files")
        files = args["files"]
        if not isinstance(files, list) or not all(
            isinstance(f, dict) and f.get("id") for f in files
        ):
            raise SlackError("invalid_arguments")
        if any((self._uploads.get(f["id"]) or {}).get("content") is None for f in files):
            raise SlackError("file_not_found")  # never issued, already completed, or no bytes yet
        channels = self._share_to(args)
        wanted = {f["id"]: f for f in files}  # each file once, however often it is listed
        shared = [self._file(f, self._uploads[f["id"]], channels) for f in wanted.values()]
        contents = {f["id"]: self._uploads.pop(f["id"])["content"] for f in shared}
        comment, thread_ts = args.get("initial_comment"), args.get("thread_ts")
        targets: list[str | None] = [*channels] or [None]  # no channel: the file stays private
        for channel in targets:
            ts = None
            if channel is not None:
                # The share is a message from the app holding the files, as in Slack's history.
                ts = self._next_ts()
                message: dict[str, Any] = {"type": "message", "user": BOT_USER, "bot_id": BOT_ID}
                message |= {"ts": ts, "text": comment or "", "blocks": None, "metadata": None}
                message |= {"thread_ts": thread_ts, "files": shared, "upload": True}
                self.messages[channel, ts] = message
            self.files += [
                {
                    "id": file["id"],
                    "title": file["title"],
                    "filename": file["name"],
                    "channel": channel,
                    "initial_comment": comment,
                    "thread_ts": thread_ts,
                    "ts": ts,
                    "content": contents[file["id"]],
                }
                for file in shared
            ]
        return {"files": shared}

    @staticmethod
    def _file(
        wanted: dict[str, Any], ticket: dict[str, Any], channels: list[str]
    ) -> dict[str, Any]:
        """The file object Slack answers for an upload, before its shares are processed."""
        file_id, name, size = wanted["id"], ticket["filename"], len(ticket["content"])
        now = int(time.time())
        file = {
            "id": file_id,
            "created": now,
            "timestamp": now,
            "name": name,
            "title": wanted.get("title") or name,
            "mimetype": mimetypes.guess_type(name)[0] or "application/octet-stream",
            "filetype": name.rpartition(".")[2].lower() if "." in name else "binary",
            "user": BOT_USER,
            "user_team": TEAM_ID,
            "size": size,
            "mode": "hosted",
            "is_external": False,
            "is_public": any(c.startswith("C") for c in channels),
            "url_private": f"{PERMALINK_HOST}/files-pri/{TEAM_ID}-{file_id}/{name}",
            "permalink": f"{PERMALINK_HOST}/files/{BOT_USER}/{file_id}/{name}",
            "alt_txt": ticket["alt_txt"],
            "shares": {},  # Slack shares asynchronously: still empty in this answer
        }
        return _public(file)

    def _connections_open(self, args: Args) -> dict[str, Any]:
        return {"url": f"ws://127.0.0.1:{self._port}/link?ticket={uuid.uuid4()}&app_id={APP_ID}"}

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()  # autoping: answers the SDK's pings as Slack does
        await ws.prepare(request)
        self._sockets.append(ws)
        self.socket_connected.set()
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {"host": "standin", "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        )
        try:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    self._ack(json.loads(frame.data))
        finally:
            self._sockets.remove(ws)
            if not self._sockets:
                self.socket_connected.clear()
        return ws

    def _ack(self, message: dict[str, Any]) -> None:
        waiter = self._acks.get(message.get("envelope_id", ""))
        if waiter is not None and not waiter.done():
            waiter.set_result(message)

"""The stand-in's file uploads: files.getUploadURLExternal, the upload URL, the completion."""

from __future__ import annotations

import mimetypes
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.demo.standin.common import Args, SlackError, _need, _public
from bot.demo.standin.identity import BOT_ID, BOT_USER, PERMALINK_HOST, TEAM_ID, UPLOAD

if TYPE_CHECKING:
    from bot.demo.standin.slack import SlackStandIn


class Uploads:
    """files_upload_v2's three steps, for the stand-in whose messages and files they add to."""

    def __init__(self, slack: SlackStandIn) -> None:
        self.slack = slack
        self.pending: dict[str, dict[str, Any]] = {}  # file id -> ticket, until completed

    def upload_url(self, args: Args) -> dict[str, Any]:
        _need(args, "filename", "length")
        try:
            length = int(args["length"])
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments") from None
        if length < 1:
            raise SlackError("missing_argument")  # what Slack answers for a length of 0
        file_id = f"F{self.slack.new_id():08d}"
        ticket = {k: args.get(k) for k in ("filename", "alt_txt", "snippet_type")}
        self.pending[file_id] = ticket | {"content": None}
        return {"upload_url": f"{self.slack.url}/upload/{file_id}", "file_id": file_id}

    async def upload(self, request: web.Request) -> web.Response:
        """Take a file's bytes as Slack's upload URLs do: a raw body or a multipart form."""
        failed = await self.slack.injected(UPLOAD, request)
        if failed is not None:
            return failed
        ticket = self.pending.get(request.match_info["file_id"])
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
        slack = self.slack
        wanted = [args.get("channel_id") or ""]
        wanted += str(args.get("channels") or "").split(",")
        ids = [
            slack.dm(c) if c in slack.users else slack.channel_id(c, names=False)
            for c in wanted
            if c
        ]
        return list(dict.fromkeys(ids))

    def complete(self, args: Args) -> dict[str, Any]:
        _need(args, "files")
        files = args["files"]
        if not isinstance(files, list) or not all(
            isinstance(f, dict) and f.get("id") for f in files
        ):
            raise SlackError("invalid_arguments")
        if any((self.pending.get(f["id"]) or {}).get("content") is None for f in files):
            raise SlackError("file_not_found")  # never issued, already completed, or no bytes yet
        channels = self._share_to(args)
        wanted = {f["id"]: f for f in files}  # each file once, however often it is listed
        shared = [self._file(f, self.pending[f["id"]], channels) for f in wanted.values()]
        contents = {f["id"]: self.pending.pop(f["id"])["content"] for f in shared}
        comment, thread_ts = args.get("initial_comment"), args.get("thread_ts")
        targets: list[str | None] = [*channels] or [None]  # no channel: the file stays private
        for channel in targets:
            ts = None
            if channel is not None:
                # The share is a message from the app holding the files, as in Slack's history.
                ts = self.slack.next_ts()
                message: dict[str, Any] = {"type": "message", "user": BOT_USER, "bot_id": BOT_ID}
                message |= {"ts": ts, "text": comment or "", "blocks": None, "metadata": None}
                message |= {"thread_ts": thread_ts, "files": shared, "upload": True}
                self.slack.messages[channel, ts] = message
            self.slack.files += [
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

"""An LMTP client as an MTA is one (RFC 2033): LHLO, the envelope, DATA, then one reply per
accepted recipient. The stdlib's smtplib.LMTP reads only one reply after DATA (bpo-32803)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass


@dataclass
class Delivered:
    rcpt: list[str]  # the reply to each RCPT TO, in order
    data: list[str]  # the replies after the message: one per accepted recipient
    sent_at: float = 0.0  # time.monotonic() once the final "." was handed to the socket


class LmtpClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, host: str = "127.0.0.1", port: int = 0, *, path: str = "") -> LmtpClient:
        if path:
            reader, writer = await asyncio.open_unix_connection(path, limit=2**20)
        else:
            reader, writer = await asyncio.open_connection(host, port, limit=2**20)
        client = cls(reader, writer)
        greeting = await client.reply()
        assert greeting.startswith("220"), greeting
        lhlo = await client.command("LHLO mta.ours.example")
        assert lhlo.startswith("250"), lhlo
        return client

    async def reply(self) -> str:
        """One reply, its continuation lines joined."""
        lines = []
        while True:
            line = (await asyncio.wait_for(self.reader.readline(), 60)).decode().rstrip("\r\n")
            if not line:
                raise ConnectionError("the server hung up")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return "\n".join(lines)

    async def command(self, line: str) -> str:
        self.writer.write(line.encode() + b"\r\n")
        await self.writer.drain()
        return await self.reply()

    async def send(self, raw: bytes, mail_from: str, recipients: list[str]) -> Delivered:
        assert (await self.command(f"MAIL FROM:<{mail_from}>")).startswith("250")
        rcpt = [await self.command(f"RCPT TO:<{r}>") for r in recipients]
        accepted = sum(r.startswith("250") for r in rcpt)
        if not accepted:
            await self.command("RSET")
            return Delivered(rcpt, [])
        go = await self.command("DATA")
        assert go.startswith("354"), go
        body = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        stuffed = b"".join(
            b"." + line if line.startswith(b".") else line for line in body.splitlines(True)
        )
        self.writer.write(stuffed + b".\r\n")
        await self.writer.drain()
        sent_at = time.monotonic()
        return Delivered(rcpt, [await self.reply() for _ in range(accepted)], sent_at)

    async def close(self) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            await self.command("QUIT")
        self.writer.close()
        await self.writer.wait_closed()

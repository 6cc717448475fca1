"""The Slack stand-in answers the real slack_sdk and Bolt clients the way Slack does."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.demo.standin.failures import disconnect, rate_limited, server_error, slack_error, slow
from bot.demo.standin.identity import UPLOAD
from bot.demo.standin.signing import command_body, form_body, signed_headers
from bot.demo.standin.slack import SlackStandIn

INTROS = "C0INTROS"


@pytest.fixture
async def standin() -> AsyncIterator[SlackStandIn]:
    """A started stand-in, closed after the test."""
    server = await SlackStandIn().start()
    yield server
    await server.close()


def client_for(standin: SlackStandIn, token: str | None = None, **kwargs: Any) -> AsyncWebClient:
    """A real slack_sdk client pointed at the stand-in, with the bot token unless told."""
    return AsyncWebClient(token=token or standin.token, base_url=standin.api_url, **kwargs)


async def test_post_update_and_reply_in_thread(standin: SlackStandIn) -> None:
    client = client_for(standin)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*New referral*"}}]
    before = time.time()
    posted = await client.chat_postMessage(
        channel="#partner-intros", text="New referral", blocks=blocks
    )
    assert posted["channel"] == INTROS
    assert before <= float(posted["ts"]) <= time.time()  # when Slack took it, as Slack's ts
    assert posted["message"]["blocks"] == blocks
    parent = posted["ts"]

    reply = await client.chat_postMessage(channel=INTROS, thread_ts=parent, text="Claimed by Ada")
    assert float(reply["ts"]) > float(parent)
    updated = await client.chat_update(channel=INTROS, ts=parent, text="Claimed", blocks=[])

    assert updated["message"]["text"] == "Claimed"
    assert standin.messages[INTROS, parent]["text"] == "Claimed"
    assert [m["text"] for m in standin.thread(INTROS, parent)] == ["Claimed by Ada"]
    link = await client.chat_getPermalink(channel=INTROS, message_ts=parent)
    assert link["permalink"].endswith(f"/archives/{INTROS}/p{parent.replace('.', '')}")
    assert [a["channel"] for a in await standin.wait_for("chat.postMessage", 2)] == [
        "#partner-intros",
        INTROS,
    ]


async def test_slack_errors_for_unknown_things(standin: SlackStandIn) -> None:
    client = client_for(standin)
    anonymous = AsyncWebClient(base_url=standin.api_url)
    cases: list[tuple[Callable[[], Awaitable[Any]], str]] = [
        (lambda: client.chat_postMessage(channel="#nowhere", text="hi"), "channel_not_found"),
        (lambda: client.chat_update(channel=INTROS, ts="1.000100", text="x"), "message_not_found"),
        (lambda: client.users_info(user="UNOBODY"), "user_not_found"),
        (lambda: client.usergroups_users_list(usergroup="SNONE"), "no_such_subteam"),
        (lambda: client.api_call("chat.scheduleMessage"), "unknown_method"),
        (lambda: client_for(standin, "xoxb-wrong").auth_test(), "invalid_auth"),
        (lambda: anonymous.auth_test(), "not_authed"),
        (lambda: client.apps_connections_open(app_token=standin.token), "invalid_auth"),
    ]
    for call, error in cases:
        with pytest.raises(SlackApiError) as raised:
            await call()
        assert raised.value.response["error"] == error, error
    assert standin.messages == {}
    assert [c.ok for c in standin.calls] == [False] * len(cases)


async def test_ephemeral_publish_usergroups_and_users(standin: SlackStandIn) -> None:
    client = client_for(standin)
    standin.usergroups["S0PARTNERS"] = ["U1", "U2"]
    standin.users["U1"] = {"id": "U1", "name": "ada", "real_name": "Ada", "tz": "Europe/Berlin"}
    view = {"type": "home", "blocks": [{"type": "divider"}]}

    ephemeral = await client.chat_postEphemeral(channel=INTROS, user="U1", text="Only you")
    await client.views_publish(user_id="U1", view=view)
    members = await client.usergroups_users_list(usergroup="S0PARTNERS")
    info = await client.users_info(user="U1")

    assert ephemeral["message_ts"]
    assert standin.ephemerals == [{"channel": INTROS, "user": "U1", "text": "Only you"}]
    assert standin.views["U1"] == view
    assert members["users"] == ["U1", "U2"]
    assert info["user"]["tz"] == "Europe/Berlin"
    assert standin.calls[0].token == standin.token


async def test_history_is_newest_first_top_level_with_metadata(standin: SlackStandIn) -> None:
    client = client_for(standin)
    metadata = {"event_type": "referral_posted", "event_payload": {"referral_id": 7}}
    first = await client.chat_postMessage(channel=INTROS, text="one", metadata=metadata)
    await client.chat_postMessage(channel=INTROS, text="reply", thread_ts=first["ts"])
    await client.chat_postMessage(channel=INTROS, text="two")

    plain = await client.conversations_history(channel=INTROS)
    full = await client.conversations_history(channel=INTROS, include_all_metadata=True, limit=1)

    assert [m["text"] for m in plain["messages"]] == ["two", "one"]
    assert all("metadata" not in m for m in plain["messages"])
    assert [m["text"] for m in full["messages"]] == ["two"] and full["has_more"]
    newer = await client.conversations_history(
        channel=INTROS, include_all_metadata=True, oldest="0"
    )
    assert newer["messages"][1]["metadata"] == metadata


async def test_rate_limit_is_retried_by_the_sdk_handler(standin: SlackStandIn) -> None:
    client = client_for(standin)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    standin.fail("chat.postMessage", rate_limited(1))

    await client.chat_postMessage(channel=INTROS, text="hello")

    first, retry = (c for c in standin.calls if c.method == "chat.postMessage")
    assert retry.at - first.at >= 0.9
    assert (first.ok, retry.ok) == (False, True)
    assert len(standin.messages) == 1


async def test_rate_limit_without_handler_raises_429(standin: SlackStandIn) -> None:
    standin.fail("chat.postMessage", rate_limited(7))
    with pytest.raises(SlackApiError) as raised:
        await client_for(standin).chat_postMessage(channel=INTROS, text="hello")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"


async def test_server_error_and_slack_error(standin: SlackStandIn) -> None:
    client = client_for(standin)
    standin.fail("users.info", server_error(503), slack_error("fatal_error"))
    with pytest.raises(SlackApiError) as raised:
        await client.users_info(user="U1")
    assert raised.value.response.status_code == 503
    with pytest.raises(SlackApiError, match="fatal_error"):
        await client.users_info(user="U1")
    assert len(standin.calls_to("users.info")) == 2


async def test_disconnect_is_retried_once_by_default(standin: SlackStandIn) -> None:
    # slack_sdk's default retry handlers retry a dropped connection once.
    standin.fail("auth.test", disconnect())
    assert (await client_for(standin).auth_test())["user_id"] == "UBOT"

    standin.fail("auth.test", disconnect())
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client_for(standin, retry_handlers=[]).auth_test()
    assert [c.ok for c in standin.calls] == [False, True, False]


async def test_slow_answers_late_and_wait_for_times_out(standin: SlackStandIn) -> None:
    standin.fail("auth.test", slow(0.2))
    started = time.monotonic()
    call = asyncio.create_task(client_for(standin).auth_test())
    with pytest.raises(AssertionError, match=r"auth.test: 0 ok of 1 calls"):
        await standin.wait_for("auth.test", timeout=0.05)
    assert len(await standin.wait_for("auth.test")) == 1
    await call
    assert time.monotonic() - started >= 0.2


async def test_response_url_records_json(standin: SlackStandIn) -> None:
    # Bolt's respond() posts to the response URL with slack_sdk's webhook client.
    url = standin.response_url()
    answer = await AsyncWebhookClient(url).send(text="Done", replace_original=True)
    assert (answer.status_code, json.loads(answer.body)) == (200, {"ok": True})
    assert url.startswith(f"{standin.url}/respond/") and url != standin.response_url()
    assert standin.responses == [{"text": "Done", "replace_original": True}]


def test_signed_headers_verify_with_slack_sdk() -> None:
    body = form_body({"type": "block_actions", "actions": []})
    headers = signed_headers(body, "shh")
    assert SignatureVerifier("shh").is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    old = signed_headers(command_body(command="/handoff"), "shh", timestamp=1)
    assert not SignatureVerifier("shh").is_valid_request(command_body(command="/handoff"), old)


async def test_socket_mode_delivers_an_action_and_returns_the_ack(standin: SlackStandIn) -> None:
    app = AsyncApp(client=client_for(standin))
    clicked: list[str] = []

    @app.action("x")
    async def on_x(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        clicked.append(body["actions"][0]["value"])

    handler = AsyncSocketModeHandler(app, standin.app_token)
    await handler.connect_async()
    payload = {
        "type": "block_actions",
        "user": {"id": "U1", "team_id": "T0TEAM"},
        "team": {"id": "T0TEAM", "domain": "standin"},
        "api_app_id": "A0APP",
        "trigger_id": "1.2.abc",
        "response_url": standin.response_url(),
        "channel": {"id": INTROS, "name": "partner-intros"},
        "actions": [{"action_id": "x", "block_id": "b", "type": "button", "value": "claim"}],
    }
    try:
        ack = await standin.socket_send("interactive", payload, timeout=5)
    finally:
        await handler.close_async()
    await asyncio.sleep(0)  # let the cancelled SDK tasks finish

    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert not standin.socket_connected.is_set()
    assert set(ack) == {"envelope_id"}
    assert clicked == ["claim"]
    assert standin.calls_to("apps.connections.open") == [{}]
    assert standin.calls[0].token == standin.app_token


async def test_form_bodies_and_views(standin: SlackStandIn) -> None:
    client = client_for(standin)
    blocks = [{"type": "divider"}]
    # Form-encoded, as Slack's own docs show: nested fields arrive as JSON strings.
    data = {"channel": INTROS, "text": "form", "blocks": json.dumps(blocks)}
    await client.api_call("chat.postMessage", data=data)
    opened = await client.views_open(trigger_id="1.2.abc", view={"type": "modal", "blocks": []})
    await client.views_update(
        view_id=opened["view"]["id"], view={"type": "modal", "blocks": blocks}
    )

    assert standin.calls_to("chat.postMessage")[0]["blocks"] == blocks
    assert standin.calls_to("views.update")[0]["view"]["blocks"] == blocks
    assert opened["view"]["type"] == "modal"


async def test_socket_mode_wire_format(standin: SlackStandIn) -> None:
    with pytest.raises(AssertionError, match="no Socket Mode client connected"):
        await standin.socket_send("events_api", {}, timeout=0.05)
    opened = await client_for(standin).apps_connections_open(app_token=standin.app_token)
    async with aiohttp.ClientSession() as session, session.ws_connect(opened["url"]) as ws:
        hello = await ws.receive_json()
        sending = asyncio.create_task(standin.socket_send("events_api", {"event": {}}))
        envelope = await ws.receive_json()
        await ws.send_json({"envelope_id": envelope["envelope_id"]})
        ack = await sending

    assert hello["type"] == "hello" and hello["connection_info"]["app_id"] == "A0APP"
    assert envelope["type"] == "events_api" and not envelope["accepts_response_payload"]
    assert ack == {"envelope_id": envelope["envelope_id"]}


CSV = b'referral_id,partner\r\n7,Ada & Co\r\n8,"Babbage, Ltd"\r\n'
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"


async def test_upload_a_csv_to_a_channel_thread(standin: SlackStandIn) -> None:
    client = client_for(standin)
    parent = (await client.chat_postMessage(channel=INTROS, text="Weekly report"))["ts"]

    uploaded = await client.files_upload_v2(
        channel=INTROS,
        content=CSV,
        filename="referrals.csv",
        title="Referrals this week",
        initial_comment="Here are this week's referrals",
        thread_ts=parent,
    )

    file_id = uploaded["file"]["id"]
    assert uploaded["files"] == [uploaded["file"]]
    assert uploaded["file"]["name"] == "referrals.csv"
    assert uploaded["file"]["title"] == "Referrals this week"
    assert (uploaded["file"]["mimetype"], uploaded["file"]["size"]) == ("text/csv", len(CSV))
    [share] = standin.thread(INTROS, parent)
    assert standin.files == [
        {
            "id": file_id,
            "title": "Referrals this week",
            "filename": "referrals.csv",
            "channel": INTROS,
            "initial_comment": "Here are this week's referrals",
            "thread_ts": parent,
            "ts": share["ts"],
            "content": CSV,
        }
    ]
    assert standin.files_in(INTROS) == standin.files
    assert share["text"] == "Here are this week's referrals"
    assert [f["id"] for f in share["files"]] == [file_id]
    assert [c.method for c in standin.calls][1:] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    assert standin.calls_to("files.getUploadURLExternal") == [
        {"filename": "referrals.csv", "length": str(len(CSV))}
    ]
    assert standin.calls_to("files.completeUploadExternal")[0]["files"] == [
        {"id": file_id, "title": "Referrals this week"}
    ]


async def test_upload_a_png_to_a_dm_opened_with_conversations_open(
    standin: SlackStandIn,
) -> None:
    client = client_for(standin)
    standin.users["U1"] = {"id": "U1", "name": "ada"}
    dm = (await client.conversations_open(users="U1"))["channel"]["id"]

    uploaded = await client.files_upload_v2(
        channel=dm, file=PNG, filename="chart.png", alt_txt="Referrals per week"
    )

    assert dm == SlackStandIn.dm("U1")
    assert uploaded["file"]["mimetype"] == "image/png"
    assert uploaded["file"]["alt_txt"] == "Referrals per week"
    [png] = standin.files_in(dm)
    assert (png["content"], png["filename"], png["title"]) == (PNG, "chart.png", "chart.png")
    assert (png["initial_comment"], png["thread_ts"]) == (None, None)
    assert standin.files_in(INTROS) == []
    assert [m["files"][0]["id"] for m in standin.dms("U1")] == [png["id"]]
    # A user id in `channels` shares into the app's DM with that user, as Slack does.
    await client.files_upload_v2(channels=["U1"], content="again", filename="again.txt")
    assert [f["content"] for f in standin.files_in(dm)] == [PNG, b"again"]


async def test_upload_url_answers_like_files_slack_com(standin: SlackStandIn) -> None:
    ticket = await client_for(standin).files_getUploadURLExternal(filename="a.csv", length=5)
    form = aiohttp.FormData()
    form.add_field("filename", b"a,b\r\n", filename="a.csv", content_type="text/csv")
    async with aiohttp.ClientSession() as session:
        async with session.post(ticket["upload_url"], data=form) as answer:
            assert (answer.status, answer.content_type) == (200, "text/plain")
            assert await answer.text() == "OK - 5"
        async with session.post(f"{standin.url}/upload/FNOPE", data=b"x") as answer:
            assert answer.status == 404

    done = await client_for(standin).files_completeUploadExternal(files=[{"id": ticket["file_id"]}])

    assert ticket["file_id"].startswith("F")
    assert ticket["upload_url"] == f"{standin.url}/upload/{ticket['file_id']}"
    assert done["files"][0]["title"] == "a.csv"
    assert [(f["channel"], f["content"]) for f in standin.files] == [(None, b"a,b\r\n")]
    assert standin.messages == {}


async def test_upload_errors_are_slacks(standin: SlackStandIn) -> None:
    client = client_for(standin)
    never_sent = (await client.files_getUploadURLExternal(filename="x.csv", length=1))["file_id"]
    cases: list[tuple[Callable[[], Awaitable[Any]], str]] = [
        (
            lambda: client.api_call("files.getUploadURLExternal", params={"length": 3}),
            "invalid_arguments",
        ),
        (lambda: client.files_getUploadURLExternal(filename="x.csv", length=0), "missing_argument"),
        (lambda: client.files_completeUploadExternal(files=[{"id": "FNOPE"}]), "file_not_found"),
        (lambda: client.files_completeUploadExternal(files=[{"id": never_sent}]), "file_not_found"),
        # completeUploadExternal takes channel ids, not names.
        (
            lambda: client.files_upload_v2(channel="#partner-intros", content="x", filename="x"),
            "channel_not_found",
        ),
    ]
    for call, error in cases:
        with pytest.raises(SlackApiError) as raised:
            await call()
        assert raised.value.response["error"] == error, error
    assert standin.files == []


async def test_upload_failures_are_injected(standin: SlackStandIn) -> None:
    client = client_for(standin)
    standin.fail("files.completeUploadExternal", slack_error("not_in_channel"))
    with pytest.raises(SlackApiError, match="not_in_channel"):
        await client.files_upload_v2(channel=INTROS, content=CSV, filename="r.csv")
    standin.fail(UPLOAD, server_error(503))
    with pytest.raises(SlackRequestError, match=r"status: 503"):
        await client.files_upload_v2(channel=INTROS, content=CSV, filename="r.csv")
    assert standin.files == []

    # The bytes of the first attempt arrived: completing it again shares them.
    [first] = standin.calls_to("files.completeUploadExternal")
    await client.files_completeUploadExternal(files=first["files"], channel_id=INTROS)
    assert [f["content"] for f in standin.files_in(INTROS)] == [CSV]
    assert len(standin.calls_to("files.completeUploadExternal")) == 2

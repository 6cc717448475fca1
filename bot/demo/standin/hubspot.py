"""A HubSpot CRM stand-in: a real local aiohttp server that answers as HubSpot's CRM v3 and v4
APIs do, closely enough that the official `hubspot-api-client` works against it unmodified."""

from __future__ import annotations

import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.demo.standin.hubspot_search import (
    ASSOCIATIONS,
    DEFAULT_PROPERTIES,
    DEFAULT_TYPE,
    TYPE_NAMES,
    TYPES,
    HubSpotError,
    Records,
    correlation_id,
    page,
    paged,
    property_json,
    search,
)

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
# A private app's limits, as HubSpot's headers say them: 190 requests per rolling 10 s.
DAILY, WINDOW_MAX, WINDOW_MS, SECONDLY = 250_000, 190, 10_000, 19
CATEGORIES = {400: "VALIDATION_ERROR", 401: "INVALID_AUTHENTICATION", 403: "MISSING_SCOPES"}
CATEGORIES |= {404: "OBJECT_NOT_FOUND", 409: "CONFLICT"}

Answer = tuple[int, Any, dict[str, str]]  # status, JSON body, headers
Handler = Callable[..., tuple[int, Any]]


@dataclass
class Call:
    """One request as the stand-in received it, and the status it was answered with."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 0


@dataclass
class _Scripted:
    prefix: str
    status: int
    times: int
    method: str | None


class HubSpotStandIn(Records):
    """HubSpot's CRM on 127.0.0.1: contacts, companies, deals, associations, properties, owners
    and the deal pipeline, in memory, with HubSpot's errors and rate-limit headers."""

    def __init__(self, token: str = "pat-na1-standin-token") -> None:
        super().__init__()
        self.token = token
        self.down = False  # True: every request is answered 503, as in an outage
        self.calls: list[Call] = []
        self._recent: deque[float] = deque()  # when the requests in the rate window came
        self._used_today = 0
        self._scripted: list[_Scripted] = []
        self._runner: web.AppRunner | None = None
        self._port = 0
        o, p, one = r"/crm/v3/objects/([^/]+)", r"/crm/v3/properties/([^/]+)", r"/([^/]+)"
        v4 = r"/crm/v4/objects/([^/]+)/([^/]+)/associations"
        routes: list[tuple[str, str, Handler]] = [
            ("POST", o + "/search", self._search),
            ("POST", o, self._create),
            ("GET", o, self._list),
            ("GET", o + one, self._get),
            ("PATCH", o + one, self._patch),
            ("PUT", v4 + "/default" + one + one, self._associate_default),
            ("PUT", v4 + one + one, self._associate),
            ("GET", v4 + one, self._associations),
            ("POST", p + "/groups", self._create_group),
            ("GET", p + "/groups" + one, self._group),
            ("POST", p + "/batch/create", self._create_properties),
            ("POST", p, self._create_property),
            ("GET", p + one, self._property),
            ("GET", "/crm/v3/owners", self._owners_page),
            ("GET", "/crm/v3/pipelines" + one, self._pipelines_of),
            ("GET", "/crm/v3/pipelines" + one + one, self._pipeline),
        ]
        self._routes = [(m, re.compile(path), handler) for m, path, handler in routes]

    async def start(self) -> HubSpotStandIn:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        """Stop the server."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """The API's root, http://127.0.0.1:PORT: the client's `host`."""
        return f"http://127.0.0.1:{self._port}"

    def fail(
        self, path_prefix: str, status: int, times: int = 1, *, method: str | None = None
    ) -> None:
        """Answer the next `times` requests under `path_prefix` (of `method`, when given) with
        `status`: 429 as HubSpot's rate limit, 5xx as its internal error."""
        self._scripted.append(_Scripted(path_prefix, status, times, method and method.upper()))

    def calls_to(self, method: str, path_prefix: str) -> list[Call]:
        """The requests of `method` under `path_prefix`, answered well or not."""
        method = method.upper()
        return [c for c in self.calls if c.method == method and c.path.startswith(path_prefix)]

    # What a test arranges and reads, without HTTP.

    def objects(self, kind: str) -> dict[str, dict[str, Any]]:
        """Every object of a type by id: properties, timestamps and associated ids by type."""
        kind = self._kind(kind)
        return {object_id: self._view(kind, r) for object_id, r in self._objects[kind].items()}

    def delete(self, kind: str, object_id: str) -> None:
        """Delete an object as a person does in HubSpot: later calls about it answer 404."""
        del self._objects[self._kind(kind)][object_id]

    def deal_by(self, prop: str, value: str) -> dict[str, Any] | None:
        """The first deal whose `prop` is `value` (shown as objects() shows it), or None."""
        found = self._find("deals", prop, value)
        return None if found is None else self._view("deals", found)

    def update_deal(self, deal_id: str, **properties: Any) -> None:
        """Change a deal as a person in HubSpot's UI would: checked, and stamped modified now."""
        self._write("deals", self._record("deals", deal_id), properties)

    def add_contact(self, email: str, **props: Any) -> str:
        """A new contact; its id."""
        return str(self._write("contacts", None, {"email": email} | props)["id"])

    def add_company(self, domain: str, **props: Any) -> str:
        """A new company; its id."""
        return str(self._write("companies", None, {"domain": domain} | props)["id"])

    def add_deal(self, **props: Any) -> str:
        """A new deal (in the default pipeline unless told); its id."""
        return str(self._write("deals", None, props)["id"])

    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Associate two objects with HubSpot's default association type, both ways."""
        kind, to_kind = self._pair(from_type, from_id, to_type, to_id)
        self._link(kind, from_id, to_kind, to_id, DEFAULT_TYPE[kind, to_kind])

    def add_owner(self, email: str, first: str, last: str) -> str:
        """A new owner (a HubSpot user who can own records); its id."""
        owner_id, now, user_id = str(next(self._owner_ids)), self._now(), 1001 + len(self._owners)
        self._owners[owner_id] = {"id": owner_id, "email": email, "type": "PERSON"} | {
            "firstName": first,
            "lastName": last,
            "userId": user_id,
            "userIdIncludingInactive": user_id,
            "createdAt": now,
            "updatedAt": now,
            "archived": False,
            "teams": [],
        }
        return owner_id

    # The server: refusals first (outage, token, scripted failures), then the endpoint.

    async def _handle(self, request: web.Request) -> web.Response:
        query = {name: ",".join(request.query.getall(name)) for name in request.query}
        call = Call(request.method, request.path.rstrip("/") or "/", query, None)
        raw, bad_json = await request.read(), False
        try:
            call.body = json.loads(raw) if raw else None
        except ValueError:
            call.body, bad_json = raw.decode(errors="replace"), True
        self.calls.append(call)
        status, body, headers = self._answer(call, request.headers.get("Authorization"), bad_json)
        call.status = status
        return web.json_response(body, status=status, headers=self._rate_headers() | headers)

    def _answer(self, call: Call, auth: str | None, bad_json: bool) -> Answer:
        try:
            if self.down:
                raise HubSpotError(503, "INTERNAL_ERROR", "internal error")
            if auth != f"Bearer {self.token}":
                raise HubSpotError(401, "INVALID_AUTHENTICATION", AUTH_MESSAGE)
            for s in self._scripted:
                if s.times and call.path.startswith(s.prefix) and s.method in (None, call.method):
                    s.times -= 1
                    return _failure(s.status)
            if bad_json:
                raise HubSpotError(400, "VALIDATION_ERROR", "Invalid input JSON")
            for method, pattern, handler in self._routes:
                if method == call.method and (found := pattern.fullmatch(call.path)):
                    status, body = handler(call, *found.groups())
                    return status, body, {}
            raise HubSpotError(404, "OBJECT_NOT_FOUND", f"No such endpoint: {call.path}")
        except HubSpotError as refused:
            return refused.status, refused.body(), {}

    def _rate_headers(self) -> dict[str, str]:
        now = time.monotonic()
        self._recent.append(now)
        while self._recent[0] <= now - WINDOW_MS / 1000:
            self._recent.popleft()
        self._used_today += 1
        this_second = sum(1 for at in self._recent if at > now - 1)
        return {
            "X-HubSpot-RateLimit-Daily": str(DAILY),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, DAILY - self._used_today)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(WINDOW_MS),
            "X-HubSpot-RateLimit-Max": str(WINDOW_MAX),
            "X-HubSpot-RateLimit-Remaining": str(max(0, WINDOW_MAX - len(self._recent))),
            "X-HubSpot-RateLimit-Secondly": str(SECONDLY),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(max(0, SECONDLY - this_second)),
        }

    # Objects.
    def _create(self, call: Call, kind_name: str) -> tuple[int, Any]:
        kind, body = self._kind(kind_name), call.body or {}
        links = []  # all checked before anything is written: HubSpot refuses the whole create
        for association in body.get("associations") or []:
            to_id = str((association.get("to") or {}).get("id"))
            for spec in association.get("types") or []:
                type_id = spec.get("associationTypeId")
                ends = ASSOCIATIONS.get(type_id)
                if ends is None or ends[0] != kind or to_id not in self._objects[ends[1]]:
                    said = f"Invalid association: type {type_id} from {kind} to {to_id}"
                    raise HubSpotError(400, "VALIDATION_ERROR", said)
                links.append((ends[1], to_id, type_id))
        record = self._write(kind, None, body.get("properties") or {})
        for to_kind, to_id, type_id in links:
            self._link(kind, record["id"], to_kind, to_id, type_id)
        return 201, self._shape(kind, record)

    def _list(self, call: Call, kind_name: str) -> tuple[int, Any]:
        kind = self._kind(kind_name)
        shown, after = page(list(self._objects[kind].values()), call.query, 10, 100)
        wanted = [name for name in call.query.get("properties", "").split(",") if name]
        results = [self._shape(kind, r, wanted or DEFAULT_PROPERTIES[kind]) for r in shown]
        return 200, paged({"results": results}, after)

    def _get(self, call: Call, kind_name: str, object_id: str) -> tuple[int, Any]:
        kind = self._kind(kind_name)
        if id_property := call.query.get("idProperty"):  # e.g. a contact by its email
            object_id = (self._find(kind, id_property, object_id) or {}).get("id", "")
        wanted = [name for name in call.query.get("properties", "").split(",") if name]
        record = self._record(kind, object_id)
        return 200, self._shape(kind, record, wanted or DEFAULT_PROPERTIES[kind])

    def _patch(self, call: Call, kind_name: str, object_id: str) -> tuple[int, Any]:
        kind, given = self._kind(kind_name), (call.body or {}).get("properties") or {}
        record = self._write(kind, self._record(kind, object_id), given)
        return 200, self._shape(kind, record)

    def _search(self, call: Call, kind_name: str) -> tuple[int, Any]:
        kind, body = self._kind(kind_name), call.body or {}
        records = [(i, r["properties"]) for i, r in self._objects[kind].items()]  # in id order
        known = self._properties[kind] if kind == "deals" else None  # others take any name
        ids, total, after = search(records, body, known)
        wanted = body.get("properties") or DEFAULT_PROPERTIES[kind]
        results = [self._shape(kind, self._objects[kind][i], wanted) for i in ids]
        return 200, paged({"total": total, "results": results}, after)

    # Associations (v4).

    def _associate_default(
        self, call: Call, kind_name: str, object_id: str, to_name: str, to_id: str
    ) -> tuple[int, Any]:
        kind, to_kind = self._pair(kind_name, object_id, to_name, to_id)
        type_id = DEFAULT_TYPE[kind, to_kind]
        self._link(kind, object_id, to_kind, to_id, type_id)
        both = ((object_id, to_id, type_id), (to_id, object_id, DEFAULT_TYPE[to_kind, kind]))
        spec = {"associationCategory": "HUBSPOT_DEFINED"}
        results = [
            {"from": {"id": a}, "to": {"id": b}, "associationSpec": spec | {"associationTypeId": t}}
            for a, b, t in both
        ]
        now = self._now()
        return 200, {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}

    def _associate(
        self, call: Call, kind_name: str, object_id: str, to_name: str, to_id: str
    ) -> tuple[int, Any]:
        kind, to_kind = self._pair(kind_name, object_id, to_name, to_id)
        specs = call.body if isinstance(call.body, list) and call.body else [{}]
        for spec in specs:
            type_id, category = spec.get("associationTypeId"), spec.get("associationCategory")
            ends = ASSOCIATIONS.get(type_id, ("", "", 0))[:2]
            hubspots = category == "HUBSPOT_DEFINED" and ends == (kind, to_kind)
            if not isinstance(type_id, int) or not (hubspots or category == "USER_DEFINED"):
                raise HubSpotError(400, "VALIDATION_ERROR", f"Invalid association type: {spec}")
        for spec in specs:
            self._link(kind, object_id, to_kind, to_id, spec["associationTypeId"])
        pair = {"fromObjectTypeId": TYPES[kind], "fromObjectId": int(object_id)}
        pair |= {"toObjectTypeId": TYPES[to_kind], "toObjectId": int(to_id), "labels": []}
        return 201, pair

    def _associations(
        self, call: Call, kind_name: str, object_id: str, to_name: str
    ) -> tuple[int, Any]:
        kind, to_kind = self._kind(kind_name), self._kind(to_name)
        self._record(kind, object_id)
        linked = [(i, ids) for (k, i), ids in self._links[kind, object_id].items() if k == to_kind]
        shown, after = page(linked, call.query, 500, 500)
        results = [
            {
                "toObjectId": int(i),  # a number, as HubSpot sends it
                "associationTypes": [
                    {"category": "HUBSPOT_DEFINED" if t in ASSOCIATIONS else "USER_DEFINED"}
                    | {"typeId": t, "label": None}
                    for t in sorted(ids)
                ],
            }
            for i, ids in shown
        ]
        return 200, paged({"results": results}, after)

    # Properties and their groups.

    def _create_group(self, call: Call, kind_name: str) -> tuple[int, Any]:
        groups, body = self._groups[self._kind(kind_name)], call.body or {}
        name, label = body.get("name"), body.get("label")
        if not name or not label:
            raise HubSpotError(400, "VALIDATION_ERROR", "A property group needs a name and a label")
        if name in groups:
            raise HubSpotError(409, "CONFLICT", f"A property group named {name} already exists")
        order = body.get("displayOrder", -1)
        groups[name] = {"name": name, "label": label, "displayOrder": order, "archived": False}
        return 201, groups[name]

    def _group(self, call: Call, kind_name: str, name: str) -> tuple[int, Any]:
        if name not in self._groups[self._kind(kind_name)]:
            raise HubSpotError(404, "OBJECT_NOT_FOUND", f"Unable to find property group {name}")
        return 200, self._groups[self._kind(kind_name)][name]

    def _property(self, call: Call, kind_name: str, name: str) -> tuple[int, Any]:
        if name not in self._properties[self._kind(kind_name)]:
            raise HubSpotError(404, "OBJECT_NOT_FOUND", f"Unable to find property {name}")
        return 200, self._properties[self._kind(kind_name)][name]

    def _new_property(self, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
        missing = [
            f for f in ("name", "label", "type", "fieldType", "groupName") if not spec.get(f)
        ]
        if missing:
            raise HubSpotError(400, "VALIDATION_ERROR", f"Missing required fields: {missing}")
        name = str(spec["name"])
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or spec["type"] not in TYPE_NAMES:
            raise HubSpotError(400, "VALIDATION_ERROR", f"Invalid property definition: {name}")
        if name in self._properties[kind]:
            raise HubSpotError(409, "CONFLICT", f"A property named '{name}' already exists.")
        if spec["groupName"] not in self._groups[kind]:
            said = f"Unable to find property group {spec['groupName']}"
            raise HubSpotError(400, "VALIDATION_ERROR", said)
        self._properties[kind][name] = property_json(spec, self._now())
        return self._properties[kind][name]

    def _create_property(self, call: Call, kind_name: str) -> tuple[int, Any]:
        return 201, self._new_property(self._kind(kind_name), call.body or {})

    def _create_properties(self, call: Call, kind_name: str) -> tuple[int, Any]:
        kind, results, errors = self._kind(kind_name), [], []
        for spec in (call.body or {}).get("inputs") or []:
            try:
                results.append(self._new_property(kind, spec))
            except HubSpotError as refused:  # the others are made: HubSpot's 207
                context = {"context": {"name": [str(spec.get("name"))]}, "links": {}, "errors": []}
                errors.append(refused.body() | context)
        now = self._now()
        answer = {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
        if errors:
            return 207, answer | {"numErrors": len(errors), "errors": errors}
        return 201, answer

    # Owners and pipelines.

    def _owners_page(self, call: Call) -> tuple[int, Any]:
        email = call.query.get("email", "").casefold()
        owners = [o for o in self._owners.values() if email in ("", o["email"].casefold())]
        if call.query.get("archived") == "true":
            owners = []  # nobody has left
        shown, after = page(owners, call.query, 100, 500)
        return 200, paged({"results": shown}, after)

    def _pipelines_of(self, call: Call, kind_name: str) -> tuple[int, Any]:
        deals = self._kind(kind_name) == "deals"
        return 200, {"results": list(self._pipelines.values()) if deals else []}

    def _pipeline(self, call: Call, kind_name: str, pipeline_id: str) -> tuple[int, Any]:
        if self._kind(kind_name) != "deals" or pipeline_id not in self._pipelines:
            raise HubSpotError(404, "OBJECT_NOT_FOUND", f"Unable to find pipeline {pipeline_id}")
        return 200, self._pipelines[pipeline_id]


def _failure(status: int) -> Answer:
    """A scripted failure's answer: HubSpot's rate-limit 429, its 5xx, or a plain refusal."""
    if status == 429:
        body = {"status": "error", "message": "You have reached your ten_secondly_rolling limit."}
        body |= {"errorType": "RATE_LIMIT", "correlationId": correlation_id()}
        body |= {"policyName": "TEN_SECONDLY_ROLLING", "groupName": "publicapi:private-app:standin"}
        return 429, body, {"X-HubSpot-RateLimit-Remaining": "0", "Retry-After": "1"}
    category = "INTERNAL_ERROR" if status >= 500 else CATEGORIES.get(status, "VALIDATION_ERROR")
    message = "internal error" if status >= 500 else "scripted failure"
    return status, HubSpotError(status, category, message).body(), {}

"""The records behind the HubSpot stand-in (hubspot.py): objects and their properties as HubSpot
writes, checks and associates them, its error body, its built-in properties and deal pipeline, and
CRM search (filter groups, sorts and paging) as HubSpot answers it."""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

TYPES = {"contacts": "0-1", "companies": "0-2", "deals": "0-3"}  # name: objectTypeId
SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal"}
FIRST_ID = {"contacts": 101, "companies": 5001, "deals": 9001}  # ids that differ per type
ALIASES = {alias: kind for kind in TYPES for alias in (kind, SINGULAR[kind], TYPES[kind])}
# HubSpot's own "modified" property: contacts' lastmodifieddate, deals' hs_lastmodifieddate;
# companies carry both here (HubSpot's own companies answer with hs_lastmodifieddate).
MODIFIED: dict[str, tuple[str, ...]] = {
    "contacts": ("lastmodifieddate",),
    "companies": ("hs_lastmodifieddate", "lastmodifieddate"),
    "deals": ("hs_lastmodifieddate",),
}
READ_ONLY = {"hs_object_id", "lastmodifieddate", "hs_lastmodifieddate"}
DEFAULT_PROPERTIES = {  # what HubSpot answers with when no properties are asked for
    "contacts": ("email", "firstname", "lastname"),
    "companies": ("domain", "name"),
    "deals": ("amount", "closedate", "dealname", "dealstage", "pipeline"),
}
# HUBSPOT_DEFINED association types: id -> (from, to, the reverse's id).
ASSOCIATIONS = {3: ("deals", "contacts", 4), 4: ("contacts", "deals", 3)}
ASSOCIATIONS |= {5: ("deals", "companies", 6), 6: ("companies", "deals", 5)}
ASSOCIATIONS |= {279: ("contacts", "companies", 280), 280: ("companies", "contacts", 279)}
DEFAULT_TYPE = {(a, b): type_id for type_id, (a, b, _) in ASSOCIATIONS.items()}
STAGES = (  # HubSpot's default deal pipeline: (id, label, probability)
    ("appointmentscheduled", "Appointment Scheduled", "0.2"),
    ("qualifiedtobuy", "Qualified To Buy", "0.4"),
    ("presentationscheduled", "Presentation Scheduled", "0.6"),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8"),
    ("contractsent", "Contract Sent", "0.9"),
    ("closedwon", "Closed Won", "1.0"),
    ("closedlost", "Closed Lost", "0.0"),
)
TEXT, DATE, NUMBER = ("string", "text"), ("datetime", "date"), ("number", "number")
SELECT, RADIO, AREA = ("enumeration", "select"), ("enumeration", "radio"), ("string", "textarea")
MADE = {"hs_object_id": ("Record ID", NUMBER), "createdate": ("Create Date", DATE)}
CHANGED = ("Last Modified Date", DATE)
BUILT_IN: dict[str, dict[str, tuple[str, tuple[str, str]]]] = {  # name: (label, (type, field))
    "contacts": MADE
    | {"email": ("Email", TEXT), "firstname": ("First Name", TEXT)}
    | {"lastname": ("Last Name", TEXT), "hubspot_owner_id": ("Contact owner", SELECT)}
    | {"lastmodifieddate": CHANGED},
    "companies": MADE
    | {"name": ("Name", TEXT), "domain": ("Company Domain Name", TEXT)}
    | {"hubspot_owner_id": ("Company owner", SELECT)}
    | {"hs_lastmodifieddate": CHANGED, "lastmodifieddate": CHANGED},
    "deals": MADE
    | {"dealname": ("Deal Name", TEXT), "pipeline": ("Pipeline", SELECT)}
    | {"dealstage": ("Deal Stage", RADIO), "amount": ("Amount", NUMBER)}
    | {"closedate": ("Close Date", DATE), "hubspot_owner_id": ("Deal owner", SELECT)}
    | {"description": ("Deal Description", AREA), "hs_lastmodifieddate": CHANGED},
}
GROUPS = {  # each type's built-in property group
    "contacts": "contactinformation",
    "companies": "companyinformation",
    "deals": "dealinformation",
}
TYPE_NAMES = {"string", "number", "date", "datetime", "enumeration", "bool"}

MAX_LIMIT = 200  # HubSpot refuses a bigger search page
MAX_GROUPS, MAX_FILTERS = 5, 6  # filter groups per search, filters per group

Record = tuple[str, dict[str, str]]  # an object's id and properties


class HubSpotError(Exception):
    """Refuse a request with HubSpot's error body: {"status": "error", "message", ...}."""

    def __init__(self, status: int, category: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.category, self.message, self.extra = status, category, message, extra

    def body(self) -> dict[str, Any]:
        """The JSON HubSpot answers with, a fresh correlation id in it."""
        said = {"status": "error", "message": self.message, "correlationId": correlation_id()}
        return said | {"category": self.category} | self.extra


def correlation_id() -> str:
    """A fresh id for one answer, as HubSpot puts in each error (a UUID)."""
    return str(uuid.uuid4())


def invalid(problems: list[tuple[str, str, str]]) -> HubSpotError:
    """HubSpot's 400 for bad property values: each problem is (property, code, message)."""
    listed = [{"isValid": False, "message": m, "error": c, "name": n} for n, c, m in problems]
    errors = [{"message": m, "code": c, "context": {"propertyName": [n]}} for n, c, m in problems]
    said = json.dumps(listed, separators=(",", ":"))
    return HubSpotError(
        400, "VALIDATION_ERROR", f"Property values were not valid: {said}", errors=errors
    )


def iso(ms: int) -> str:
    """Epoch milliseconds as HubSpot writes an instant: 2024-05-01T12:00:00.123Z."""
    at = datetime.fromtimestamp(ms // 1000, UTC)
    return f"{at:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def number(value: Any) -> float | None:
    """A value as search compares it: a number, or an instant (ISO or date) as epoch ms."""
    if value is None or value == "":
        return None
    if (as_number := _float(value)) is not None:
        return as_number
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp() * 1000


def text(value: Any) -> str | None:
    """A property value as HubSpot stores it (a string; true/false for booleans; None clears)."""
    if value is None or isinstance(value, bool):
        return None if value is None else str(value).lower()
    return str(value)


def property_json(spec: dict[str, Any], at: str, *, hubspot: bool = False) -> dict[str, Any]:
    """A property definition as HubSpot shows one, from what created it."""
    options = [
        {"label": o.get("label"), "value": o.get("value"), "description": o.get("description", "")}
        | {"displayOrder": o.get("displayOrder", n), "hidden": bool(o.get("hidden", False))}
        for n, o in enumerate(spec.get("options") or [])
    ]
    given = {k: spec.get(k, v) for k, v in (("description", ""), ("displayOrder", -1))}
    flags = ("externalOptions", "hasUniqueValue", "hidden", "formField")
    return (
        {k: spec[k] for k in ("name", "label", "type", "fieldType", "groupName")}
        | given
        | {flag: bool(spec.get(flag, False)) for flag in flags}
        | {"options": options, "calculated": False, "hubspotDefined": hubspot}
        | {"createdAt": at, "updatedAt": at, "archived": False}
        | {
            "modificationMetadata": {
                "archivable": not hubspot,
                "readOnlyDefinition": hubspot,
                "readOnlyValue": spec["name"] in READ_ONLY,
            }
        }
    )


def built_in_properties(kind: str, at: str) -> dict[str, dict[str, Any]]:
    """A type's HubSpot-defined properties; the deal pipeline's ids and stages as options."""
    options = {
        "pipeline": [{"label": "Sales Pipeline", "value": "default"}],
        "dealstage": [{"label": label, "value": stage} for stage, label, _ in STAGES],
    }
    return {
        name: property_json(
            {"name": name, "label": label, "type": kind_type, "fieldType": field_type}
            | {"groupName": GROUPS[kind], "options": options.get(name, [])},
            at,
            hubspot=True,
        )
        for name, (label, (kind_type, field_type)) in BUILT_IN[kind].items()
    }


def pipeline_json(at: str) -> dict[str, Any]:
    """HubSpot's default deal pipeline, its seven stages in order."""
    stages = [
        {"id": stage, "label": label, "displayOrder": n, "archived": False}
        | {"metadata": {"isClosed": str(stage.startswith("closed")).lower(), "probability": p}}
        | {"createdAt": at, "updatedAt": at, "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT"}
        for n, (stage, label, p) in enumerate(STAGES)
    ]
    pipeline = {"id": "default", "label": "Sales Pipeline", "displayOrder": 0, "archived": False}
    return pipeline | {"createdAt": at, "updatedAt": at, "stages": stages}


def stored(
    spec: dict[str, Any], value: str, owners: Collection[str]
) -> tuple[str, tuple[str, str] | None]:
    """A value for a defined property as HubSpot keeps it (instants normalized), and what is
    wrong with it, if anything, as (HubSpot's code, its message)."""
    name, kind = spec["name"], spec["type"]
    if kind in ("date", "datetime"):
        ms = number(value)
        if ms is None:
            return value, ("INVALID_DATE", f"{value} is not a valid date")
        return iso(int(ms))[: 10 if kind == "date" else None], None
    if kind == "number" and _float(value) is None:
        return value, ("INVALID_DECIMAL", f"{value} is not a valid number")
    if name == "hubspot_owner_id" and value not in owners:
        return value, ("INVALID_OWNER_ID", f"{value} is not a valid owner id")
    options = [o["value"] for o in spec["options"]]
    if name != "dealstage" and options and not set(value.split(";")) <= set(options):
        return value, ("INVALID_OPTION", f"{value} was not one of the allowed options: {options}")
    return value, None  # dealstage: checked against its own pipeline by the caller


def page(
    items: list[Any], query: dict[str, Any], default: int, most: int
) -> tuple[list, str | None]:
    """One page of a listing by `limit` and `after` (an offset, here); the next `after`, if any."""
    try:
        limit, at = int(query.get("limit") or default), int(query.get("after") or 0)
    except (TypeError, ValueError):
        raise HubSpotError(400, "VALIDATION_ERROR", "Invalid limit or after") from None
    limit = max(1, min(limit, most))
    return items[at : at + limit], str(at + limit) if at + limit < len(items) else None


def paged(answer: dict[str, Any], after: str | None) -> dict[str, Any]:
    """The answer with HubSpot's paging, which it sends only when there is a next page."""
    return answer | {"paging": {"next": {"after": after}}} if after else answer


class Records:
    """HubSpot's objects as the stand-in keeps them: written and checked as HubSpot does them,
    associated both ways; with the properties, owners and pipeline they are checked against."""

    def __init__(self) -> None:
        self._objects: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in TYPES}
        self._ids = {kind: itertools.count(first) for kind, first in FIRST_ID.items()}
        # (type, id) -> (type, id) -> association type ids, kept both ways as HubSpot does.
        self._links: defaultdict[tuple[str, str], dict[tuple[str, str], set[int]]]
        self._links = defaultdict(dict)
        self._owners: dict[str, dict[str, Any]] = {}
        self._owner_ids = itertools.count(70_000_001)
        self._last_ms = 0
        born = self._now()
        self._pipelines = {"default": pipeline_json(born)}
        self._groups = {
            kind: {name: {"name": name, "label": name, "displayOrder": -1, "archived": False}}
            for kind, name in GROUPS.items()
        }
        self._properties = {kind: built_in_properties(kind, born) for kind in TYPES}

    def _now(self) -> str:
        return iso(int(time.time() * 1000))

    def _tick(self) -> int:
        # Epoch ms for a write, later than every earlier write's even within one millisecond:
        # a poller's "modified at or after" cursor relies on it.
        self._last_ms = max(int(time.time() * 1000), self._last_ms + 1)
        return self._last_ms

    def _kind(self, name: str) -> str:
        if name not in ALIASES:
            raise HubSpotError(400, "VALIDATION_ERROR", f"Unable to infer object type from: {name}")
        return ALIASES[name]

    def _record(self, kind: str, object_id: str) -> dict[str, Any]:
        if object_id not in self._objects[kind]:
            message = "Object not found.  objectId are usually numeric."
            raise HubSpotError(404, "OBJECT_NOT_FOUND", message)
        return self._objects[kind][object_id]

    def _find(self, kind: str, prop: str, value: str) -> dict[str, Any] | None:
        def same(record: dict[str, Any]) -> bool:
            return (record["properties"].get(prop) or "").casefold() == value.casefold()

        return next(filter(same, self._objects[kind].values()), None)

    def _view(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        linked: dict[str, list[str]] = {}
        for to_kind, to_id in self._links[kind, record["id"]]:
            linked.setdefault(to_kind, []).append(to_id)
        return record | {"properties": dict(record["properties"]), "associations": linked}

    def _shape(
        self, kind: str, record: dict[str, Any], wanted: Iterable[str] | None = None
    ) -> dict[str, Any]:
        # The asked-for properties (null when unset; an unknown deal property left out) and
        # those HubSpot always adds; or all.
        props = record["properties"]
        if wanted is not None:
            names = dict.fromkeys([*wanted, "hs_object_id", "createdate", *MODIFIED[kind]])
            known = self._properties[kind]
            props = {n: props.get(n) for n in names if kind != "deals" or n in props or n in known}
        return record | {"properties": dict(props)}

    def _write(
        self, kind: str, record: dict[str, Any] | None, given: dict[str, Any]
    ) -> dict[str, Any]:
        values = self._validate(kind, record, given)
        stamp = iso(self._tick())
        if record is None:
            object_id = str(next(self._ids[kind]))
            props = {"hs_object_id": object_id, "createdate": stamp}
            props |= {"pipeline": "default"} if kind == "deals" else {}  # HubSpot's, untold
            record = {"id": object_id, "properties": props, "createdAt": stamp, "archived": False}
            self._objects[kind][object_id] = record
        props = record["properties"]
        props |= {name: value for name, value in values.items() if value is not None}
        for name in [name for name, value in values.items() if value is None]:
            props.pop(name, None)  # null (or "") clears a value, as in HubSpot
        props |= dict.fromkeys(MODIFIED[kind], stamp)
        record["updatedAt"] = stamp
        return record

    def _validate(
        self, kind: str, record: dict[str, Any] | None, given: dict[str, Any]
    ) -> dict[str, str | None]:
        """The values to write as HubSpot stores them, or HubSpot's 400 (or 409) for them."""
        current = record["properties"] if record else {}
        values, problems = {name: text(value) or None for name, value in given.items()}, []
        for name, value in values.items():
            spec = self._properties[kind].get(name)
            if name in READ_ONLY:
                message = f'"{name}" is a read only property; its value cannot be set.'
                problems.append((name, "READ_ONLY_VALUE", message))
            elif spec is None and kind == "deals":  # contacts and companies take any name here
                message = f'Property "{name}" does not exist'
                problems.append((name, "PROPERTY_DOESNT_EXIST", message))
            elif spec is not None and value is not None:
                values[name], problem = stored(spec, value, self._owners)
                problems += [(name, *problem)] if problem else []
        if kind == "deals" and not problems and {"pipeline", "dealstage"} & values.keys():
            # A deal's stage must be one of its pipeline's, whichever of the two changes.
            pipeline = values.get("pipeline") or current.get("pipeline") or "default"
            stages = [s["id"] for s in self._pipelines[pipeline]["stages"]]
            stage = values.get("dealstage", current.get("dealstage"))
            if stage is not None and stage not in stages:
                said = f"{stage} was not one of the allowed options: {stages}"
                problems.append(("dealstage", "INVALID_OPTION", said))
        if problems:
            raise invalid(problems)
        same = self._find(kind, "email", values.get("email") or "") if kind == "contacts" else None
        if same is not None and same is not record:
            message = f"Contact already exists. Existing ID: {same['id']}"
            raise HubSpotError(409, "CONFLICT", message)
        return values

    def _pair(self, kind_name: str, object_id: str, to_name: str, to_id: str) -> tuple[str, str]:
        kind, to_kind = self._kind(kind_name), self._kind(to_name)
        if (kind, to_kind) not in DEFAULT_TYPE:
            raise HubSpotError(400, "VALIDATION_ERROR", f"No associations from {kind} to {to_kind}")
        self._record(kind, object_id)
        self._record(to_kind, to_id)
        return kind, to_kind

    def _link(self, kind: str, object_id: str, to_kind: str, to_id: str, type_id: int) -> None:
        # The reverse gets its HubSpot-defined pair (a custom type's reverse: the default one).
        self._links[kind, object_id].setdefault((to_kind, to_id), set()).add(type_id)
        reverse = (
            ASSOCIATIONS[type_id][2] if type_id in ASSOCIATIONS else DEFAULT_TYPE[to_kind, kind]
        )
        self._links[to_kind, to_id].setdefault((kind, object_id), set()).add(reverse)


def search(
    records: list[Record], request: dict[str, Any], known: Collection[str] | None = None
) -> tuple[list[str], int, str | None]:
    """One page of the ids a search request selects: (ids, total, the next page's `after`).

    `records` come in id order, HubSpot's order when the request has no sorts; `known` is every
    property name the type has (None: any name is accepted).
    """
    limit, after = _int(request.get("limit"), 10, "limit"), _int(request.get("after"), 0, "after")
    if not 0 < limit <= MAX_LIMIT:
        raise HubSpotError(400, "VALIDATION_ERROR", f"limit must be between 1 and {MAX_LIMIT}")
    groups = request.get("filterGroups") or []
    if len(groups) > MAX_GROUPS or any(len(g.get("filters") or []) > MAX_FILTERS for g in groups):
        raise HubSpotError(400, "VALIDATION_ERROR", "Too many filter groups or filters")
    sorts = [_sort(s) for s in request.get("sorts") or []]
    names = [f.get("propertyName") for g in groups for f in g.get("filters") or []]
    for name in [*names, *(name for name, _ in sorts)]:
        if known is not None and name not in known:
            raise HubSpotError(400, "VALIDATION_ERROR", f"Unable to find property: {name}")
    query = str(request.get("query") or "").casefold()
    # Groups are ORed, a group's filters ANDed; no group selects everything.
    chosen = [
        r
        for r in records
        if (not groups or any(all(_match(r[1], f) for f in g.get("filters") or []) for g in groups))
        and (not query or any(query in v.casefold() for v in r[1].values()))
    ]
    for name, descending in reversed(sorts):  # stable sorts, the first sort applied last
        chosen = _sorted(chosen, name, descending)
    ids = [record_id for record_id, _ in chosen[after : after + limit]]
    more = after + limit < len(chosen)
    return ids, len(chosen), str(after + limit) if more else None


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _int(value: Any, default: int, name: str) -> int:
    try:
        return default if value in (None, "") else int(value)
    except (TypeError, ValueError):
        raise HubSpotError(400, "VALIDATION_ERROR", f"Invalid {name}: {value}") from None


def _sort(spec: Any) -> tuple[str, bool]:
    """A sort as (property, descending): "prop", "-prop" or {propertyName, direction}."""
    if isinstance(spec, str):
        return spec.removeprefix("-"), spec.startswith("-")
    return str(spec.get("propertyName")), spec.get("direction") == "DESCENDING"


def _sorted(records: list[Record], name: str, descending: bool) -> list[Record]:
    # Values that all read as numbers (or instants) sort as such, others as text; the records
    # without a value come last either way.
    having = [r for r in records if r[1].get(name)]
    numeric = all(number(r[1][name]) is not None for r in having)

    def key(record: Record) -> Any:
        value = record[1][name]
        return number(value) if numeric else value.casefold()

    having.sort(key=key, reverse=descending)
    return having + [r for r in records if not r[1].get(name)]


def _match(props: dict[str, str], spec: dict[str, Any]) -> bool:
    op, have = spec.get("operator", "EQ"), props.get(str(spec.get("propertyName"))) or None
    if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        return (have is not None) == (op == "HAS_PROPERTY")
    if op in ("IN", "NOT_IN"):
        inside = have is not None and any(_equal(have, v) for v in spec.get("values") or [])
        return inside == (op == "IN")
    want = spec.get("value")
    if op in ("EQ", "NEQ"):  # a missing value is not equal to anything
        return (have is not None and _equal(have, want)) == (op == "EQ")
    if have is None:
        return False
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern = str(want).casefold()
        words = [have.casefold(), *re.split(r"[\s,;@.]+", have.casefold())]
        return any(fnmatchcase(w, pattern) for w in words) == (op == "CONTAINS_TOKEN")
    if op == "BETWEEN":
        return _order(have, want) in (0, 1) and _order(have, spec.get("highValue")) in (-1, 0)
    wanted = {"GT": (1,), "GTE": (0, 1), "LT": (-1,), "LTE": (-1, 0)}.get(op)
    if wanted is None:
        raise HubSpotError(400, "VALIDATION_ERROR", f"Unknown operator: {op}")
    return _order(have, want) in wanted


def _equal(have: str, want: Any) -> bool:
    # HubSpot compares strings case-insensitively (emails, domains); numbers and instants by value.
    a, b = number(have), number(want)
    if a is not None and b is not None:
        return a == b
    return have.casefold() == str(want).casefold()


def _order(have: str, want: Any) -> int | None:
    a, b = number(have), number(want)
    if a is None or b is None:
        return None  # not comparable as numbers: no match, as HubSpot's range filters
    return (a > b) - (a < b)

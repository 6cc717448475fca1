"""The HubSpot stand-in answers the official hubspot-api-client the way HubSpot does."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import ApiException as AssociationsError
from hubspot.crm.contacts import ApiException as ContactsError
from hubspot.crm.deals import ApiException as DealsError
from hubspot.crm.pipelines import ApiException as PipelinesError
from hubspot.crm.properties import ApiException as PropertiesError
from urllib3.util.retry import Retry

from bot.demo.standin.hubspot import HubSpotStandIn

STAGES = ["appointmentscheduled", "qualifiedtobuy", "presentationscheduled"]
STAGES += ["decisionmakerboughtin", "contractsent", "closedwon", "closedlost"]


@pytest.fixture
async def standin() -> AsyncIterator[HubSpotStandIn]:
    """A started stand-in, closed after the test."""
    server = await HubSpotStandIn().start()
    yield server
    await server.close()


def client_for(standin: HubSpotStandIn, token: str | None = None) -> HubSpot:
    """The official client pointed at the stand-in, its own retries off (as Handoff's)."""
    return HubSpot(access_token=token or standin.token, host=standin.url, retry=Retry(total=0))


async def call(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """One client call in a thread: the client is synchronous, the stand-in on this loop."""
    return await asyncio.to_thread(method, *args, **kwargs)


def by(prop: str, operator: str, value: str | None = None) -> dict[str, Any]:
    """A search filter."""
    return {"propertyName": prop, "operator": operator} | ({"value": value} if value else {})


def epoch_ms(iso: str) -> int:
    """An ISO instant, as HubSpot writes them, in epoch milliseconds."""
    return round(datetime.fromisoformat(iso).timestamp() * 1000)


async def test_contacts_are_found_by_email_and_unique(standin: HubSpotStandIn) -> None:
    contacts = client_for(standin).crm.contacts
    props = {"email": "Ada@Example.com", "firstname": "Ada"}
    made = await call(contacts.basic_api.create, {"properties": props})
    assert made.properties["email"] == "Ada@Example.com"
    assert made.properties["hs_object_id"] == made.id
    assert made.created_at == made.updated_at and made.archived is False

    search = {"filterGroups": [{"filters": [by("email", "EQ", "ada@EXAMPLE.com")]}]}
    found = await call(contacts.search_api.do_search, search | {"properties": ["firstname"]})
    assert (found.total, found.paging, [r.id for r in found.results]) == (1, None, [made.id])
    shown = {"firstname", "hs_object_id", "createdate", "lastmodifieddate"}
    assert set(found.results[0].properties) == shown

    with pytest.raises(ContactsError) as refused:
        await call(contacts.basic_api.create, {"properties": {"email": "ADA@example.com"}})
    assert refused.value.status == 409
    body = json.loads(refused.value.body)
    assert body["message"] == f"Contact already exists. Existing ID: {made.id}"
    assert body["category"] == "CONFLICT"
    statuses = [c.status for c in standin.calls_to("POST", "/crm/v3/objects/contacts")]
    assert statuses == [201, 200, 409]  # create, search, create again


async def test_a_deal_with_associations_reads_them_back(standin: HubSpotStandIn) -> None:
    client = client_for(standin)
    contact = standin.add_contact("ada@example.com")
    company = standin.add_company("example.com", name="Example")
    to_contact = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}
    deal = await call(
        client.crm.deals.basic_api.create,
        {
            "properties": {"dealname": "Example", "dealstage": "qualifiedtobuy", "amount": 1200},
            "associations": [{"to": {"id": contact}, "types": [to_contact]}],
        },
    )
    assert (deal.properties["amount"], deal.properties["pipeline"]) == ("1200", "default")
    v4 = client.crm.associations.v4.basic_api
    both = await call(v4.create_default, "deals", deal.id, "companies", company)
    assert [r.association_spec.association_type_id for r in both.results] == [5, 6]

    page = await call(v4.get_page, "deals", deal.id, "contacts")
    assert [r.to_object_id for r in page.results] == [contact]
    assert [(t.category, t.type_id) for t in page.results[0].association_types] == [
        ("HUBSPOT_DEFINED", 3)
    ]
    back = await call(v4.get_page, "contacts", contact, "deals")
    assert [(r.to_object_id, r.association_types[0].type_id) for r in back.results] == [
        (deal.id, 4)
    ]
    assert standin.objects("deals")[deal.id]["associations"] == {
        "contacts": [contact],
        "companies": [company],
    }
    with pytest.raises(AssociationsError) as missing:
        await call(v4.get_page, "deals", "404", "contacts")
    assert missing.value.status == 404


async def test_custom_deal_properties_are_made_and_searched(standin: HubSpotStandIn) -> None:
    client = client_for(standin)
    groups, properties = client.crm.properties.groups_api, client.crm.properties
    with pytest.raises(PropertiesError) as missing:
        await call(groups.get_by_name, "deals", "handoff")
    assert missing.value.status == 404
    group = {"name": "handoff", "label": "Handoff", "displayOrder": -1}
    assert (await call(groups.create, "deals", group)).name == "handoff"
    text = {"type": "string", "fieldType": "text", "groupName": "handoff"}
    inputs = [
        {"name": "handoff_ref", "label": "Handoff ref"} | text,
        {"name": "handoff_partner", "label": "Partner"} | text,
    ]
    made = await call(properties.batch_api.create, "deals", {"inputs": inputs})
    assert made.status == "COMPLETE"
    assert [p.name for p in made.results] == ["handoff_ref", "handoff_partner"]
    got = await call(properties.core_api.get_by_name, "deals", "handoff_ref")
    assert (got.group_name, got.hubspot_defined) == ("handoff", False)
    assert got.modification_metadata.archivable
    with pytest.raises(PropertiesError) as duplicate:
        await call(properties.core_api.create, "deals", inputs[0])
    assert duplicate.value.status == 409

    deals = client.crm.deals
    ours = await call(
        deals.basic_api.create, {"properties": {"dealname": "Ours", "handoff_ref": "H-7"}}
    )
    standin.add_deal(dealname="Theirs")
    for filters in ([by("handoff_ref", "HAS_PROPERTY")], [by("handoff_ref", "EQ", "h-7")]):
        found = await call(deals.search_api.do_search, {"filterGroups": [{"filters": filters}]})
        assert [r.id for r in found.results] == [ours.id]
        assert found.results[0].properties["dealname"] == "Ours"  # the default properties


async def test_deals_modified_since_come_in_pages(standin: HubSpotStandIn) -> None:
    ids = [standin.add_deal(dealname=f"Deal {n}", dealstage="qualifiedtobuy") for n in range(5)]
    since = epoch_ms(standin.objects("deals")[ids[4]]["updatedAt"])
    for n in (3, 0, 2):  # in one millisecond, likely: each still later than the one before
        standin.update_deal(ids[n], dealstage="closedwon")
    stamps = [
        standin.objects("deals")[ids[n]]["properties"]["hs_lastmodifieddate"] for n in (4, 3, 0, 2)
    ]
    assert stamps == sorted(set(stamps))

    search = client_for(standin).crm.deals.search_api.do_search
    request: dict[str, Any] = {
        "filterGroups": [{"filters": [by("hs_lastmodifieddate", "GTE", str(since))]}],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "properties": ["dealstage"],
        "limit": 2,
    }
    first = await call(search, request)
    assert (first.total, [r.id for r in first.results]) == (4, [ids[4], ids[3]])
    second = await call(search, request | {"after": first.paging.next.after})
    assert ([r.id for r in second.results], second.paging) == ([ids[0], ids[2]], None)
    newest = await call(search, request | {"sorts": ["-hs_lastmodifieddate"], "limit": 1})
    assert [r.id for r in newest.results] == [ids[2]]
    assert newest.results[0].properties["dealstage"] == "closedwon"
    with pytest.raises(DealsError) as too_many:
        await call(search, request | {"limit": 201})
    assert too_many.value.status == 400


async def test_owners_by_email_and_the_deal_pipeline(standin: HubSpotStandIn) -> None:
    client = client_for(standin)
    grace = standin.add_owner("grace@example.com", "Grace", "Hopper")
    standin.add_owner("alan@example.com", "Alan", "Turing")
    owners = client.crm.owners.owners_api
    found = await call(owners.get_page, email="Grace@Example.com", limit=1)
    assert [(o.id, o.first_name, o.type) for o in found.results] == [(grace, "Grace", "PERSON")]
    first = await call(owners.get_page, limit=1)
    assert (len(first.results), first.paging.next.after) == (1, "1")

    pipelines = client.crm.pipelines.pipelines_api
    [pipeline] = (await call(pipelines.get_all, "deals")).results
    assert (pipeline.id, [s.id for s in pipeline.stages]) == ("default", STAGES)
    closed = {s.id: s.metadata for s in pipeline.stages if s.metadata["isClosed"] == "true"}
    assert closed == {
        "closedwon": {"isClosed": "true", "probability": "1.0"},
        "closedlost": {"isClosed": "true", "probability": "0.0"},
    }
    assert (await call(pipelines.get_by_id, "deals", "default")).label == "Sales Pipeline"
    with pytest.raises(PipelinesError) as missing:
        await call(pipelines.get_by_id, "deals", "nope")
    assert missing.value.status == 404


async def test_a_wrong_token_is_refused(standin: HubSpotStandIn) -> None:
    contacts = client_for(standin, "pat-na1-wrong").crm.contacts
    with pytest.raises(ContactsError) as refused:
        await call(contacts.basic_api.get_page)
    assert refused.value.status == 401
    body = json.loads(refused.value.body)
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith("Authentication credentials not found.")
    assert standin.calls[-1].status == 401


async def test_scripted_rate_limit_and_outage(standin: HubSpotStandIn) -> None:
    search = client_for(standin).crm.deals.search_api
    standin.fail("/crm/v3/objects/deals/search", 429, method="POST")
    with pytest.raises(DealsError) as limited:
        await call(search.do_search, {"limit": 1})
    assert limited.value.status == 429
    assert limited.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert limited.value.headers["Retry-After"] == "1"
    assert limited.value.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    body = json.loads(limited.value.body)
    assert (body["errorType"], body["policyName"]) == ("RATE_LIMIT", "TEN_SECONDLY_ROLLING")

    found, status, headers = await call(search.do_search_with_http_info, {"limit": 1})
    assert (found.total, status, headers["X-HubSpot-RateLimit-Max"]) == (0, 200, "190")
    assert int(headers["X-HubSpot-RateLimit-Remaining"]) == 190 - 2  # two in this window
    standin.down = True
    with pytest.raises(DealsError) as outage:
        await call(search.do_search, {"limit": 1})
    assert outage.value.status == 503
    assert [c.status for c in standin.calls] == [429, 200, 503]


async def test_unknown_deal_properties_are_refused(standin: HubSpotStandIn) -> None:
    deals = client_for(standin).crm.deals
    cases = [
        ({"colour": "red"}, "PROPERTY_DOESNT_EXIST"),
        ({"dealstage": "won"}, "INVALID_OPTION"),  # not a stage of the default pipeline
        ({"hubspot_owner_id": "1"}, "INVALID_OWNER_ID"),
    ]
    for props, code in cases:
        with pytest.raises(DealsError) as refused:
            await call(deals.basic_api.create, {"properties": {"dealname": "X"} | props})
        body = json.loads(refused.value.body)
        assert (refused.value.status, body["category"]) == (400, "VALIDATION_ERROR")
        assert body["errors"][0]["code"] == code
    assert standin.objects("deals") == {}  # nothing was written
    deal = standin.add_deal(dealname="X")
    with pytest.raises(DealsError) as patched:
        await call(deals.basic_api.update, deal, {"properties": {"colour": "red"}})
    assert "PROPERTY_DOESNT_EXIST" in json.loads(patched.value.body)["message"]
    # Contacts take any property here: HubSpot's are many, and Handoff writes few.
    standin.add_contact("ada@example.com", favourite_colour="red")

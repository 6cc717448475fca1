"""Text pools the bodies are made of: what prospects need, intro paragraphs, replies, notes."""

from __future__ import annotations

PAINS = [
    "consolidate their vendor stack",
    "cut onboarding time for new customers",
    "get a handle on their partner pipeline",
    "replace a homegrown CRM integration",
    "automate contract renewals",
    "clean up their data warehouse",
    "roll out SSO across their subsidiaries",
    "scale support without tripling headcount",
    "get SOC 2 ready before their next round",
    "move forecasting off spreadsheets",
    "expand into the EU market",
    "modernize their billing stack",
    "untangle their quote-to-cash process",
    "reduce churn in their mid-market segment",
    "centralize reporting for the board",
    "migrate off a legacy ERP",
]

FUNCS = [
    "revenue operations",
    "IT",
    "customer success",
    "partnerships",
    "engineering",
    "finance",
    "procurement",
    "sales",
    "marketing operations",
    "data & analytics",
    "operations",
    "the platform team",
]

SITUATIONS = [
    "evaluating vendors this quarter",
    "about to kick off a platform migration",
    "growing fast and feeling the pain on reporting",
    "budgeting for next year",
    "in the middle of a re-org",
    "running an RFP in January",
    "consolidating three acquisitions onto one system",
    "hiring their first ops team",
    "unhappy with their current provider",
    "preparing for an IPO readiness review",
]

TOOLS = [
    "Salesforce",
    "HubSpot",
    "NetSuite",
    "Excel",
    "Google Sheets",
    "Zendesk",
    "Jira",
    "SAP",
    "a homegrown Rails app",
    "QuickBooks",
    "Snowflake",
    "Airtable",
]

DRIVERS = [
    "cost",
    "audit pressure",
    "a new CFO",
    "customer complaints",
    "speed of reporting",
    "the upcoming renewal of their current contract",
    "headcount limits",
    "data quality issues",
    "a board mandate",
]

CITIES = [
    "Austin",
    "Chicago",
    "Denver",
    "Berlin",
    "London",
    "Toronto",
    "Lisbon",
    "Seattle",
    "Boston",
    "Amsterdam",
    "Singapore",
    "Sydney",
    "Atlanta",
    "Dublin",
]

EVENTS = [
    "SaaStr",
    "Web Summit",
    "the Gartner summit",
    "Dreamforce",
    "re:Invent",
    "the regional partner day",
    "SXSW",
    "our annual client dinner",
]

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]

MONTHS = ["December", "January", "February", "March"]

PROJECTS = [
    "their data platform rebuild",
    "the ERP rollout",
    "a pricing overhaul",
    "their Series B diligence",
    "a customer portal relaunch",
    "the APAC expansion",
]


# An intro's paragraphs, in order: an opening, background, the hand-off, an aside.

OPENINGS = [
    "I'd like to introduce you to {rfull} from {ours}. {pf} leads {func} at {company} and has "
    "been trying to {pain}. I think {ours} could be a great fit, so I wanted to connect you two "
    "directly.",
    "As promised, I'm connecting you with {rfull} at {ours}. {pf}, {rf} is the person I "
    "mentioned when we spoke on {day} -- {rf} and the team have helped a number of our clients "
    "{pain}.",
    "From our conversation last week, it sounds like {company} is {situation}. {ours} is one of "
    "the partners we trust most for this, and {rf} is the best person there to talk to.",
    "Meet {rf}! {rf} works with partners like us at {ours}. {pf} is {ptitle} at {company} and "
    "they're {situation}.",
    "Hope you're both well. Quick intro: {pfull} ({company}) meet {rfull} ({ours}). {company} "
    "wants to {pain}, and I know {ours} has done exactly that for teams of a similar size.",
    "Following up on our call -- I promised {pf} an introduction to {ours}, so here it is. "
    "{rf}, {pf} is {ptitle} at {company}; they're {situation} and want to {pain}.",
]

OPENINGS_NO_REP = [
    "I'd like to introduce you to the team at {ours}. {pf} leads {func} at {company} and has "
    "been trying to {pain}. I think {ours} could be a great fit, so I wanted to connect you "
    "directly.",
    "From our conversation last week, it sounds like {company} is {situation}. {ours} is one of "
    "the partners we trust most for this, so I'm connecting you with their team.",
    "Hope you're well. Quick intro: {pfull} ({company}), meet {ours}. {company} wants to {pain}, "
    "and I know {ours} has done exactly that for teams of a similar size.",
    "As promised, {pf}, I'm connecting you with {ours}. They've helped a number of our clients "
    "{pain}, and I think they'd be a great fit for {company}.",
]

BACKGROUND = [
    "{pf} and I have worked together for {years} years, most recently on {project}. {company} "
    "has about {count} employees across {regions} offices and has been a {pname} client since "
    "{year}.",
    "For context: {company} currently runs a mix of {tool1} and {tool2}, with a lot of manual "
    "work in between. {pf}'s team spends roughly {hours} hours a week reconciling data, which "
    "is exactly the problem {ours} solves.",
    "From what {pf} told me, the main drivers are {driver1} and {driver2}. Timing-wise they'd "
    "like to have something in place by Q{quarter}, so there's some urgency here.",
    "{ours} came highly recommended by two of our other clients, and I've been impressed with "
    "how quickly they get teams up and running. No pressure either way -- I just think it's "
    "worth a conversation.",
    "We've been helping {company} with {project} and this came up a few times in our steering "
    "meetings. {pf} has budget approved and is looking for a partner that can start in "
    "{month}.",
]

HANDOFFS = [
    "Would you two be open to a 30-minute call next week? {rf}, I'll let you take it from here "
    "and suggest a few times.",
    "{pf}, {rf} will reach out with a couple of times that work. Feel free to loop me back in if "
    "I can help with anything.",
    "I'll step back and let you two find a time. {pf} mentioned {day} afternoons are usually "
    "the easiest.",
    "Happy to join the first call if useful, otherwise I'll get out of the way. Let me know how "
    "it goes!",
]

HANDOFFS_NO_REP = [
    "Could someone on the {ours} side reach out to {pf} with a few times next week?",
    "{pf}, someone from {ours} will be in touch shortly. Feel free to loop me back in if I can "
    "help with anything.",
    "I'll step back and let you find a time. {pf} mentioned {day} afternoons are usually the "
    "easiest.",
]

ASIDES = [
    "{pf}'s direct line is {phone} if that's easier. They're based in {city}.",
    "P.S. {pf} will be at {event} in {month} -- might be a good chance to meet in person.",
    "One more thing: {company} has a procurement review for anything over ${amount}k, so it's "
    "probably worth looping in their procurement team early.",
    "I've attached nothing, but {pf} has a short overview deck they can share once you've spoken.",
]

SIGNOFFS = [
    "Best,",
    "Cheers,",
    "Thanks!",
    "Warm regards,",
    "Best regards,",
    "Thanks,",
    "All the best,",
]

DISCLAIMER = (
    "CONFIDENTIALITY NOTICE: This e-mail message, including any attachments, is for the sole use "
    "of the intended recipient(s) and may contain confidential and privileged information. Any "
    "unauthorized review, use, disclosure or distribution is prohibited. If you are not the "
    "intended recipient, please contact the sender by reply e-mail and destroy all copies of the "
    "original message."
)


REPLY_REP = [
    "Thanks {cf} for the intro (moving you to bcc to spare your inbox)!\n\n{pf}, great to meet "
    "you. I'd love to learn more about what {company} is working on. Would {day} at 10am or "
    "{day2} at 2pm your time work for a quick call?",
    "Thank you {cf}, much appreciated!\n\nHi {pf} -- nice to e-meet you. I've sent over a "
    "calendar invite for {day}; happy to move it if that doesn't work. In the meantime, here's "
    "a short overview of how we've helped teams {pain}.",
    "{cf}, thanks so much for connecting us.\n\n{pf}, looking forward to chatting. Could you "
    "share a bit about your current setup ({tool1}? {tool2}?) so I can tailor the conversation?",
]

REPLY_PROSPECT = [
    "Thanks {cf}!\n\n{rf}, happy to connect. {day} or {day2} afternoon works well for me -- "
    "feel free to send an invite.",
    "Thanks for the intro, {cf}.\n\nHi {rf}, nice to meet you. We're {situation}, so the timing "
    "is good. Can you send over some times next week?",
    "Appreciate it {cf}. {rf} -- I'm travelling this week but free from {day} onwards. Looping "
    "in my colleague who runs {func} as well.",
]

REPLY_PARTNER = [
    "Just bumping this to the top of your inbox, {pf} -- {rf} would love to find a time.",
    "Hi both, checking in to see whether you managed to connect? Happy to help coordinate.",
    "{rf}, {pf} mentioned they're {situation}; worth prioritizing this one. Thanks!",
]

FORWARD_NOTES = [
    "Looping in the partners inbox so this gets tracked.",
    "FYI -- intro from {pname} below.",
    "",
    "Adding partners@ for tracking. {pname} sent this one directly to me.",
    "Forwarding for the record -- I'll follow up with {pf} today.",
    "fyi",
]


NEWSLETTER_BLURBS = [
    "We asked a dozen partner leaders how they structure referral fees, co-selling and deal "
    "registration. The answers were more varied than we expected.",
    "Most teams still track introductions in a spreadsheet. Here is what changes when you "
    "don't, and what it costs to get there.",
    "A short case study on moving from ad-hoc intros to a repeatable partner motion, with the "
    "templates the team actually used.",
    "Our quarterly benchmark is out: win rates on partner-sourced deals, time to first meeting, "
    "and the metrics boards keep asking about.",
]

"""Referrals in the CRM: the deal's fields made from a referral, the stage mapping, and what
a change read back from the CRM does to the referral. The HubSpot wire is bot/hubspot/."""

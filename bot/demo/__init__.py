"""`handoff demo`: the whole loop on this machine, with stand-ins and a simulated clock."""

from bot.demo.cast import PARTNERS, SamplePartner
from bot.demo.story import run_demo

__all__ = ["PARTNERS", "SamplePartner", "run_demo"]

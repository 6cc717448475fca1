"""`handoff demo`: the whole loop on this machine, with stand-ins and a simulated clock."""

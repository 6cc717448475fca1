"""Scheduled sweeps: nudges about unclaimed intros, slow first responses, next steps, partners."""

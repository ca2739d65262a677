"""Reminder scheduling: the database holds what is due and what was sent; APScheduler
(PTB's job queue) only drives the clock."""

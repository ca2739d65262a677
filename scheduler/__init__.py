"""Reminder scheduling: the database holds what is due and what was sent; APScheduler
(PTB's job queue) only drives the clock.

* ``scheduler.dispatcher.dispatch_due(runtime, app_or_bot, now)`` — the whole dispatcher
  as one function (materialise due reminders into the outbox, claim atomically, send
  paced, record); the job queue calls it every ``BRANCHBOT_REMINDER_TICK_SECONDS`` with
  ``runtime.clock.now()``; tests call it with any ``now``.
* ``scheduler.hooks`` — other features add content to reminders (fee amount and a
  "Paid" button) and say who still owes a report or declaration.
* ``scheduler.materialise`` — due reminders into the outbox, cheap on 5,000 branches.
* ``scheduler.pacing.Pacer`` — ≈30 messages/s overall and 1/s per chat by computed waits.

Settings (``bot.settings``, from the environment): ``BRANCHBOT_REMINDER_GRACE_HOURS``
(default 6: reminders missed while the bot was down are sent late within this window,
older ones are recorded as ``skipped`` and logged), ``BRANCHBOT_REMINDER_TICK_SECONDS``
(default 15; 0 = no tick),
``BRANCHBOT_BROADCAST_RATE`` (default 30 messages/s; above 30, paid broadcasts up to
1,000/s), ``BRANCHBOT_LEASE_SECONDS`` (the scheduler lease, default 30 s).
"""

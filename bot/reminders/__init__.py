"""Reminders: quarterly, annual and strategic re-grading threads, follow-ups, digests, alerts.

* ``plan``      — which (person, cadence, period) reminders are due at a moment (pure calendar
                  logic plus the storage reads it needs);
* ``messages``  — what the reminders say, as channel-neutral ``bot.notify`` data;
* ``sweep``     — one pass: claim each due delivery, send it through a ``Notifier``, follow
                  up, close finished threads, send digests and grade-drop alerts;
* ``now``       — ``sweep_now(settings)``: one sweep on every configured platform
                  (``gradebot remind --now``);
* ``actions``   — snooze / out of office, shared by every platform's buttons;
* ``scheduler`` — APScheduler (in-memory, per process) that only *triggers* sweeps; the
                  database is the source of truth, so any number of replicas may sweep.

Nothing here imports a channel (``bot.slack``, ``bot.teams``): platforms are reached through
the ``bot.notify.Notifier`` protocol, built by ``bot.notifiers``. The delivery state machine
is ``storage.deliveries``; docs/reminders.md describes both.
"""

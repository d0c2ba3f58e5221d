"""Helpdesk handoff: tickets and their state machine, messages, notes, staff accounts.

* :mod:`bot.handoff.states`   the state machine (wachtrij → opgepakt → live → afgerond / teruggegeven)
* :mod:`bot.handoff.service`  HandoffService: create/claim/go_live/hand_back/close, messages, queue
* :mod:`bot.handoff.staff`    StaffService: accounts, login with lockout, demo account
* :mod:`bot.handoff.hours`    opening hours from ``KW_HELPDESK_HOURS``
* :mod:`bot.handoff.privacy`  masking for display and logs; encrypted contact values
* :mod:`bot.handoff.db`       Alembic migrations (own history, status store's engines)
* :mod:`bot.handoff.cli`      ``python -m bot handoff-db-upgrade | staff-create | …``

See docs/handoff.md.
"""

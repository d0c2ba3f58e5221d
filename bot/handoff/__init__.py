"""Helpdesk handoff: tickets and their state machine, messages, notes, staff accounts.

* :mod:`bot.handoff.states`   the state machine (wachtrij → opgepakt → live → afgerond / teruggegeven)
* :mod:`bot.handoff.service`  HandoffService: create/claim/go_live/hand_back/close, messages, queue
                             (one module per concern: tickets, messages, queries, canned, retention)
* :mod:`bot.handoff.live`     LiveHandoff: the conversation while a ticket is open (gateway side)
* :mod:`bot.handoff.staff`    StaffService: accounts, login, roles
* :mod:`bot.handoff.login_throttle`  failed logins per account and client address
* :mod:`bot.handoff.demo`     the demo medewerker, and its refusal in production
* :mod:`bot.handoff.hours`    opening hours from ``KW_HELPDESK_HOURS``
* :mod:`bot.handoff.wording`  what the user's words mean in the handoff dialogue (yes, no, withdraw)
* :mod:`bot.handoff.privacy`  masking for display and logs; encrypted contact values
* :mod:`bot.handoff.cli`      ``python -m bot staff-create | staff-role | …``

Tables are made by the app database's one migration history (:mod:`bot.migrations`).

See docs/handoff.md.
"""

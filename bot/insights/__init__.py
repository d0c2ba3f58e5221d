"""What the editors of the knowledge base learn from use: the questions the assistant answered,
half understood or did not understand, and the reasons people asked for a person.

* :mod:`~bot.insights.models`  the one table, ``kw_question_events`` (no conversation id; text
  masked and capped; only kept for questions that need an editor's eye)
* :mod:`~bot.insights.record`  the one writer (``record``; ``note_faq`` / ``note_rephrase`` for
  the actions, bounded and never raising) and the retention purge
* :mod:`~bot.insights.report`  the editors' page: grouping, counts per week and per day, answers
  past their check date (bot.knowledge.check), handoff reasons (the helpdesk tickets)
* :mod:`~bot.insights.export`  CSV downloads, safe against formula injection
* :mod:`~bot.insights.chart`   the day chart as server-side SVG geometry

It sits beside ``knowledge`` and ``handoff`` because it reads both; neither imports it.
"""

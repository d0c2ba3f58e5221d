"""The helpdesk's e-mail, below the tickets: composing a mail, sending it over SMTP, and the
demo's mail catcher. Nothing here knows about tickets or the outbox (bot/handoff/outbox.py,
bot/handoff/mailer.py use this package).

* :mod:`bot.mail.compose`  one MIME message: UTF-8 headers, plain text + HTML alternative
* :mod:`bot.mail.smtp`     sending with aiosmtplib: STARTTLS or implicit TLS, login, timeouts,
                           and each failure as a Dutch reason that is permanent or worth a retry
* :mod:`bot.mail.catcher`  an aiosmtpd server that writes what it receives to a Maildir
                           (``make run``'s catcher; the tests' server builds on it)

Settings: :class:`bot.settings.MailSettings` (``KW_SMTP_*``); docs/console.md, "E-mail".
"""

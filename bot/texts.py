"""Every fixed Dutch sentence the gateway process shows (B1, je/jij): to the user in the widget,
and to staff in the helpdesk console.

What the assistant itself says lives in Rasa's domain (domain.yml responses) and, for answers
composed from data, in bot/knowledge/render.py and bot/status/render.py. Code refers to these
texts by name; nothing else in the gateway holds a Dutch sentence of its own.
"""
from __future__ import annotations

# -- the live handoff: what the user reads when a medewerker takes over or leaves ---------------

TEXT_LIVE = "Je praat nu met {name}, medewerker van de helpdesk."
TEXT_BACK = ("Je praat nu weer met de digitale assistent, niet met een mens. "
             "Stel gerust je vraag.")
TEXT_CLOSED = ("De medewerker heeft je vraag afgerond. Je praat nu weer met de digitale "
               "assistent, niet met een mens. Stel gerust je vraag.")
#: The reason on the ticket, and the line in its transcript, when the user wiped the chat.
TEXT_ERASED_REASON = "De gebruiker heeft het gesprek gewist."
TEXT_ABANDONED = "De gebruiker heeft het gesprek gewist en ziet geen berichten meer."

# -- the helpdesk console ------------------------------------------------------------------------

#: Notices shown after a redirect (?melding=code) or in a JSON answer: (kind, text).
CONSOLE_NOTICES = {
    "uitgelogd": ("status", "Je bent uitgelogd."),
    "verlopen": ("status", "Je sessie is verlopen. Log opnieuw in."),
    "opgepakt": ("status", "Je hebt het gesprek overgenomen. De gebruiker ziet nu je naam."),
    "al_opgepakt": ("alert", "Deze vraag is al opgepakt door {wie}."),
    "collega": ("alert", "Deze vraag wordt door een collega behandeld."),
    "gewijzigd": ("alert", "De vraag is intussen gewijzigd. Bekijk de nieuwe status."),
    "kan_niet": ("alert", "Dat kan niet bij de huidige status van deze vraag."),
    "teruggegeven": ("status", "De vraag is teruggegeven aan de assistent. De gebruiker praat weer met de digitale assistent."),
    "afgerond": ("status", "De vraag is afgerond."),
    "verstuurd": ("status", "Je bericht is verstuurd."),
    "niet_afgeleverd": ("alert", "Je bericht is opgeslagen, maar de assistent was niet bereikbaar. Als de gebruiker de chat open heeft, ziet hij het wel."),
    "leeg": ("alert", "Je bericht is leeg. Typ eerst een tekst."),
    "te_lang": ("alert", "Je tekst is te lang."),
    "notitie": ("status", "Je notitie is opgeslagen."),
    "opgeslagen": ("status", "Het standaardantwoord is opgeslagen."),
    "verwijderd": ("status", "Het standaardantwoord is verwijderd."),
    "niet_gevonden": ("alert", "Dit standaardantwoord bestaat niet meer."),
    "ongeldig": ("alert", "Vul alle velden in."),
    "aangemaakt": ("status", "Het account is aangemaakt."),
    "ontgrendeld": ("status", "Het account is ontgrendeld."),
    "rol": ("status", "De rol is aangepast."),
}
LOGIN_FAILED = ("Inloggen is niet gelukt. Controleer je gebruikersnaam en wachtwoord. Na "
                "{tries} mislukte pogingen wordt een account {minutes} minuten geblokkeerd.")
LOGIN_THROTTLED = "Er wordt te vaak geprobeerd in te loggen. Wacht {wait} seconden en probeer het opnieuw."
FORM_EXPIRED = "Het formulier is verlopen. Probeer het opnieuw."
FORM_INVALID = "Het formulier is verlopen of ongeldig. Ververs de pagina en probeer het opnieuw."
FORM_TOO_LARGE = "Dit formulier is te groot."
FORM_UNREADABLE = "Dit formulier kon ik niet lezen. Ververs de pagina en probeer het opnieuw."
FOREIGN_ORIGIN = "Dit verzoek komt niet van de helpdesk-console."
BEHEERDER_ONLY = "Alleen een beheerder mag dit doen."
LOG_IN_FIRST = "Log eerst in."
DATABASE_DOWN = "De database is niet bereikbaar."
SOCKET_REFUSED = "Verbinding geweigerd."
TICKET_NOT_FOUND = "Deze vraag bestaat niet (meer)."
#: Titles of the console's error pages.
TITLE_FORBIDDEN = "Geen toegang"
TITLE_NOT_FOUND = "Niet gevonden"
TITLE_FORM_REFUSED = "Formulier geweigerd"
#: Who wrote a line of the transcript, as the console shows it.
SENDER_LABELS = {"gebruiker": "Gebruiker", "assistent": "Assistent", "medewerker": "Medewerker",
                 "systeem": "Systeem"}

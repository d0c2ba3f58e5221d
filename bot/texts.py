"""The fixed Dutch sentences (B1, je/jij) of our code, by name: what the assistant's actions say,
what the widget user reads from the gateway, and what helpdesk staff read in the console.

Also here: the named templates from which bot/status/render.py (``STATUS_REPLY``) and
bot/knowledge/render.py (``KNOWLEDGE_REPLY``) compose answers out of data.

Where the other sentences live: Rasa's own responses are in domain.yml; the knowledge base's
texts in bot/knowledge/kennisbank.yml; the helpdesk console's page texts in its templates
(bot/web/templates/console/); the widget's own interface texts in
bot/web/static/widget/texts.js; the back-office API's error messages, for developers, in
bot/web/api.py.
"""

from __future__ import annotations

# -- the assistant (action server) ---------------------------------------------------------------

FORM_STOPPED = "Oké, dan stop ik hiermee. Waarmee kan ik je verder helpen?"
NOT_UNDERSTOOD = "Sorry, ik begrijp je vraag niet goed. Kun je hem anders stellen? Of kies een van deze onderwerpen:"
NOT_UNDERSTOOD_AGAIN = "Het lukt me niet om je vraag te begrijpen, sorry."
NO_ANSWER = "Op deze vraag heb ik geen antwoord."
HANDOFF_FAILED = "Het lukt nu niet om je door te verbinden, sorry."
HANDOFF_WAITING_CLOSED = (
    "Dank je, je vraag staat klaar voor de helpdesk. {closed} Het antwoord verschijnt hier "
    "in dit gesprek{contact} Tot die tijd kun je mij gewoon vragen blijven stellen."
)
HANDOFF_WAITING_CLOSED_CONTACT = " of we nemen contact met je op."
HANDOFF_WAITING = (
    "Dank je, je vraag staat klaar voor een medewerker van de helpdesk. Zodra "
    "iemand je gesprek overneemt, zie je dat hier. Tot die tijd kun je mij gewoon "
    "vragen blijven stellen."
)
STATUS_BAD_NUMBER = (
    "Dat herken ik niet als aanvraagnummer. Een aanvraagnummer ziet eruit als "
    "KW-2025-0042 (KW, het jaar en vier cijfers)."
)
STATUS_BAD_CODE = (
    "Dat lijkt geen verificatiecode. De code staat in de berichten over je "
    "aanvraag; hij ziet eruit als K7QM-WX3D: acht letters en cijfers."
)
#: After the third wrong code: where the code is, and the helpdesk (not the same message again).
STATUS_CODE_HELP = (
    "Het lukt nog niet met de verificatiecode. De code staat in het bericht over je "
    "aanvraag waarin ook je aanvraagnummer staat: de bevestiging dat je aanvraag "
    "is ontvangen. Kun je de code niet vinden, of klopt hij niet? Een medewerker "
    "van de helpdesk helpt je verder."
)
STATUS_LIST_PORTAL_ONLY = (
    "Een overzicht van alle aanvragen van je gemeente kan ik alleen geven als je "
    "mij gebruikt in het portaal waarin je bent ingelogd. Hier op de website "
    "zoek ik één aanvraag op met het aanvraagnummer en de verificatiecode."
)
STATUS_MISSING_UNKNOWN = (
    "Welke stukken er ontbreken, zie je bij de status van je aanvraag. Zal ik die voor je opzoeken?"
)
STATUS_LOOKUP_BUTTON = "Status opzoeken"
STATUS_STOPPED = (
    "Oké, dan zoek ik niets op. Heb je het aanvraagnummer en de verificatiecode bij "
    "de hand, vraag dan gerust opnieuw naar de status."
)
STATUS_WHERE_NUMBER = (
    "Het aanvraagnummer en de verificatiecode staan in de berichten over je "
    "aanvraag. Het aanvraagnummer ziet eruit als "
    "KW-2025-0042, de code als K7QM-WX3D. Kun je ze niet vinden? Een "
    "medewerker van de helpdesk kan je verder helpen."
)
STATUS_CODE_FIRST = "Dat is de verificatiecode, dank je. Die bewaar ik even. Ik heb ook het aanvraagnummer nodig."
STATUS_WHY_NUMBER = (
    "Met het aanvraagnummer vind ik je aanvraag. De verificatiecode laat zien dat "
    "jij die aanvraag mag inzien. Zo ziet niemand anders jouw gegevens."
)
STATUS_NEW_NUMBER = "Ik gebruik nu aanvraagnummer {number}."
STATUS_EXPLAIN = "De status '{label}' betekent: {explanation} {next_step}"
STATUS_EXPLAIN_WHY = (
    "Waarom jouw aanvraag deze status heeft, kan ik niet zien. Een medewerker van de helpdesk kan met je meekijken."
)
#: Questions about the application shown last ("hoeveel hebben we gekregen?"), composed by
#: bot/status/followup.py from that status only. Nothing here may say more than the status does.
STATUS_FOLLOWUP = {
    "granted": "Volgens de status van aanvraag {number} is er {amount} toegekend.",
    "requested_was": " Aangevraagd was {amount}.",
    "requested_is": " Aangevraagd is {amount}.",
    "no_decision": "Over aanvraag {number} is nog geen besluit (status: {label}).",
    "no_amount_yet": " Er is dus nog geen bedrag toegekend.",
    "rejected": (
        "Aanvraag {number} is afgewezen (status: {label}), dus er is geen bedrag "
        "toegekend. In het besluit staat waarom."
    ),
    "withdrawn": "Aanvraag {number} is ingetrokken (status: {label}). Er gebeurt niets meer mee.",
    "amount_unknown": (
        "Welk bedrag er voor aanvraag {number} is toegekend, staat niet in de "
        "status die ik kan zien (status: {label}). Dat is bij mij dus niet bekend."
    ),
    "paid": "Volgens de status is het toegekende geld van aanvraag {number} betaald{since}.",
    "advance": (
        "Volgens de status is er voor aanvraag {number} een voorschot betaald{since}. "
        "Wanneer het definitieve bedrag wordt vastgesteld, is bij mij niet bekend."
    ),
    "settled": (
        "Het definitieve bedrag van aanvraag {number} is vastgesteld{since}. Of er nog "
        "een betaling volgt en wanneer, is bij mij niet bekend."
    ),
    "not_paid_yet": (
        "Aanvraag {number} is toegekend (status: {label}), maar een betaling staat "
        "nog niet in de status. Wanneer het geld komt, is bij mij niet bekend."
    ),
    "no_payment": " Er is dus ook nog niets betaald. Wanneer er betaald wordt, is bij mij niet bekend.",
    "rejected_no_payment": ("Aanvraag {number} is afgewezen (status: {label}), dus er volgt geen betaling."),
    "decided": "Over aanvraag {number} is een besluit genomen: {label}{since}.",
    "decided_why": " In het besluit staat waarom.",
    "past_decision": ("Over aanvraag {number} is al besloten. De status is nu: {label}{since}."),
    "decision_when_unknown": " Wanneer het besluit komt, is bij mij niet bekend.",
    "next_step_on": " Volgende stap volgens de gegevens: {step}, op {date}.",
    "next_step": " Volgende stap volgens de gegevens: {step}.",
    "next_on": " De volgende stap staat gepland op {date}.",
    "next_general": "Status van aanvraag {number}: {label}. {next_step}",
    "next_when_unknown": " Een datum voor de volgende stap is bij mij niet bekend.",
    "since": " (sinds {date})",
    "demo": " Let op: dit is een fictieve demo-aanvraag.",
    "none": (
        "Dat zie je in de status van jullie aanvraag. Zal ik die voor je opzoeken? Dan heb ik "
        "het aanvraagnummer en de verificatiecode nodig."
    ),
}

# -- the helpdesk's opening hours ------------------------------------------------------------------

HOURS = "De helpdesk is open op {schedule}."
HOURS_OPEN_NOW = " Nu is de helpdesk open."
HOURS_CLOSED_NOW = " Nu is de helpdesk gesloten. Vanaf {when} is er weer een medewerker."
HOURS_WAITING = " Je vraag staat al in de wachtrij; het antwoord verschijnt hier in dit gesprek."
HOURS_ASK = " Wil je een vraag aan een medewerker stellen? Dat kan ook buiten openingstijden."
#: "laat maar" while a question waits at the helpdesk: withdraw it, or only stop here?
STOP = "Oké, ik stop ermee. Waarmee kan ik je verder helpen?"
STOP_WITHDRAW_CONFIRM = "Je hebt nog een vraag in de wachtrij van de helpdesk. Wil je die vraag intrekken?"
STOP_KEEP_BUTTON = "Nee, laat staan"

# -- leaving, repeating, explaining ----------------------------------------------------------------

OFFER_NONE = "Waarmee kan ik je helpen? Stel gerust je vraag over de SPUK Kansrijke Wijk."
OFFER_PICK = "Kies een van de knoppen hierboven, of typ je vraag."
OFFER_DECLINED = "Oké, geen probleem. Waarmee kan ik je nog helpen?"
NOTHING_TO_REPEAT = "Ik heb nog niets gezegd om te herhalen. Wat wil je weten?"
EXPLAIN_NOTHING = (
    "Wat wil je precies weten? Stel je vraag gerust in andere woorden. Je kunt ook "
    "een medewerker van de helpdesk vragen."
)
ALSO_ASKED = "Je stelde ook een andere vraag. Klik op de knop, dan beantwoord ik die ook:"
NOT_UNDERSTOOD_FIRST = (
    "Sorry, dat begrijp ik niet. Kun je het anders zeggen? Bijvoorbeeld: "
    "'Welke gebieden doen mee?' of 'Voor welke jaren is het geld?'"
)
NOT_UNDERSTOOD_SHORT = (
    "Het lukt me niet om je vraag te begrijpen, sorry. Een medewerker van de helpdesk kan je verder helpen."
)
ENGLISH_NOTICE = "I can only answer in Dutch, so here is my answer in Dutch."

# -- the handoff form ------------------------------------------------------------------------------

HANDOFF_STOPPED = "Oké, ik verbind je niet door. Waarmee kan ik je verder helpen?"
HANDOFF_NO_TRANSCRIPT = "Prima, dan deel ik ons gesprek niet. De medewerker ziet alleen de vraag die je zo typt."
HANDOFF_CONSENT_EXPLAIN = (
    "Als je 'ja' zegt, ziet de medewerker van de helpdesk ons gesprek tot nu "
    "toe: jouw berichten en mijn antwoorden. Persoonlijke gegevens zoals "
    "e-mailadressen en telefoonnummers zijn daarin afgeschermd. Alleen de "
    "helpdesk ziet het. Zeg je 'nee', dan krijgt de medewerker alleen je vraag."
)
HANDOFF_CONSENT_UNCLEAR = (
    "Ik heb een 'ja' of 'nee' nodig. Bij 'nee' krijgt de medewerker ook je "
    "vraag, maar niet ons gesprek. Wil je toch geen medewerker, typ dan 'stop'."
)
HANDOFF_ASK_FIRST = "Stel je vraag maar. Daarna vraag ik nog een keer of ik ons gesprek mag delen."
HANDOFF_QUESTION_NEEDED = (
    "Wat wil je de medewerker vragen? Typ je vraag in een paar woorden, of 'stop' als je toch geen medewerker wilt."
)
HANDOFF_PREVIOUS_QUESTION = 'Dan geef ik de medewerker je vorige vraag: "{question}"'
HANDOFF_WHICH_QUESTION = (
    "Welke vraag bedoel je? Typ hem hier nog een keer in een paar woorden, of 'stop' als je toch geen medewerker wilt."
)
HANDOFF_CONTACT_WHY = (
    "Is er niemand van de helpdesk online, dan kan een medewerker je zo later "
    "antwoord geven. We gebruiken je gegevens alleen voor deze vraag. Je hoeft "
    "ze niet te geven: typ dan 'nee'."
)
HANDOFF_BAD_CONTACT = (
    "Dat lijkt geen e-mailadres of telefoonnummer. Typ bijvoorbeeld "
    "naam@gemeente.nl of 06 12345678. Wil je geen gegevens geven, typ dan 'nee'."
)
HANDOFF_ALREADY_WAITING = "Je vraag staat al klaar voor de helpdesk. {waiting}"
HANDOFF_STILL_WAITING = (
    "Je vraag staat in de wachtrij van de helpdesk. De helpdesk is nu open: een "
    "medewerker neemt je gesprek zo snel mogelijk over."
)
HANDOFF_IN_PROGRESS = "Een medewerker van de helpdesk is met je vraag bezig."
HANDOFF_NONE_OPEN = "Je hebt nu geen vraag open staan bij de helpdesk. Wil je een medewerker spreken?"
HANDOFF_WITHDRAWN = "Je vraag aan de helpdesk is ingetrokken. Je praat weer alleen met mij, de digitale assistent."
HANDOFF_WAITING_REMINDER = (
    "Je vraag aan de helpdesk staat nog in de wachtrij. Zodra een medewerker je gesprek overneemt, zie je dat hier."
)
#: Said back when the gateway stored a contact typed in any sentence on the ticket ({hint}: p…@…).
HANDOFF_CONTACT_ADDED_EMAIL = "Ik heb je e-mailadres {hint} bij je vraag gezet. Een medewerker kan je daarop bereiken."
HANDOFF_CONTACT_ADDED_PHONE = (
    "Ik heb je telefoonnummer {hint} bij je vraag gezet. Een medewerker kan je daarop bereiken."
)
#: The reason on the ticket, and the line in its transcript, when the user withdrew it.
TEXT_WITHDRAWN_REASON = "De gebruiker heeft de vraag ingetrokken."


# -- the chat ------------------------------------------------------------------------------------

#: What the user reads in the widget when a chat frame goes wrong (bot/web/protocol.py).
CHAT_ERRORS = {
    "too_long": "Je bericht is te lang. Je kunt maximaal {max} tekens sturen. "
    "Maak je bericht korter en probeer het opnieuw.",
    "empty": "Je bericht is leeg. Typ eerst je vraag.",
    "rate_limited": "Je stuurt veel berichten kort na elkaar. Wacht {wait} seconden en probeer het dan opnieuw.",
    "bad_json": "Dit bericht kon ik niet lezen. Probeer het opnieuw.",
    "bad_frame": "Ik kan alleen tekstberichten lezen.",
    "invalid": "Dit bericht kon ik niet lezen. Probeer het opnieuw.",
    "unknown_choice": "Deze keuze ken ik niet. Typ je vraag liever zelf.",
    "unavailable": "De assistent is even niet bereikbaar. Probeer het over een paar minuten opnieuw.",
    "incomplete": "Het lukte me nu niet om je vraag te beantwoorden. Probeer het zo opnieuw.",
    "hello_required": "Het gesprek is nog niet gestart. Ververs de pagina en probeer het opnieuw.",
    "session_expired": "Je gesprek is verlopen. Je kunt een nieuw gesprek beginnen.",
    "portal_expired": "Je bent niet meer ingelogd in het portaal. Ververs de pagina en "
    "log opnieuw in om verder te gaan.",
    "forbidden_origin": "Deze website mag de assistent niet gebruiken.",
    "too_large": "Je bericht is te groot.",
    "too_many_connections": "Er worden te veel verbindingen gemaakt. Wacht even en probeer het opnieuw.",
    "too_many_sockets": "Er zijn nu te veel open verbindingen. Sluit een ander venster met de "
    "assistent of probeer het over een minuut opnieuw.",
}


# -- the live handoff: what the user reads when a medewerker takes over or leaves ---------------

TEXT_LIVE = "Je praat nu met {name}, medewerker van de helpdesk."
TEXT_BACK = "Je praat nu weer met de digitale assistent, niet met een mens. Stel gerust je vraag."
TEXT_CLOSED = (
    "De medewerker heeft je vraag afgerond. Je praat nu weer met de digitale "
    "assistent, niet met een mens. Stel gerust je vraag."
)
#: The reason on the ticket, and the line in its transcript, when the user wiped the chat.
TEXT_ERASED_REASON = "De gebruiker heeft het gesprek gewist."
TEXT_ABANDONED = "De gebruiker heeft het gesprek gewist en ziet geen berichten meer."
#: What an erased ticket shows in the console instead of the user's question.
ERASED_QUESTION = "(De gebruiker heeft het gesprek gewist.)"

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
    "teruggegeven": (
        "status",
        "De vraag is teruggegeven aan de assistent. De gebruiker praat weer met de digitale assistent.",
    ),
    "afgerond": ("status", "De vraag is afgerond."),
    "verstuurd": ("status", "Je bericht is verstuurd."),
    "niet_afgeleverd": (
        "alert",
        "Je bericht is opgeslagen, maar de assistent was niet bereikbaar. Als de "
        "gebruiker de chat open heeft, ziet hij het wel.",
    ),
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
    "mail_wacht": ("status", "Je e-mail staat klaar en wordt zo verstuurd. De status zie je bij Geschiedenis."),
    "mail_wacht_afgerond": ("status", "Je e-mail staat klaar en wordt zo verstuurd. De vraag is afgerond."),
    "mail_geen_adres": ("alert", "Deze gebruiker heeft geen e-mailadres achtergelaten."),
    "mail_uit": ("alert", "E-mail versturen staat uit. Vraag de beheerder om de mailserver in te stellen."),
}
LOGIN_FAILED = (
    "Inloggen is niet gelukt. Controleer je gebruikersnaam en wachtwoord. Na "
    "{tries} mislukte pogingen wordt het account vanaf dit adres {minutes} minuten geblokkeerd."
)
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
SENDER_LABELS = {"gebruiker": "Gebruiker", "assistent": "Assistent", "medewerker": "Medewerker", "systeem": "Systeem"}

# -- the editors' page (helpdesk console, role redacteur or beheerder) ---------------------------

EDITORS_ONLY = "Deze pagina is alleen voor redacteuren en beheerders."
EXPORT_NOT_FOUND = "Deze download bestaat niet."
HELPDESK_ONLY = "Deze pagina is voor de medewerkers van de helpdesk. Als redacteur gebruik je de pagina Redactie."
#: How the assistant handled a question, as the editors' page and its CSV say it.
INSIGHT_KIND_LABELS = {
    "fallback": "niet begrepen",
    "choices": "keuze aangeboden",
    "second_chance": "tweede kans",
    "revised": "antwoord herzien",
    "low_confidence": "onzeker beantwoord",
    "answered": "beantwoord",
}

# -- status replies: bot/status/render.py picks and fills these from an application's data ------

#: Said with every demo application, so fictional amounts and dates are never taken as facts.
STATUS_DEMO_NOTE = (
    "Let op: dit is een fictieve demo-aanvraag. Het nummer, de bedragen, de data en "
    "de status zijn verzonnen en zeggen niets over de echte verdeling van het geld."
)
STATUS_DEMO_LIST_NOTE = (
    "Let op: demo-aanvragen zijn fictief. Hun nummers, bedragen, data en status "
    "zijn verzonnen en zeggen niets over de echte verdeling van het geld."
)
STATUS_MISSING_ITEMS_BUTTON = "Wat moet ik aanleveren?"
#: Month names, for dates in replies (status dates, the helpdesk's next opening).
MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
#: Named templates of the status replies; ``{…}`` are filled in by bot/status/render.py.
STATUS_REPLY = {
    "unknown_value": "onbekend",
    "where": "gemeente {gemeente}",
    "where_area": "gemeente {gemeente}, gebied {gebied}",
    "application": "Aanvraag {number} ({where})",
    "status": "Status: {label}",
    "status_since": "Status: {label} (sinds {since})",
    "meaning_heading": "Wat betekent dit?",
    "missing_heading": "Wat ontbreekt er?",
    "next_heading": "Wat gebeurt er nu?",
    "next_step_on": "Volgende stap: {step} (verwacht op {date}).",
    "next_step": "Volgende stap: {step}.",
    "next_on": "De volgende stap wordt verwacht op {date}.",
    "submitted": "Ingediend op {date}.",
    "requested": "Aangevraagd: {amount}.",
    "requested_part": "- {thema} {jaar}: {amount}",
    "granted": "Toegekend: {amount}.",
    "nothing_missing": "Voor aanvraag {number} hoef je nu niets aan te leveren. De status is: {label}.",
    "missing": "Voor aanvraag {number} ontbreekt nog:\n{items}\n\n{next_step}",
    # The same words for an unknown number and a wrong code (no enumeration).
    "not_found_portal": (
        "Ik kan geen aanvraag vinden met dit nummer{where}. Controleer het "
        "aanvraagnummer. Het ziet eruit als KW-2025-0042."
    ),
    "not_found_portal_where": " voor gemeente {gemeente}",
    "not_found": (
        "Ik kan geen aanvraag vinden met dit nummer en deze code. Controleer het "
        "aanvraagnummer (het ziet eruit als KW-2025-0042) en de verificatiecode uit de "
        "berichten over je aanvraag. Probeer het daarna opnieuw."
    ),
    "locked": (
        "Er is te vaak een verkeerd aanvraagnummer of een verkeerde code ingevuld. Daarom "
        "kun je nu even geen status opvragen. Probeer het {wait} opnieuw. Wil je niet "
        "wachten? Dan helpt een medewerker je."
    ),
    "wait_later": "later",
    "wait_minute": "over ongeveer 1 minuut",
    "wait_minutes": "over ongeveer {n} minuten",
    "wait_hour": "over ongeveer 1 uur",
    "wait_hours": "over ongeveer {n} uur",
    "unavailable": (
        "Het lukt me nu niet om de status van je aanvraag op te zoeken. Dat ligt niet "
        "aan jou. Probeer het later nog eens, of laat een medewerker van de helpdesk "
        "je helpen."
    ),
    "list_who": "gemeente {name}",
    "list_who_unknown": "je gemeente",
    "list_none": "Ik zie geen aanvragen van {who}. Klopt dat niet? Dan helpt een medewerker je.",
    "list_count_one": "1 aanvraag",
    "list_count": "{n} aanvragen",
    "list_head": "Dit zijn de aanvragen van {who} ({count}):",
    "list_demo": " (fictieve demo-aanvraag)",
    "list_pick": "Kies een aanvraag of typ het aanvraagnummer voor meer uitleg.",
}

# -- answers composed from the knowledge base's tables (areas, ministries, examples) -------------

#: Named templates of bot/knowledge/render.py; ``{…}`` are filled in from kennisbank.yml's tables.
#: Place names in ``**…**`` are shown bold by the widget.
KNOWLEDGE_REPLY = {
    "peildatum": "op 1 januari 2025",
    "boundary": (
        "Welke buurten en straten precies bij een focusgebied horen, is bij mij niet "
        "bekend. Dat staat in het programmadocument van het NPLV."
    ),
    "yes": "Ja, ",
    "no_lead": "Nee, {place}",
    "not_nplv": (
        "{lead} heeft geen NPLV-focusgebied en valt niet onder de SPUK Kansrijke Wijk. "
        "Alleen deze 19 gemeenten kunnen aanvragen: {names}."
    ),
    "no_area": "{place} heeft geen NPLV-focusgebied.",
    "one_area": "is het focusgebied",
    "more_areas": "zijn de focusgebieden",
    # A part of town that is no area's own name: FACTS lists the areas, not their boundaries.
    "district": "In {gemeente} {area} {names}; of {label} daarbij hoort, staat niet in mijn bronnen.",
    "unplaced": "Of {label} bij een van de 20 focusgebieden hoort, staat niet in mijn bronnen.",
    "area_short": "**{area}** (gemeente {gemeente}) is een van de 20 NPLV-focusgebieden.",
    "gemeente_short": "{gemeente} doet mee met {names}.",
    "joint_unknown": "Of gemeenten samen één aanvraag kunnen doen, staat niet in mijn bronnen.",
    "no_lead_plain": "Nee, ",
    "no_year_lead": "Nee, in {year} niet. ",
    "after_period": (
        "{lead}Geld dat je niet uitgeeft in het jaar waarvoor het beschikbaar is, mag "
        "je in latere jaren nog gebruiken, maar **tot en met 2028**. {year} valt daar "
        "niet onder."
    ),
    "year_unknown": "Wat er in {years} geldt, staat niet in mijn bronnen.",
    "year_unknown_past": "Wat er in {years} gold, staat niet in mijn bronnen.",
    "year_first_tranche": (
        "In {years} liep de eerste tranche (2023 tot en met 2025). Wat er toen "
        "hierover gold, staat niet in mijn bronnen."
    ),
    "amount_unknown_named": "Een bedrag van {amount} staat niet in mijn bronnen.",
    "not_per_year": (
        "{lead}{amount} is het bedrag voor {period} samen, niet per jaar. Hoe het geld "
        "over de jaren is verdeeld, is bij mij niet bekend."
    ),
    "area": (
        "{yes}**{area}** (gemeente {gemeente}) is een van de 20 NPLV-focusgebieden, met "
        "ongeveer {inhabitants} inwoners {peildatum}."
    ),
    "gemeente_one_area": (
        "{yes}{gemeente} doet mee met het focusgebied **{area}** (ongeveer {inhabitants} inwoners {peildatum})."
    ),
    "gemeente_areas": "{yes}{gemeente} heeft {count} focusgebieden: {parts}, {peildatum}.",
    "gemeente_areas_part": "**{area}** (ongeveer {inhabitants} inwoners)",
    "inhabitants_part": "in **{area}** wonen ongeveer {inhabitants} mensen",
    "inhabitants": "{parts} ({peildatum}). In alle 20 gebieden samen zijn het er ongeveer 1,2 miljoen.",
    "ministry_part": "{ministry} draagt **{amount}** bij",
    "ministries": "{parts} aan de SPUK Kansrijke Wijk 2026-2028. In totaal is er ruim € 400 miljoen.",
    "example_unconfirmed": " (Dit staat in het persbericht van juli 2025; een tweede bron heb ik niet.)",
    "no_example": (
        "Voor {area} heb ik geen voorbeeld in mijn kennisbank. Voorbeelden die ik wel "
        "heb, komen uit Groningen-Noord, Tilburg NoordWest, Heerlen-Noord en Zaandam-Oost."
    ),
    "amount_unknown": (
        "Hoeveel {name} {verb}, is bij mij niet bekend: bedragen per gemeente of "
        "gebied en de verdeelsleutel heb ik niet. In totaal is er voor 2026-2028 "
        "ruim € 400 miljoen."
    ),
    "amount_verb_one": "krijgt",
    "amount_verb_more": "krijgen",
    "and": " en ",
}

# -- the helpdesk's e-mail (bot/handoff/mails.py fills these in; {helpdesk}: KW_HELPDESK_NAME) -----

#: The answer to the applicant: greeting, their question as they asked it, the answer, the
#: signature and the ticket's reference. Never the transcript.
MAIL_ANSWER_SUBJECT = "Antwoord op je vraag ({ref})"
MAIL_ANSWER_GREETING = "Hallo,"
MAIL_ANSWER_INTRO = "Je stelde een vraag aan de {helpdesk}. Hieronder lees je ons antwoord."
MAIL_ANSWER_QUESTION = "Je vraag:"
MAIL_ANSWER_ANSWER = "Ons antwoord:"
MAIL_SIGNATURE = "Met vriendelijke groet,"
MAIL_REFERENCE = "Kenmerk: {ref}"
MAIL_ANSWER_MORE = "Heb je nog een vraag? Stel die in de chat op de website en noem dan dit kenmerk."
#: Notifications to the helpdesk's team mailbox: a link to the console, no personal data.
MAIL_NEW_SUBJECT = "Nieuwe vraag voor de helpdesk ({ref})"
MAIL_NEW_TEXT = "Er staat een nieuwe vraag in de wachtrij van de {helpdesk}."
MAIL_WAIT_SUBJECT = "Een vraag wacht al {minutes} minuten ({ref})"
MAIL_WAIT_TEXT = "Een vraag in de wachtrij van de {helpdesk} wacht al {minutes} minuten op een medewerker."
MAIL_CONSOLE_LINK = "Bekijk de vraag in de console:"
MAIL_AUTOMATIC = (
    "Deze e-mail is automatisch verstuurd. Er staan geen persoonsgegevens in: de vraag lees je in de console."
)
#: The status of a mail in the ticket's history (bot/web/templates/console/parts/mails.html).
MAIL_STATUS_LABELS = {"wacht": "wacht", "bezig": "wordt verstuurd", "verstuurd": "verstuurd", "mislukt": "mislukt"}

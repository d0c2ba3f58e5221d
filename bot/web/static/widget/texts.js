// Every Dutch text the widget shows itself (B1, je/jij). What the assistant and the helpdesk say
// comes from the gateway.

var T = {
  launcher: 'Stel je vraag',
  title: 'Kansrijke Wijk Assistent',
  subtitle: 'Digitale assistent',
  close: 'Chat sluiten',
  reset: 'Gesprek wissen',
  confirmReset: 'Wil je dit gesprek wissen en opnieuw beginnen?',
  confirmYes: 'Ja, wissen',
  confirmNo: 'Annuleren',
  introAi: 'Je praat met een digitale assistent, niet met een mens.',
  introWhat: 'Ik beantwoord vragen over de specifieke uitkering Kansrijke Wijk. Mijn antwoorden komen uit de informatie over de regeling.',
  introHuman: 'Wil je een mens spreken? Typ dan \u2018medewerker\u2019 of kies \u2018Medewerker spreken\u2019.',
  introPrivacy: 'Schrijf geen persoonlijke gegevens in de chat. ',
  privacyLink: 'Lees hoe we met je gegevens omgaan',
  newTab: ' (opent in een nieuw tabblad)',
  starters: 'Onderwerpen',
  log: 'Gesprek',
  you: 'Jij: ',
  bot: 'Assistent: ',
  agent: 'Medewerker',
  handoffLive: 'Je praat nu met {name}, medewerker van de helpdesk. Dit is een mens, geen digitale assistent.',
  handoffWaiting: 'Je vraag staat klaar voor de helpdesk. Een medewerker neemt het gesprek over zodra dat kan. Tot die tijd beantwoord ik je vragen. Je kunt dit venster sluiten: het antwoord staat hier als je terugkomt.',
  subtitleLive: 'Medewerker: {name}',
  choices: 'Kies een vervolgvraag',
  typing: 'De assistent typt een antwoord\u2026',
  inputLabel: 'Typ je vraag',
  hint: 'Enter = versturen. Shift + Enter = nieuwe regel.',
  send: 'Versturen',
  charsLeft: 'Nog {n} tekens',
  reconnecting: 'Verbinding herstellen\u2026',
  reconnected: 'Verbinding hersteld.',
  queued: 'Wordt verstuurd zodra er weer verbinding is.',
  failed: 'Niet verstuurd.',
  retry: 'Opnieuw proberen',
  empty: 'Je bericht is leeg. Typ eerst je vraag.',
  tooLong: 'Je bericht is te lang. Je kunt maximaal {n} tekens sturen.',
  newConversation: 'Je bent een nieuw gesprek begonnen.',
  image: 'Afbeelding bekijken',
  source: 'Bron: ',
  checked: ' (gecontroleerd op {d})',
  masked: {
    email: 'e-mailadres', phone: 'telefoonnummer', bsn: 'burgerservicenummer', iban: 'IBAN'
  },
  maskedNote: 'Ik heb je {what} weggehaald om je privacy te beschermen.',
  portal: {
    ok: 'Je bent ingelogd via het portaal (gemeente {g}).',
    expired: 'Je inlog is verlopen. Log opnieuw in op het portaal als je iets over je eigen aanvraag wilt vragen. Algemene vragen kun je gewoon stellen.',
    invalid: 'We konden je inlog niet controleren. Je chat nu als bezoeker zonder inlog. Algemene vragen kun je gewoon stellen.'
  }
};

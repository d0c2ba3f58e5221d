"""The web gateway (aiohttp): widget, chat socket, demo portal page, health; see app.create_app."""

"""pytest's root conftest: it puts the repository on sys.path and loads the shared fixtures."""
pytest_plugins = ["tests.fixtures.databases"]

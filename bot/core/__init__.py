"""What every package of ours may use: database engines and sessions, the bounded database
runner, the clock, masking of personal data and one way to log an event (``logs.log_event``).
Imports nothing of ours above it."""

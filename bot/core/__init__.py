"""What every package of ours may use: database engines and sessions, the bounded database
runner, the clock and masking of personal data. Imports nothing of ours above it."""

"""Status store: applications, their status history, verification, audit and back-office feed."""

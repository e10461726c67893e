"""A care organisation's own settings: where its task callbacks go, and their signing key."""

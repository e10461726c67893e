"""Outbox, SMS providers, the sending worker and the reply grammar; never imports ``brigades``."""

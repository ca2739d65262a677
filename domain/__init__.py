"""Domain rules and services, independent of Telegram."""

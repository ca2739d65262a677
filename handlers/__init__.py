"""Telegram handlers, one module per feature. Each module exposes
``register(app: BranchApp, registry: Registry) -> None``."""

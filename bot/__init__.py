"""Branch Assistant (支部助手): application wiring, settings and the command line."""

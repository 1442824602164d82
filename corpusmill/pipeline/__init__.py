"""The engine: config models, Ray runner, stage protocol, resume, accounting."""

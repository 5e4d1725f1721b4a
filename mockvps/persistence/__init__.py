"""The state outside memory: snapshots (export, import, `--state`) and the durable store (`--data-dir`)."""

__all__: list[str] = []

"""Photo intake: placeholder replaced by the full pipeline."""


def register_optional_formats() -> None:
    return None

"""Wire names are dasherized (`starts-at`); Python names are snake_case (`starts_at`)."""


def dasherize(name: str) -> str:
    return name.replace("_", "-")


def snake(name: str) -> str:
    return name.replace("-", "_")

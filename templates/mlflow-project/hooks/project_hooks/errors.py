"""The one exception the template's hooks raise."""


class InvalidAnswerError(ValueError):
    """Raised when a template answer breaks its rule; the message names the field, the value, where the value
    came from when that is not an answer (`where`, e.g. a user configuration's default_context) and the rule."""

    def __init__(self, field: str, value: object, rule: str, where: str = "") -> None:
        self.field = field
        self.value = value
        self.rule = rule
        super().__init__(f"{field}={value!r}{f' ({where})' if where else ''} is invalid: {rule}")

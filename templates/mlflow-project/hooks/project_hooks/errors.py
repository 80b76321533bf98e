"""The one exception the template's hooks raise."""


class InvalidAnswerError(ValueError):
    """Raised when a template answer breaks its rule; the message names the field, the value and the rule."""

    def __init__(self, field: str, value: object, rule: str) -> None:
        self.field = field
        self.value = value
        self.rule = rule
        super().__init__(f"{field}={value!r} is invalid: {rule}")

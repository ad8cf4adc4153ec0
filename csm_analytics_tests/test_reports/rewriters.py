"""Narrative rewriters for the tests of the extension point."""


def shout(text: str, facts: dict) -> str:
    return text.upper()


def broken(text: str, facts: dict) -> str:
    raise RuntimeError("the model is down")

"""How text is shown to the classifier, in training and in scoring alike."""
import re

_SPACE = re.compile(r"\s+")


def one_line(text: str) -> str:
    """fastText reads one example per line: all whitespace becomes single spaces."""
    return _SPACE.sub(" ", text).strip()

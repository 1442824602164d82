"""Model-based quality (DCLM-style): a fastText classifier trained on good and bad examples."""
from corpusmill.stages.classifier.stage import Classifier

__all__ = ["Classifier"]

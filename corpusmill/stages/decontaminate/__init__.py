from corpusmill.stages.decontaminate.stage import Decontaminate

__all__ = ["Decontaminate"]

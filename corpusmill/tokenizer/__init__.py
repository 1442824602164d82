"""SentencePiece training and parallel encoding (issue 5)."""

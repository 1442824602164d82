"""`corpus mix search`: mixture weights found with proxy models. Above mixtures/ and trainer/ (it
builds mixtures and trains on them), so on the top floor beside the CLI."""

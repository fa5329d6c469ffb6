"""Market data: file import and validation, bundled samples, providers."""

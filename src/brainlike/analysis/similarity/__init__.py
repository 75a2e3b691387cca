"""Model-to-brain comparison: RSA, CKA, shape metrics, regression predictivity."""

__all__: list[str] = []

"""ERP-side file-drop connector for Alephee."""

__version__ = "0.1.0"

"""The watchkeeper server: decisions over HTTP, recorded before they are answered."""

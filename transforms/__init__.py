"""The orchfix catalog: one package per category, one module per pattern."""

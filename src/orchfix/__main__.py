"""``python -m orchfix``."""
from orchfix.cli import main

main()

"""``python -m livepoll`` runs the same command line as ``livepoll``."""

from livepoll.cli import main

raise SystemExit(main())

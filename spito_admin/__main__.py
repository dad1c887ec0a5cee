"""`python -m spito_admin`: the same as the `spito-admin` console script."""

from spito_admin.cli import main

raise SystemExit(main())

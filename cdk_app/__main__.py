"""`python -m cdk_app ...`"""

from cdk_app.cli import main

raise SystemExit(main())

"""What gunicorn serves (Procfile: webapp.wsgi:app): the app, or one plain line and gunicorn's boot-error exit."""

import sys

from inference import ModelError

from .app import create_app
from .config import ConfigError

# A worker exiting with this code makes gunicorn halt ("Worker failed to boot") instead of respawning it;
# SystemExit also spares the log gunicorn's traceback of every worker.
WORKER_BOOT_ERROR = 3

try:
    app = create_app()
except (ModelError, ConfigError) as exc:
    print(f"cannot start: {exc}", file=sys.stderr, flush=True)
    sys.exit(WORKER_BOOT_ERROR)

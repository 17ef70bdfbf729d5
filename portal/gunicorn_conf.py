"""gunicorn settings for the portal: `gunicorn -c python:portal.gunicorn_conf -w 2 portal.wsgi:app`.

Access log lines carry no client address (the format has no `%(h)s`), and `portal.privacy` is imported here, in
gunicorn's master, so that the day's address key (when `PORTAL_REDIS_URL` is not set) is made once before the
workers fork and is the same in each of them.
"""

import portal.privacy

accesslog = "-"  # standard output; set --access-logfile to write elsewhere
access_log_format = portal.privacy.GUNICORN_ACCESS_LOG_FORMAT
loglevel = "info"  # gunicorn names a client's address only in debug messages (invalid requests)

from __future__ import annotations

import re

from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import users


class NonRootUser(Transform):
    r"""Run the container as a non-root user.

    What it finds:
        A final stage with no ``USER`` (its own or one inherited from a stage it builds on), or
        whose last ``USER`` is ``root``/``0``. It writes the user the base image ships (node's
        ``node``, distroless ``nonroot``), a user the Dockerfile already creates or switched to
        earlier, or a new system user created the way the base image's distro does it (alpine
        ``addgroup -S``/``adduser -S``, debian/ubuntu ``groupadd --system``/``useradd --system``,
        busybox, yum/dnf distros); on ``scratch`` the numeric ``USER 65532:65532`` (no passwd file
        needed). The ``USER`` goes after the stage's last build step (RUN, COPY, ADD, WORKDIR),
        so no build step changes user, and before the run-time instructions that follow.
        Reported without a fix: unknown base images whose distro cannot be told (also ``FROM
        ${BASE}``), images that start as root on purpose (nginx, httpd), containers that drop
        root themselves (gosu, su-exec …), images with ONBUILD triggers. Not reported: images
        that already run as non-root (memcached, distroless ``:nonroot``) or whose entrypoint
        steps down itself (postgres, mysql, redis, mongo, rabbitmq), a ``USER $VAR``, Windows images.

    Why it matters:
        A process running as root in a container is root on the host's kernel: a container
        escape or a writable host mount gives an attacker full control. With a non-root user
        an exploited app can do far less (hadolint DL3002, CIS Docker Benchmark 4.1).

    Before:
        FROM python:3.12-slim
        WORKDIR /app
        COPY requirements.txt .
        RUN pip install --no-cache-dir -r requirements.txt
        COPY . .
        EXPOSE 8000
        CMD ["gunicorn", "-b", "0.0.0.0:8000", "app:app"]

    After:
        FROM python:3.12-slim
        WORKDIR /app
        COPY requirements.txt .
        RUN pip install --no-cache-dir -r requirements.txt
        COPY . .
        RUN groupadd --system app && useradd --system --gid app --no-create-home app
        USER app
        EXPOSE 8000
        CMD ["gunicorn", "-b", "0.0.0.0:8000", "app:app"]

    Options:
        ``user`` (default ``"app"``): the name of the user (and group) to create when the image
        ships none.

    Safety:
        Unsafe: the app loses root. Files the build copied stay owned by root and readable, but
        the app can no longer write to them or to root-owned folders (WORKDIR included), bind
        ports below 1024, or install anything at run time. orchfix does not add ``chown``/``--chown``:
        only the app knows where it writes; give those paths to the user (``COPY --chown=app:app``)
        where it needs them.
    """

    id = "sc-001"
    category = "sc"
    title = "Run as non-root"
    safety = Safety.UNSAFE
    kinds = frozenset({"dockerfile"})
    options = {"user": "app"}
    precheck = re.compile(r"^\s*from\s", re.I | re.M)

    def check(self, doc):
        found = users.plan(doc, self.opts.get("user") or "app")
        # the final stage already runs as non-root, or the question does not apply (Windows, USER $VAR)
        if found is None:
            return
        if found.edits:
            yield self.finding(doc, found.line, f"{found.message}; switch to USER {found.user}", found.edits)
        else:
            yield self.finding(doc, found.line, found.message, reason=found.reason)

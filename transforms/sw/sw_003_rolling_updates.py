"""sw-003: swarm services update one task at a time and roll back on failure."""
from __future__ import annotations

import re

from orchfix import shell
from orchfix import yamledit as ye
from orchfix.text import Edit
from orchfix.transform import Safety, Transform

from .._knowledge import compose, images
from . import _deploy

_SERVICE_UPDATE = re.compile(r"\bdocker\s+service\s+update\b")


class RollingUpdates(Transform):
    r"""Give swarm services a rolling update policy.

    What it finds:
    In stack files, a service ``deploy`` section without ``update_config``; in shell scripts,
    ``docker service update --image …`` without any ``--update-*`` flag. It adds
    ``update_config`` (parallelism 1, delay 10s, failure action rollback, order start-first)
    in the file's style, or the matching ``--update-parallelism 1 --update-delay 10s
    --update-failure-action rollback --update-order start-first`` flags after
    ``docker service update``. An existing ``update_config`` is never changed. Only swarm
    stacks are read: files named so (``docker-stack.yml``) or whose deploy sections use what
    only swarm reads (``placement``, ``update_config``, ``mode: global``…); ``replicas``,
    ``resources`` and ``restart_policy`` are docker compose settings too.

    Stateful services get ``order: stop-first`` instead (``--update-order stop-first``): an
    image with a data directory (postgres, mysql, redis…) or a named volume would otherwise run
    two containers on the same data during the update; so do services publishing a port in
    host mode, which the new task cannot bind while the old one holds it.

    Why it matters:
    Swarm's defaults update every task with no pause and *pause* on failure: a bad image takes
    all replicas down and leaves the service half-updated. One task at a time, a delay to
    observe it, and an automatic rollback keep the service up; start-first starts the new task
    before stopping the old one.

    Before:
        services:
          web:
            image: example/web:1.4
            deploy:
              replicas: 3
              placement:
                constraints:
                  - node.role == worker

    After:
        services:
          web:
            image: example/web:1.4
            deploy:
              replicas: 3
              placement:
                constraints:
                  - node.role == worker
              update_config:
                parallelism: 1
                delay: 10s
                failure_action: rollback
                order: start-first

    Options:
    ``parallelism`` (default 1), ``delay`` (default ``"10s"``), ``failure_action`` (default
    ``"rollback"``), ``order`` (default ``"start-first"``; stateful services always get
    ``stop-first``).

    Safety:
    Safe: it changes how future updates roll out, not what runs. Services defined through
    YAML anchors or merge keys, or whose deploy section is shared through one, are reported.
    """

    id = "sw-003"
    category = "sw"
    title = "Rolling updates"
    safety = Safety.SAFE
    kinds = frozenset({"compose", "shell"})
    options = {"parallelism": 1, "delay": "10s", "failure_action": "rollback", "order": "start-first"}
    precheck = re.compile(r"^[ \t]*deploy[ \t]*:|docker\s+service\s+update", re.M)

    def check(self, doc):
        if doc.kind == "shell":
            yield from self._shell(doc)
            return
        model = compose.load(doc)
        # not a compose file with services
        if model is None:
            return
        style = None
        for deploy in _deploy.deploys(model):
            service = deploy.service
            # an existing policy is the user's: never changed
            if ye.get(deploy.node, "update_config") is not None:
                continue
            line = deploy.key.start_mark.line + 1
            order, why = self._order(service)
            message = f"{service.name}: deploy has no update_config; added parallelism {self.opts['parallelism']}, " \
                      f"delay {self.opts['delay']}, failure action {self.opts['failure_action']}, order {order}"
            if why:
                message += f" ({why}: two tasks must not run at once)"
            if not deploy.editable:
                yield self.finding(doc, line, f"{service.name}: deploy has no update_config",
                                   reason="the service or its deploy section is defined through a YAML anchor or merge key; "
                                   "add update_config where it is written")
                continue
            style = style or ye.style_of(doc)
            data = {"parallelism": self.opts["parallelism"], "delay": self.opts["delay"],
                    "failure_action": self.opts["failure_action"], "order": order}
            yield self.finding(doc, line, message, [_deploy.add(doc, deploy, "update_config", data, style)])

    def _order(self, service) -> tuple[str, str | None]:
        why = _deploy.stateful(service) or ("it publishes a port in host mode" if _deploy.host_ports(service) else None)
        return ("stop-first", why) if why else (str(self.opts["order"]), None)

    def _shell(self, doc):
        text = doc.text
        # a script that does not parse as shell is not rewritten
        try:
            segments = shell.split(text)
        except shell.ShellSyntaxError:
            return
        for seg in segments:
            match = _SERVICE_UPDATE.search(seg.text)
            if not match:
                continue
            spans = shell.word_spans(seg.text)
            words = [seg.text[a:b] for a, b in spans]
            at = _command_at(words)
            # not a `docker service update` command (an echo of it, a longer pipeline word)
            if at is None:
                continue
            args = words[at + 3:]
            if not any(w == "--image" or w.startswith("--image=") for w in args):
                continue
            # update flags given: the user chose a policy
            if any(w.startswith(("--update-", "--rollback")) for w in args):
                continue
            image = _image_arg(args)
            order = str(self.opts["order"])
            why = None
            if image and not images.parse_ref(image).variable:
                info = images.lookup(images.parse_ref(image))
                if info and info.data_dir:
                    order, why = "stop-first", f"{info.name} keeps its data in {info.data_dir}"
            flags = (f" --update-parallelism {self.opts['parallelism']} --update-delay {self.opts['delay']}"
                     f" --update-failure-action {self.opts['failure_action']} --update-order {order}")
            end = seg.start + spans[at + 2][1]
            line = doc.line_of(seg.start + spans[at][0])
            message = "docker service update --image without update flags: added" + flags + (f" ({why})" if why else "")
            yield self.finding(doc, line, message, [Edit.insert(end, flags)])


def _command_at(words: list[str]) -> int | None:
    """Index of ``docker`` in ``[then|do|…] [sudo] [VAR=x …] docker service update``; None otherwise."""
    i = 0
    while i < len(words) and (re.match(r"[A-Za-z_][A-Za-z0-9_]*=", words[i])
                              or words[i] in ("sudo", "exec", "command", "then", "do", "else", "{", "!", "time")):
        i += 1
    if words[i:i + 3] == ["docker", "service", "update"]:
        return i
    return None


def _image_arg(args: list[str]) -> str | None:
    for i, word in enumerate(args):
        if word.startswith("--image="):
            return word.split("=", 1)[1].strip("'\"")
        if word == "--image" and i + 1 < len(args):
            return args[i + 1].strip("'\"")
    return None

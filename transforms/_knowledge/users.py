"""Who a Dockerfile's final stage runs as, and how to make it a non-root user.

sc-001 (run as non-root) and cm-002 (its "root at run time" part) both ask :func:`plan` and
write what it returns, so the knowledge lives once: how each distro family creates a system
user, which images ship a user of their own (node's ``node``, distroless ``nonroot``), which
start as root and step down by themselves (postgres, redis …), and where in the stage the
``USER`` line goes.
"""
from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass

from orchfix import shell
from orchfix.documents.dockerfile import DockerfileDocument, Instruction, Stage
from orchfix.text import Edit, newline_of
from orchfix.transforms._knowledge import images
from orchfix.transforms._knowledge.dockerenv import keyword_like
from orchfix.transforms.df._exec_form import arg_span, is_windows
from orchfix.transforms.io._from import resolved_image

#: how each distro family creates a system user ``{user}`` with its own group
CREATE_USER = {
    "alpine": "addgroup -S {user} && adduser -S -G {user} {user}",
    "busybox": "addgroup -S {user} && adduser -S -D -H -G {user} {user}",
    "debian": "groupadd --system {user} && useradd --system --gid {user} --no-create-home {user}",
    "ubuntu": "groupadd --system {user} && useradd --system --gid {user} --no-create-home {user}",
    "rhel": "groupadd --system {user} && useradd --system --gid {user} --no-create-home {user}",
}
#: the user a scratch image runs as: no /etc/passwd is needed for a numeric uid (distroless's nonroot)
SCRATCH_USER = "65532:65532"
#: a package manager used in a RUN tells the distro of an image the table does not know
_MANAGER_FAMILY = (
    (re.compile(r"\bapk\s+(add|update|upgrade)\b"), "alpine"),
    (re.compile(r"\bapt(-get)?\s+(-\S+\s+)*(install|update|upgrade)\b"), "debian"),
    (re.compile(r"\b(yum|dnf)\s+(-\S+\s+)*install\b"), "rhel"),
)
#: tools a container uses to drop root itself, at start-up
_STEP_DOWN = re.compile(r"\b(gosu|su-exec|setpriv|runuser|s6-setuidgid|chpst|setuidgid)\b")
_ROOT = re.compile(r"(root|0)(:.*)?$")
#: servers that start as root (to bind ports below 1024, open logs, read keys) and drop to their
#: own user for the real work: a USER would stop them from starting
ROOT_DAEMONS = {
    "nginx", "httpd", "httpd-foreground", "apache2", "apache2-foreground", "apachectl", "apache2ctl",
    "sshd", "php-fpm", "supervisord", "cron", "crond", "rsyslogd", "syslog-ng", "postfix", "dovecot",
    "named", "dnsmasq", "squid", "vsftpd", "openvpn", "haproxy", "lighttpd", "caddy", "tor", "privoxy",
    "freeradius", "radiusd", "smbd", "nmbd", "exim", "sendmail", "unbound", "chronyd", "ntpd",
}
#: images outside Docker Hub's library that orchfix knows: (repository prefix, distro family of
#: their default tags, lowest major version of the tag that ships a non-root user, that user)
VENDOR_IMAGES = (
    ("mcr.microsoft.com/dotnet/", "debian", 8, "app"),
)
_FAMILY_IN_NAME = re.compile(r"\b(alpine|debian|ubuntu|busybox)\b")
_ADDUSER = {"useradd", "adduser"}
#: useradd/adduser options that take a value (GNU useradd, Debian adduser, busybox adduser)
_VALUE_OPTS = {
    "-c", "-d", "-e", "-f", "-g", "-G", "-k", "-K", "-p", "-s", "-u", "-b", "-Z", "-R", "-P", "-h",
    "--comment", "--home-dir", "--home", "--expiredate", "--inactive", "--gid", "--groups", "--skel",
    "--key", "--password", "--shell", "--uid", "--base-dir", "--root", "--prefix", "--selinux-user",
    "--ingroup", "--gecos", "--firstuid", "--lastuid", "--conf",
}
#: instructions after which the new USER goes: everything that builds the filesystem
_BUILD_STEPS = {"RUN", "COPY", "ADD", "WORKDIR", "USER", "SHELL"}
_POSIX_SHELLS = {"sh", "bash", "ash", "dash", "zsh", "ksh", "mksh", "busybox"}


def is_root(user: str) -> bool:
    """Whether a USER value means uid 0 (``root``, ``0``, ``root:root``, ``0:0`` …)."""
    return bool(_ROOT.match(user))


def chain(doc: DockerfileDocument, stage: Stage) -> list[Stage]:
    """``stage`` and the stages of the file it builds on, base first."""
    return list(reversed(doc.ancestry(stage)))


def last_user(doc: DockerfileDocument, stage: Stage) -> Instruction | None:
    """The USER instruction in effect at the end of ``stage`` (its own or an ancestor stage's)."""
    found = None
    for part in chain(doc, stage):
        for ins in part.instructions:
            if ins.keyword == "USER":
                found = ins
    return found


def user_value(ins: Instruction) -> str:
    words = ins.args.split()
    return words[0] if words else ""


def created_user(doc: DockerfileDocument, stage: Stage) -> str | None:
    """The login name the stage (or a stage it builds on) creates with useradd/adduser, if one."""
    name = None
    for part in chain(doc, stage):
        for ins in part.instructions:
            if ins.keyword != "RUN" or not re.search(r"\b(useradd|adduser)\b", ins.value):
                continue
            for segment in re.split(r"&&|\|\||;|\n", ins.value):
                found = _login_of(segment)
                if found:
                    name = found
    return name


_GROUPADD = {"groupadd", "addgroup"}


def creates_only(ins: Instruction) -> set[str] | None:
    """The user and group names a RUN creates, when creating them is all it does (``groupadd``,
    ``useradd``, ``addgroup``, ``adduser`` joined by ``&&``); None for any other RUN."""
    if ins.keyword != "RUN" or ins.heredocs or ins.exec_form is not None or ins.flags:
        return None
    names: set[str] = set()
    for command in ins.args.split("&&"):
        try:
            words = shlex.split(command, posix=True)
        except ValueError:
            return None
        if not words or re.search(r"[;|&<>`$(]", command) or posixpath.basename(words[0]) not in _ADDUSER | _GROUPADD:
            return None
        name = _login_of(command) if posixpath.basename(words[0]) in _ADDUSER else _group_of(words)
        if name is None:
            return None
        names.add(name)
        # `adduser -G group name` / `useradd -g group name`: the group is named too
        for flag in ("-G", "-g", "--gid", "--ingroup"):
            if flag in words[:-1]:
                names.add(words[words.index(flag) + 1])
    return names or None


def _group_of(words: list[str]) -> str | None:
    positional, skip = [], False
    for word in words[1:]:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in ("-g", "--gid", "-K", "--key", "-p", "--password", "-R", "--root", "-P", "--prefix")
        else:
            positional.append(word)
    return positional[-1] if positional and re.fullmatch(r"[a-z_][a-z0-9_.-]*", positional[-1]) else None


def _login_of(command: str) -> str | None:
    try:
        words = shlex.split(command, posix=True)
    except ValueError:
        return None
    while words and (re.match(r"[A-Za-z_][A-Za-z0-9_]*=", words[0]) or words[0] in ("sudo", "exec")):
        words = words[1:]
    if not words or posixpath.basename(words[0]) not in _ADDUSER:
        return None
    positional = shell.positionals(words[1:], _VALUE_OPTS)
    # useradd NAME; adduser NAME [GROUP] (Debian) — the login is the first positional word
    name = positional[0] if positional else None
    return name if name and re.fullmatch(r"[a-z_][a-z0-9_.-]*\$?", name) else None


def base_ref(doc: DockerfileDocument, stage: Stage) -> images.ImageRef:
    """The external image ``stage`` builds on, global ARG defaults filled in where they exist."""
    root = chain(doc, stage)[0]
    return images.parse_ref(resolved_image(doc, root) or root.image)


def family_of(doc: DockerfileDocument, stage: Stage) -> str | None:
    """The distro family of the stage's base: the image table / tag first, then the package
    manager its RUNs use."""
    ref = base_ref(doc, stage)
    known = None if ref.variable else images.family(ref)
    if known:
        return known
    if not ref.variable:
        vendor = next((f for prefix, f, _, _ in VENDOR_IMAGES if ref.repository.startswith(prefix)), None)
        # the distro named in the image's name (registry.k8s.io/debian-base, someone/alpine-node)
        named = _FAMILY_IN_NAME.search(ref.path.rsplit("/", 1)[-1])
        if vendor or named:
            return vendor or named.group(1)
    for part in chain(doc, stage):
        for ins in part.instructions:
            if ins.keyword == "RUN":
                for pattern, family in _MANAGER_FAMILY:
                    if pattern.search(ins.value):
                        return family
    return None


@dataclass
class Plan:
    """What to do about a stage that runs as root: ``edits`` to apply, or ``reason`` it cannot be fixed."""

    line: int
    message: str
    user: str | None = None
    edits: list[Edit] | None = None
    reason: str | None = None


def plan(doc: DockerfileDocument, name: str = "app") -> Plan | None:
    """How to make the final stage run as non-root; None when it already does (or it is not a
    question orchfix can ask: Windows images, a USER from a variable)."""
    if not doc.stages:
        return None
    stage = doc.stages[-1]
    # Windows containers have no root/uid model of this kind (ContainerUser/ContainerAdministrator)
    if is_windows(doc, stage):
        return None
    parts = chain(doc, stage)
    ref = base_ref(doc, stage)
    info = None if ref.variable else images.lookup(ref)
    user_ins = last_user(doc, stage)
    if user_ins is not None:
        value = user_value(user_ins)
        # a USER from a build argument: whoever builds decides; nothing to tell
        if "$" in value or not is_root(value):
            return None
        line, message = user_ins.line, f"the last USER is {value}: the container runs as root"
    else:
        line, message = stage.from_.line, "no USER: the container runs as root"
        # the image itself runs as a non-root user (memcached, elasticsearch, distroless :nonroot)
        if info and info.runs_as == "user":
            return None
        if images.family(ref) == "distroless" and "nonroot" in (ref.tag or ""):
            return None
        # its entrypoint steps down to its own user (postgres, redis …) unless the stage replaces it
        if info and info.runs_as == "entrypoint" and not _has(parts, "ENTRYPOINT"):
            return None
    if info and info.runs_as == "root-master":
        return Plan(line, message, reason=f"{ref.name} starts as root (to bind its port and write its pid file) and "
                    "runs its workers as an unprivileged user; use an unprivileged variant of the image or set USER yourself")
    program = _program(parts)
    if program in ROOT_DAEMONS or (program or "").startswith("php-fpm"):
        return Plan(line, message, reason=f"`{program}` starts as root and drops to its own user itself (ports below "
                    "1024, logs, keys); run it unprivileged by its own configuration, then add USER")
    stepping = next((m.group(1) for p in parts for i in p.instructions for m in [_STEP_DOWN.search(i.value)] if m), None)
    if stepping:
        return Plan(line, message, reason=f"the container switches user itself at start-up ({stepping}); "
                    "USER would stop it from doing what it needs root for first")
    if any(i.keyword == "ONBUILD" for p in parts for i in p.instructions):
        return Plan(line, message, reason="the image has ONBUILD triggers: a USER would make its children's build steps run as that user")
    user, create = _choose(doc, stage, ref, user_ins, name)
    if user is None:
        return Plan(line, message, reason=create)
    edits = _edits(doc, stage, user, create, user_ins)
    if edits is None:
        return Plan(line, message, reason="the stage changes its shell with SHELL to one orchfix cannot write a user-creating command for")
    return Plan(line, message, user, edits)


def _program(parts: list[Stage]) -> str | None:
    """The program the container starts: ENTRYPOINT's first word, else CMD's (basename)."""
    for keyword in ("ENTRYPOINT", "CMD"):
        found = [i for p in parts for i in p.instructions if i.keyword == keyword]
        if not found:
            continue
        argv = found[-1].exec_form
        if argv is None:
            try:
                argv = shlex.split(found[-1].args)
            except ValueError:
                argv = found[-1].args.split()
        while argv and re.match(r"[A-Za-z_][A-Za-z0-9_]*=", argv[0]):
            argv = argv[1:]
        return posixpath.basename(argv[0]) if argv else None
    return None


def _vendor_user(ref: images.ImageRef) -> str | None:
    for prefix, _, major, user in VENDOR_IMAGES:
        version = images.major_version(ref.tag)
        if ref.repository.startswith(prefix) and version is not None and int(version) >= major:
            return user
    return None


def _has(parts: list[Stage], keyword: str) -> bool:
    return any(i.keyword == keyword for p in parts for i in p.instructions)


def _choose(doc: DockerfileDocument, stage: Stage, ref: images.ImageRef, user_ins: Instruction | None,
            name: str) -> tuple[str | None, str | None]:
    """(user to switch to, command creating it or None); (None, reason) when unknown."""
    # a non-root user the Dockerfile switched to before going back to root
    for part in reversed(chain(doc, stage)):
        for ins in reversed(part.instructions):
            if ins.keyword == "USER" and ins is not user_ins and "$" not in user_value(ins) and not is_root(user_value(ins)):
                return user_value(ins), None
    created = created_user(doc, stage)
    if created:
        return created, None
    if ref.variable:
        return None, f"the base image `{ref.raw}` comes from a build argument: its distro (and how to add a user) is unknown"
    if ref.path.lower() == "scratch":
        return SCRATCH_USER, None
    vendor = _vendor_user(ref)
    if vendor:
        return vendor, None
    info = images.lookup(ref)
    family = family_of(doc, stage)
    if family == "distroless" or (info and info.user and info.runs_as is None):
        return (info.user if info else "nonroot"), None
    if family in CREATE_USER:
        return name, CREATE_USER[family].format(user=name)
    known = f"its distro family ({family})" if family else "its distro"
    written = chain(doc, stage)[0].image
    image = f"`{written}` (by default `{ref.raw}`)" if written != ref.raw else f"`{ref.raw}`"
    return None, (f"orchfix does not know {known} for {image}, so not how to add a user there; "
                  "create one and add USER, or base the stage on a known image")


def _edits(doc: DockerfileDocument, stage: Stage, user: str, create: str | None,
           user_ins: Instruction | None) -> list[Edit] | None:
    nl = newline_of(doc.text)
    case = stage.from_.raw_keyword
    if create and not _posix_shell(doc, stage):
        return None
    run = f"{keyword_like('RUN', case)} {create}{nl}" if create else ""
    anchor = max((i for i in stage.instructions if i.keyword in _BUILD_STEPS), key=lambda i: i.start, default=stage.from_)
    if user_ins is not None and anchor is user_ins:
        # the root USER is the last build step: it becomes the new user (creating it first)
        start, end = arg_span(doc, user_ins)
        edits = [Edit(start, end, user)]
        if run:
            edits.append(Edit.insert(user_ins.start, run))
        return edits
    at = anchor.end
    lead = "" if doc.text.endswith("\n", 0, at) else nl
    return [Edit.insert(at, f"{lead}{run}{keyword_like('USER', case)} {user}{nl if lead == '' else ''}")]


def _posix_shell(doc: DockerfileDocument, stage: Stage) -> bool:
    """Whether shell-form RUNs of the stage run in a POSIX shell (no SHELL to another one)."""
    shells = [i for p in chain(doc, stage) for i in p.instructions if i.keyword == "SHELL"]
    if not shells:
        return True
    argv = shells[-1].exec_form
    return bool(argv) and posixpath.basename(argv[0]).lower() in _POSIX_SHELLS

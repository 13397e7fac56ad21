from __future__ import annotations

import re

from orchfix.text import Edit
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import dockerenv, secrets


def run_time_note(name: str) -> str:
    return f"{name}: supply at run time (docker run --env-file / -e {name})"


def build_time_note(name: str) -> str:
    return f"{name}: pass at build time with docker build --secret id={name.lower()} (RUN --mount=type=secret)"


class NoSecrets(Transform):
    r"""Keep secret values out of Dockerfiles.

    What it finds:
        ``ENV`` and ``ARG`` pairs whose literal value is a secret: by the variable's name
        (PASSWORD, SECRET, TOKEN, API_KEY, CREDENTIALS…; not ``TOKEN_URL``, ``PASSWORD_FILE``,
        ``SECRET_NAME``…) or by the value's shape (known key prefixes such as ``AKIA``, ``ghp_``,
        ``xoxb-``, ``sk_live_``, ``glpat-``, private keys, JWTs, high-entropy strings, and
        credentials in URLs such as ``postgres://user:pass@db/app``). Every ENV form is read:
        ``ENV A=1 B=2``, legacy ``ENV NAME value with spaces``, quoted values, continuation lines.
        Placeholders are not secrets: empty values, ``$VAR``/``${VAR}``, ``<your-token>``, ``xxx``,
        ``dummy``, ``example``, ``fake``. A literal default password such as ``changeme`` *is* one:
        the image would run with a password everyone knows.
        Reported without a fix: an ENV secret that a RUN or another build step reads (removing it
        would change the build; ec-003 moves npm/pip/git/bundler/composer tokens read by RUN into
        a BuildKit secret mount), and pairs inside ONBUILD.

    Why it matters:
        ENV and ARG values are stored in the image: ``docker history`` and ``docker inspect``
        show them to anyone who can pull it, and they sit in the Dockerfile's version control.
        Secrets belong in the run-time environment (``docker run --env-file``, orchestrator
        secrets) or, when the build needs them, in BuildKit secret mounts that leave no trace.

    Before:
        FROM node:20-alpine
        ENV NODE_ENV=production DB_PASSWORD=changeme
        ARG API_TOKEN=glpat-Zq81kLm3Nw5Pr7St9Uv2
        CMD ["node", "server.js"]

    After:
        FROM node:20-alpine
        # DB_PASSWORD: supply at run time (docker run --env-file / -e DB_PASSWORD)
        ENV NODE_ENV=production
        # API_TOKEN: pass at build time with docker build --secret id=api_token (RUN --mount=type=secret)
        ARG API_TOKEN
        CMD ["node", "server.js"]

    Options:
        None.

    Safety:
        Unsafe: the image no longer carries the value, so a container started without supplying
        it (or a build without the build argument) runs without it. The value itself is written
        nowhere: not in the new comment, not in the finding's message; only the name is.
        For an ENV with several pairs only the secret pair is removed; an ENV left empty is
        removed. For an ARG the name stays and only its default goes (``ARG NAME`` is the right
        form).
    """

    id = "sc-002"
    category = "sc"
    title = "No secrets in Dockerfiles"
    safety = Safety.UNSAFE
    kinds = frozenset({"dockerfile"})
    options: dict = {}
    precheck = re.compile(r"^\s*(?:onbuild\s+)?(?:env|arg)\s", re.I | re.M)

    def check(self, doc):
        for outer in doc.instructions:
            ins = doc.onbuild_trigger(outer) if outer.keyword == "ONBUILD" else outer
            # only ENV and ARG (also as ONBUILD triggers) carry values into the image
            if ins is None or ins.keyword not in ("ENV", "ARG"):
                continue
            found = dockerenv.pairs(doc, ins)
            # a pair list BuildKit would reject (unbalanced quotes, a bare name in ENV) is not ours to edit
            if found is None:
                continue
            for index, pair in enumerate(found):
                why = secrets.secret_reason(pair.name, pair.value) if pair.has_value else None
                if why is None:
                    continue
                yield self._finding(doc, outer, ins, found, index, why)

    def _finding(self, doc, outer, ins, found, index, why):
        pair, kw = found[index], ins.keyword
        if outer is not ins:
            # ONBUILD runs in someone else's build: the fix belongs to whoever owns that image
            return self.finding(doc, ins.line, f"ONBUILD {kw} {pair.name} holds a secret ({why})",
                                reason="the pair is inside ONBUILD; remove the value by hand and pass it when the child image is built")
        redactions, holder = dockerenv.copies(doc, pair)
        # the same value written into another instruction would survive the fix
        if holder is not None:
            return self.finding(doc, ins.line, f"{kw} {pair.name} holds a secret ({why})",
                                reason=f"its value also appears in {holder.keyword} on line {holder.line}; remove it there too")
        if kw == "ARG":
            return self.finding(
                doc, ins.line, f"ARG {pair.name} has a secret default ({why}); default removed, "
                f"pass it with docker build --secret id={pair.name.lower()} and RUN --mount=type=secret",
                dockerenv.without_overlaps([Edit.insert(ins.start, dockerenv.comment_line(doc, ins, build_time_note(pair.name))),
                                            Edit.delete(pair.eq, pair.end)], redactions))
        cred = secrets.build_credential(pair.name, pair.value)
        for use in dockerenv.uses(doc, ins, pair.name, cred.tools if cred else None):
            # the build itself reads the value: removing it breaks the build, not only the image
            if use.kind == "run":
                how = ("ec-003 moves it into a BuildKit secret mount (docker build --secret)" if cred else
                       "pass it as a build secret (docker build --secret, RUN --mount=type=secret) instead")
                return self.finding(doc, ins.line, f"ENV {pair.name} holds a secret ({why})",
                                    reason=f"RUN on line {use.ins.line} reads it at build time; {how}")
            if use.kind == "build":
                return self.finding(doc, ins.line, f"ENV {pair.name} holds a secret ({why})",
                                    reason=f"{use.ins.keyword} on line {use.ins.line} expands it at build time; "
                                           "removing it would change what is built")
        edit = dockerenv.removal(doc, ins, found, index)
        # comment lines between the pairs would be lost or leave a dangling continuation
        if isinstance(edit, str):
            return self.finding(doc, ins.line, f"ENV {pair.name} holds a secret ({why})", reason=edit)
        note = run_time_note(pair.name)
        if edit is None:
            edits = [dockerenv.replace_instruction(doc, ins, dockerenv.indent_of(doc, ins) + "# " + note)]
        else:
            edits = [Edit.insert(ins.start, dockerenv.comment_line(doc, ins, note)), edit]
        return self.finding(doc, ins.line, f"ENV {pair.name} holds a secret ({why}); removed, "
                            f"supply it at run time with docker run --env-file or -e {pair.name}", dockerenv.without_overlaps(edits, redactions))

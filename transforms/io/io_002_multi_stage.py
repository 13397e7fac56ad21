from __future__ import annotations

import fnmatch
import json
import posixpath
import re
import sys
from dataclasses import dataclass, field

from orchfix import shell
from orchfix.text import Edit, apply_edits, newline_of
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import contexts, dockerenv, images, npm, secrets, users
from orchfix.transforms.df._exec_form import arg_span, is_windows

from . import _blocks

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_BUILD = re.compile(
    r"\b(?:(?:npm|pnpm) run(?:-script)? build(?::[\w:-]+)?\b|yarn (?:run )?build(?::[\w:-]+)?\b|go build|mvnw? [^;&|\n]*\b(?:package|install|verify)\b"
    r"|gradlew? [^;&|\n]*\b(?:build|bootJar|assemble|jar)\b|cargo build\b[^;&|\n]*(?:--release|\s-r\b))")
# instructions that only describe how the image runs: they move to the runtime stage
_RUNTIME = {"EXPOSE", "HEALTHCHECK", "CMD", "ENTRYPOINT", "STOPSIGNAL", "VOLUME", "LABEL", "MAINTAINER", "ONBUILD"}
# variables that only steer the build; they are not copied into the runtime stage
_BUILD_ONLY = re.compile(r"(?:CGO_ENABLED|GO[A-Z0-9_]*|CARGO[A-Z0-9_]*|RUST[A-Z0-9_]*|MAVEN[A-Z0-9_]*|GRADLE[A-Z0-9_]*|"
                         r"JAVA_HOME|PATH|NPM_CONFIG_[A-Z0-9_]*|YARN_[A-Z0-9_]*|CI|DEBIAN_FRONTEND|PIP_[A-Z0-9_]*)")
# cleanups that may follow the build in the build stage
_CLEANUP = re.compile(r"^(?:npm prune\b|npm cache clean\b|yarn cache clean\b|pnpm prune\b|pnpm store prune\b|rm -(?:rf|fr|r)\b|go clean\b|cargo clean\b|mvnw? clean\b)")
_BUSYBOX = {"wget", "nc", "sh", "ash", "test", "[", "grep", "cat", "echo", "ps", "pgrep", "pidof", "true", "false", "timeout", "netstat"}
_NATIVE_TOOLS = re.compile(r"\b(?:build-essential|g\+\+|gcc|make|python3?|node-gyp)\b")
_STANDARD_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
_USERS_EVERYWHERE = {"root", "nobody", "0"}
_JAVA_MAJOR = re.compile(r"(?:jdk|jre|temurin|openjdk|corretto|java|graalvm)-?(\d{1,2})\b")


class Unknown(Exception):
    """Something the rewrite depends on cannot be told; the message says what and how to help."""


@dataclass
class Runtime:
    """The runtime stage an ecosystem asks for."""

    image: str
    #: (source in the build stage, destination) pairs, absolute paths
    copies: list[tuple[str, str]] = field(default_factory=list)
    #: instruction lines written after WORKDIR, before the copies of the artefacts
    prepare: list[str] = field(default_factory=list)
    #: programs the runtime image has besides the artefacts (for HEALTHCHECK checks)
    tools: set[str] = field(default_factory=set)
    #: users the runtime image knows
    users: set[str] = field(default_factory=set)
    note: str = ""
    #: the distro family of the runtime image (how a user is created there)
    family: str | None = None


class MultiStage(Transform):
    r"""Build in one stage, run from a small one that holds only the artefacts.

    What it finds:
        A single-stage Dockerfile whose image builds in place: ``npm``/``pnpm run build``,
        ``yarn build``, ``go build``, ``mvn package``/``install``, ``gradle build``/``bootJar``,
        ``cargo build --release``. It names that stage ``build`` and appends a runtime stage that
        copies only what runs: the Go binary (from ``go build -o``), the Rust binary
        (``target/release/<name>`` from Cargo.toml), the jar the CMD starts (a ``target/*.jar``
        glob is resolved from pom.xml), or for Node the build output folder (read from the build
        script: ``next build`` → ``.next``, ``react-scripts build`` → ``build``, ``vite build`` /
        ``tsc`` → their configured outDir…) plus the production dependencies, installed afresh
        with ``npm ci --omit=dev`` (or ``yarn install --production``) from the copied manifests.
        EXPOSE, HEALTHCHECK, CMD, ENTRYPOINT, LABEL, STOPSIGNAL, VOLUME and the ENV/USER set after
        the build move to the runtime stage (with their comments); ENV, ARG and USER the build
        also uses are repeated there; a user the build stage creates is created again in the
        runtime image's way. Artefacts keep their paths, so commands need no change.
        Runtime images: Go and Rust binaries built static (``CGO_ENABLED=0``, musl) run on
        ``alpine`` at its pinned tag (a shell stays for HEALTHCHECKs; io-005 can move them on to
        distroless); dynamically linked ones on the builder's distro (``debian:<codename>-slim``
        from the builder's tag, ``alpine``); Java on ``eclipse-temurin:<major>-jre``; Node on the
        builder's image, its ``-slim`` variant when the stage installs no native build tools and
        nothing at run time needs curl/wget.
        Reported without a fix: anything it cannot tell (``go build`` without ``-o``, the jar or
        Node output folder, package.json/Cargo.toml not in the workspace, a command that needs
        the sources or the build tools, a RUN after the build, a user with a fixed uid, a
        HEALTHCHECK tool the runtime image lacks, a base image from an ARG without default, pnpm
        and Yarn Berry, an ENV/ARG holding a secret that the runtime stage would repeat: sc-002
        and ec-003 remove it first, then the split goes ahead). Already multi-stage
        files and Windows images are left alone.

    Why it matters:
        The final image of a single-stage build carries compilers, SDKs, dev dependencies, caches
        and the sources: often ten times the size it needs, with as many more packages to patch
        and to exploit. A runtime stage with only the artefacts is smaller, faster to pull and
        start, and exposes less.

    Before:
        FROM golang:1.24
        WORKDIR /src
        COPY . .
        RUN CGO_ENABLED=0 go build -o /out/server ./cmd/server
        EXPOSE 8080
        CMD ["/out/server"]

    After:
        FROM golang:1.24 AS build
        WORKDIR /src
        COPY . .
        RUN CGO_ENABLED=0 go build -o /out/server ./cmd/server

        FROM alpine:3.22
        WORKDIR /src
        COPY --from=build /out/server /out/server
        EXPOSE 8080
        CMD ["/out/server"]

    Options:
        None. The alpine tag is the image table's pin, or yours from ``[pins]``.

    Safety:
        Unsafe: the image that runs is a different one. Files the app reads at run time besides
        the artefacts (templates, static files, config, time zone data, CA certificates on
        debian-slim) and tools installed by RUN in the build stage are not there any more; check
        the runtime stage and copy what is missing. The build stage's lines stay as they were,
        except the ``AS build`` on its FROM and the instructions that moved.
    """

    id = "io-002"
    category = "io"
    title = "Multi-stage builds"
    safety = Safety.UNSAFE
    kinds = frozenset({"dockerfile"})
    options: dict = {}
    precheck = _BUILD

    def check(self, doc):
        # already multi-stage (or no FROM): nothing to split
        if len(doc.stages) != 1:
            return
        stage = doc.stages[0]
        # Windows images have other runtimes and paths
        if is_windows(doc, stage):
            return
        builds = [i for i in stage.instructions if i.keyword == "RUN" and _BUILD.search(dockerenv.command_text(i))]
        if not builds or stage.image.lower() == "scratch":
            return
        build = builds[-1]
        message = (f"the image builds in its final stage (line {build.line}): compilers, dev dependencies and "
                   "sources ship in it")
        try:
            edits, detail = self._rewrite(doc, stage, build)
        except Unknown as exc:
            yield self.finding(doc, build.line, message, reason=str(exc))
            return
        yield self.finding(doc, build.line, f"{message}; {detail}", edits)

    # --- the rewrite ------------------------------------------------------------------------------

    def _rewrite(self, doc, stage, build):
        image = dockerenv.resolved_image(doc, stage)
        if image is None:
            raise Unknown(f"the base image `{stage.image}` comes from a build argument without default")
        ref = images.parse_ref(image)
        after = [i for i in stage.instructions if i.start > build.start]
        for other in after:
            if other.keyword in ("RUN", "COPY", "ADD") and not _cleanup(other):
                raise Unknown(f"the {other.keyword} at line {other.line} after the build may prepare the runtime "
                              "or change the artefacts; split the stages by hand")
            if other.keyword == "SHELL":
                raise Unknown(f"the SHELL at line {other.line} would have to be repeated in the runtime stage")
        command = _command(stage)
        runtime = self._runtime(doc, stage, build, ref, command)
        moved = [i for i in stage.instructions[1:] if i.keyword in _RUNTIME
                 or (i.start > build.start and i.keyword in ("ENV", "USER", "WORKDIR", "ARG"))]
        settings = [i for i in moved if i.keyword in ("ENV", "USER", "WORKDIR", "ARG")]
        cleanup = next((i for i in after if i.keyword == "RUN"), None)
        if settings and cleanup is not None and settings[0].start < cleanup.start:
            raise Unknown(f"the cleanup RUN at line {cleanup.line} depends on the {settings[0].keyword} at line "
                          f"{settings[0].line}, which would move to the runtime stage")
        kept_env = [i for i in stage.instructions if i.keyword == "ENV" and i.start < build.start and _runtime_env(i)]
        carried = [i for i in moved if i.keyword not in ("WORKDIR", "ARG")] + kept_env
        repeated_args = _args_for(doc, stage, carried)
        _no_secret_repeated(doc, kept_env + repeated_args)
        users = [i for i in stage.instructions if i.keyword == "USER"]
        last_user = users[-1] if users else None
        repeated_user = last_user if last_user is not None and last_user not in moved else None
        create = self._user_setup(doc, stage, last_user, runtime) if last_user is not None else None
        self._check_health(stage, runtime)
        final_workdir = contexts.workdir_after(doc, stage)

        nl = newline_of(doc.text)
        out = [nl, self._from_line(doc, stage, runtime.image) + nl]
        for arg in repeated_args:
            out.append(_plain(doc, arg) + nl)
        out += [_plain(doc, env) + nl for env in kept_env]
        if final_workdir and final_workdir != "/":
            out.append(f"{_blocks.keyword(doc, 'WORKDIR')} {final_workdir}{nl}")
        out += [line + nl for line in runtime.prepare]
        name = stage.name or "build"
        for source, dest in runtime.copies:
            out.append(f"{_blocks.keyword(doc, 'COPY')} --from={name} {source} {_relative(dest, final_workdir)}{nl}")
        if create:
            out.append(f"{_blocks.keyword(doc, 'RUN')} {create}{nl}")
        if repeated_user is not None:
            out.append(_plain(doc, repeated_user) + nl)
        for ins in moved:
            if ins.keyword in ("WORKDIR", "ARG"):
                continue  # the runtime stage has its own WORKDIR and ARGs
            found = _blocks.block(doc, ins)
            out.append((nl if found.after_blank else "") + found.text)
        edits = [_blocks.removal(doc, ins) for ins in moved]
        if not stage.name:
            start, end = arg_span(doc, stage.from_)
            edits.append(Edit.insert(end, f" {_blocks.keyword(doc, 'AS')} build"))
        kept = apply_edits(doc.text, _merge(edits))
        tail = "" if kept.endswith("\n") else nl
        text = "".join(out).replace(nl + nl + nl, nl + nl)
        if (kept + tail).endswith(nl + nl) or not kept.strip():
            text = text[len(nl):]  # the build stage already ends with a blank line
        edits.append(Edit.insert(len(doc.text), tail + text))
        detail = f"writes a runtime stage on {runtime.image} with only the artefacts{runtime.note}"
        return _merge(edits), detail

    def _from_line(self, doc, stage, image: str) -> str:
        platform = stage.platform
        flag = f" --platform={platform}" if platform and "BUILDPLATFORM" not in platform else ""
        return f"{_blocks.keyword(doc, 'FROM')}{flag} {image}"

    def _runtime(self, doc, stage, build, ref, command) -> Runtime:
        text = dockerenv.command_text(build)
        if re.search(r"\bgo build\b", text):
            return self._go(doc, stage, build, ref, command)
        if re.search(r"\bcargo build\b", text):
            return self._rust(doc, stage, build, ref, command)
        if re.search(r"\b(?:mvnw?|gradlew?)\b", text):
            return self._java(doc, stage, build, ref, command)
        return self._node(doc, stage, build, ref, command)

    # --- Go ---------------------------------------------------------------------------------------

    def _go(self, doc, stage, build, ref, command) -> Runtime:
        outputs, static = [], True
        scope = dockerenv.variables_at(doc, build)
        for run in (i for i in stage.instructions if i.keyword == "RUN" and re.search(r"\bgo build\b", i.value)):
            exported: dict[str, str] = {}
            for words in _segments(run):
                assigned = dict(w.split("=", 1) for w in words if re.match(r"[A-Za-z_][A-Za-z0-9_]*=", w))
                if words[:1] == ["export"]:
                    exported.update(dict(w.split("=", 1) for w in words[1:] if "=" in w))
                core = _strip_assignments(words)
                if core[:2] != ["go", "build"]:
                    continue
                out = shell.option_value(core, ("-o",))
                if out is None:
                    raise Unknown(f"`go build` at line {run.line} has no -o, so the binary's name depends on the "
                                  "module; add -o /path/to/binary")
                out = dockerenv.expand(out, scope)
                if out is None or out.endswith("/"):
                    raise Unknown(f"the output of `go build -o` at line {run.line} is a folder or a variable")
                path = contexts.container_path(contexts.workdir_at(doc, run), out)
                if path is None:
                    raise Unknown("the working directory of `go build` is unknown")
                outputs.append(path)
                cgo = assigned.get("CGO_ENABLED", exported.get("CGO_ENABLED", scope.get("CGO_ENABLED")))
                static = static and cgo == "0"
        if not outputs:
            raise Unknown("the `go build` command could not be read")
        runtime = self._binary_runtime(ref, static, "Go binary (set CGO_ENABLED=0 to build it static)")
        runtime.copies = [(o, o) for o in dict.fromkeys(outputs)]
        self._check_binary(doc, command, outputs)
        return runtime

    def _binary_runtime(self, ref, static: bool, what: str) -> Runtime:
        """alpine for a static binary; the builder's distro for a dynamic one."""
        family = images.family(ref)
        if static or family == "alpine":
            alpine = images.parse_ref("alpine")
            tag = _alpine_version(ref) if not static else None
            tag = tag or images.pin_for(alpine, self.ctx.pins)
            if not tag:
                raise Unknown('no alpine tag is pinned (set [pins] alpine = "…")')
            note = "" if static else "; the binary is dynamically linked against the builder's musl"
            return Runtime(f"alpine:{tag}", tools=set(_BUSYBOX), users={"root", "nobody"}, note=note, family="alpine")
        codename = _codename(ref)
        if family in ("debian", "ubuntu") and codename:
            image = f"debian:{codename}-slim" if family == "debian" else f"ubuntu:{codename}"
            return Runtime(image, users={"root", "nobody"}, family=family,
                           note=f"; the {what.split(' (')[0]} is dynamically linked, so it runs on the builder's {family} release")
        raise Unknown(f"the {what} is dynamically linked and the builder's distro release is not in its tag "
                      f"`{ref.raw}`; name it (e.g. -bookworm) or build the binary static")

    def _check_binary(self, doc, command, outputs: list[str]) -> None:
        """The runtime command must start one of the artefacts."""
        ins, words = command
        if ins is None:
            raise Unknown("the stage has no CMD or ENTRYPOINT, so what runs in the runtime stage cannot be told")
        if not words:
            raise Unknown(f"the {ins.keyword} at line {ins.line} uses shell features; the program it runs cannot be told")
        program = words[0]
        if "/" in program:
            path = contexts.container_path(contexts.workdir_at(doc, ins), program)
            if path in outputs:
                return
        elif any(posixpath.basename(o) == program and posixpath.dirname(o) in _STANDARD_PATH for o in outputs):
            return
        raise Unknown(f"the {ins.keyword} at line {ins.line} runs `{program}`, which is not the built binary "
                      f"({', '.join(outputs)}) on the runtime image's PATH")

    # --- Rust -------------------------------------------------------------------------------------

    def _rust(self, doc, stage, build, ref, command) -> Runtime:
        words = next((w for w in _segments(build) if _strip_assignments(w)[:2] == ["cargo", "build"]), None)
        if words is None:
            raise Unknown("the `cargo build` command could not be read")
        words = _strip_assignments(words)
        scope = dockerenv.variables_at(doc, build)
        for flag in ("--manifest-path", "--target-dir", "-p", "--package", "--workspace", "--all", "--bins", "--examples"):
            if any(w == flag or w.startswith(flag + "=") for w in words):
                raise Unknown(f"`cargo build {flag}` makes the binary's path hard to tell; split the stages by hand")
        if scope.get("CARGO_TARGET_DIR") or scope.get("CARGO_BUILD_TARGET") or re.search(r"CARGO_(?:TARGET_DIR|BUILD_TARGET)=", build.value):
            raise Unknown("CARGO_TARGET_DIR/CARGO_BUILD_TARGET move the binary; split the stages by hand")
        workdir = contexts.workdir_at(doc, build)
        if workdir is None:
            raise Unknown("the working directory of `cargo build` is unknown")
        name = shell.option_value(words, ("--bin",)) or self._crate_binary(doc, build, workdir)
        target = shell.option_value(words, ("--target",))
        folder = posixpath.join("target", target, "release") if target else "target/release"
        output = posixpath.join(workdir, folder, name)
        static = bool(target and "musl" in target) or images.family(ref) == "alpine"
        if not static:
            lock = self._read(doc, build, posixpath.join(workdir, "Cargo.lock"))
            if lock and re.search(r'^name = "openssl-sys"', lock, re.M):
                raise Unknown("the binary links OpenSSL (openssl-sys in Cargo.lock), which a slim runtime image lacks; "
                              "split the stages by hand and install libssl there")
        runtime = self._binary_runtime(ref, static, "Rust binary (build for a musl target to make it static)")
        runtime.copies = [(output, output)]
        self._check_binary(doc, command, [output])
        return runtime

    def _crate_binary(self, doc, build, workdir: str) -> str:
        text = self._read(doc, build, posixpath.join(workdir, "Cargo.toml"))
        if text is None:
            raise Unknown("Cargo.toml is not in the workspace, so the binary's name cannot be told; "
                          "run orchfix over the project with its Cargo.toml")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            raise Unknown("Cargo.toml does not parse") from None
        bins = [b.get("name") for b in data.get("bin", []) if isinstance(b, dict)]
        if len(bins) > 1:
            raise Unknown(f"the crate has several binaries ({', '.join(map(str, bins))}); build one with --bin")
        package = data.get("package") if isinstance(data.get("package"), dict) else None
        name = bins[0] if bins and bins[0] else (package or {}).get("name")
        if not isinstance(name, str):
            raise Unknown("Cargo.toml names no package (a workspace?); build one binary with --bin")
        return name

    # --- Java -------------------------------------------------------------------------------------

    def _java(self, doc, stage, build, ref, command) -> Runtime:
        ins, words = command
        if ins is None:
            raise Unknown("the stage has no CMD or ENTRYPOINT, so the jar that runs cannot be told")
        words = words if words is not None else _loose_words(ins)
        if not words or posixpath.basename(words[0]) != "java" or "-jar" not in words[:-1]:
            raise Unknown(f"the {ins.keyword} at line {ins.line} does not run `java -jar <file>`, so the artefact cannot be told")
        jar = words[words.index("-jar") + 1]
        if "$" in jar:
            raise Unknown(f"the jar `{jar}` is named through a variable")
        if any(c in jar for c in "*?["):
            jar = self._maven_jar(doc, build, jar)
        path = contexts.container_path(contexts.workdir_at(doc, ins), jar)
        if path is None:
            raise Unknown("the working directory is unknown, so where the jar is cannot be told")
        major = _java_major(ref)
        if major is None:
            raise Unknown(f"the Java version of `{ref.raw}` cannot be told from its tag, so no JRE image can be chosen")
        suffix = "-alpine" if images.family(ref) == "alpine" else ""
        info = images.lookup(images.parse_ref("eclipse-temurin"))
        return Runtime(f"eclipse-temurin:{major}-jre{suffix}", copies=[(path, path)], family="alpine" if suffix else "ubuntu",
                       tools=(set(_BUSYBOX) if suffix else set()) | {"java"},
                       users={"root", "nobody"} | ({info.user} if info and info.user else set()))

    def _maven_jar(self, doc, build, pattern: str) -> str:
        workdir = contexts.workdir_at(doc, build)
        pom = self._read(doc, build, posixpath.join(workdir, "pom.xml")) if workdir else None
        if pom is None or not re.search(r"\bmvnw?\b", build.value):
            raise Unknown(f"the jar `{pattern}` is a glob and no pom.xml in the workspace names it; name the jar in the CMD")
        body = re.sub(r"<parent>.*?</parent>|<dependencies>.*?</dependencies>|<dependencyManagement>.*?</dependencyManagement>"
                      r"|<plugins>.*?</plugins>|<profiles>.*?</profiles>", "", pom, flags=re.S)
        values = {k: (re.search(rf"<{k}>\s*([^<\s]+)\s*</{k}>", body) or [None, None])[1] for k in ("artifactId", "version", "finalName")}
        name = values["finalName"] or (f"{values['artifactId']}-{values['version']}" if values["artifactId"] and values["version"] else None)
        for key in ("artifactId", "version"):
            if name and values[key]:
                name = name.replace(f"${{project.{key}}}", values[key]).replace(f"${{{key}}}", values[key])
        if not name or "$" in name:
            raise Unknown(f"the jar `{pattern}` is a glob and pom.xml does not give its name plainly; name the jar in the CMD")
        jar = posixpath.join(posixpath.dirname(pattern), f"{name}.jar")
        if not fnmatch.fnmatchcase(jar, pattern):
            raise Unknown(f"pom.xml's jar {name}.jar does not match `{pattern}`")
        return jar

    # --- Node -------------------------------------------------------------------------------------

    def _node(self, doc, stage, build, ref, command) -> Runtime:
        if ref.name != "node" or not ref.official:
            raise Unknown(f"the runtime image for a Node build on `{ref.raw}` cannot be told (only the official node image is known)")
        segment = next((w for w in _segments(build) if _BUILD.search(" ".join(_strip_assignments(w)))), None)
        found = npm.invocation(_strip_assignments(segment)) if segment else None
        if not isinstance(found, npm.Invocation):
            raise Unknown("the build command could not be read")
        if found.tool == "pnpm":
            raise Unknown("the runtime stage would have to set pnpm up again (corepack); split the stages by hand")
        workdir = contexts.workdir_at(doc, build)
        if workdir is None:
            raise Unknown("the working directory of the build is unknown")

        def project(rel: str) -> str | None:
            return contexts.context_file(self.ctx.workspace, self._context(doc), doc, build, posixpath.join(workdir, rel))

        def read(rel: str) -> str | None:
            path = project(rel)
            return self.ctx.workspace.read(path) if path else None

        def exists(rel: str) -> bool:
            return project(rel) is not None

        pkg = npm.load(read("package.json"))
        if pkg is None:
            raise Unknown(f"the package.json built in {workdir} is not in the workspace (or does not parse), so the "
                          "build output cannot be told; run orchfix over the project with its package.json")
        if pkg.get("workspaces"):
            raise Unknown("package.json declares workspaces; split the stages by hand")
        if found.tool == "yarn" and (exists(".yarnrc.yml") or re.match(r"yarn@[2-9]", str(pkg.get("packageManager", "")))):
            raise Unknown("Yarn Berry installs differently (yarn workspaces focus --production); split the stages by hand")
        if "${" in (read(".npmrc") or ""):
            raise Unknown(".npmrc reads a token from the environment, which the runtime stage's install would need too")
        hooks = [s for s in npm.INSTALL_SCRIPTS if s in npm.scripts(pkg)]
        if hooks:
            raise Unknown(f"package.json's scripts.{hooks[0]} would run in the runtime stage's install, "
                          "where the sources and dev dependencies are missing")
        outputs, reason = npm.build_outputs(pkg, found.script, read, exists)
        if outputs is None:
            raise Unknown(reason)
        self._check_node_command(doc, pkg, command, outputs, exists)

        lock = next((f for f in ("package-lock.json", "npm-shrinkwrap.json") if exists(f)), None) if found.tool == "npm" \
            else ("yarn.lock" if exists("yarn.lock") else None)
        manifests = ["package.json"] + ([lock] if lock else []) + [f for f in (".npmrc",) if exists(f)]
        major = images.major_version(ref.tag)
        if found.tool == "npm":
            omit = "--production" if major and int(major) < 15 else "--omit=dev"
            install = f"npm ci {omit}" if lock else f"npm install {omit}"
        else:
            install = "yarn install --production --frozen-lockfile" if lock else "yarn install --production"
        image = self._node_image(stage, ref)
        name = stage.name or "build"
        run = _blocks.keyword(doc, "RUN")
        copy = _blocks.keyword(doc, "COPY")
        sources = " ".join(posixpath.join(workdir, m) for m in manifests)
        prepare = [f"{copy} --from={name} {sources} ./", f"{run} {install}"]
        info = images.lookup(ref)
        slim = image != stage.image
        tools = {"node", "npm", "npx", "yarn", "sh"} | (set(info.tools) if info and not slim else set())
        if images.family(ref) == "alpine":
            tools |= _BUSYBOX
        return Runtime(image, copies=[(posixpath.join(workdir, o), posixpath.join(workdir, o)) for o in outputs],
                       prepare=prepare, family=images.family(ref), tools=tools, users={"root", "nobody", "node"},
                       note=f" ({', '.join(outputs)}) and production dependencies")

    def _node_image(self, stage, ref) -> str:
        """The builder's image, as its slim variant when nothing needs the full one."""
        if "$" in stage.image:
            return stage.image  # keep the build argument; its value decides the variant
        if any(i.keyword == "RUN" and _NATIVE_TOOLS.search(i.value) and re.search(r"\b(?:apt-get|apt|apk)\b", i.value)
               for i in stage.instructions):
            return stage.image  # native modules: the runtime install may compile them too
        health = " ".join(i.value for i in stage.instructions if i.keyword in ("HEALTHCHECK", "CMD", "ENTRYPOINT"))
        if re.search(r"\b(?:curl|wget|git|python3?)\b", health):
            return stage.image
        slim = images.slim_tag(ref)
        return ref.with_tag(slim) if slim else stage.image

    def _check_node_command(self, doc, pkg, command, outputs: list[str], exists) -> None:
        ins, words = command
        if ins is None:
            raise Unknown("the stage has no CMD or ENTRYPOINT, so what the runtime needs cannot be told")
        if not words:
            raise Unknown(f"the {ins.keyword} at line {ins.line} uses shell features; what it runs cannot be told")
        resolved = npm.resolve(pkg, words, exists)
        if resolved is not None:
            if resolved.words is None:
                raise Unknown(f"the {ins.keyword} at line {ins.line} runs `{' '.join(words)}`: {resolved.reason}")
            words = resolved.words
        program = words[0]
        dev = npm.dev_tool(words)
        if dev:
            raise Unknown(f"the {ins.keyword} at line {ins.line} runs {dev}, which needs the sources")
        inside = [o.rstrip("/") for o in outputs]

        def in_output(path: str) -> bool:
            path = posixpath.normpath(path)
            return any(path == o or path.startswith(o + "/") for o in inside)

        if program == "node":
            args = [w for w in words[1:] if not w.startswith("-")]
            if args and not in_output(args[0]):
                raise Unknown(f"the app starts `node {args[0]}`, which is not in the build output ({', '.join(outputs)})")
            return
        if program in npm.SYSTEM_COMMANDS or "/" in program:
            raise Unknown(f"the {ins.keyword} at line {ins.line} runs `{program}`; what it needs from the build cannot be told")
        if npm.bin_package(program) not in npm.dependencies(pkg):
            raise Unknown(f"the app starts `{program}`, which is not a production dependency in package.json")
        stray = [w for w in words[1:] if not w.startswith("-") and exists(w) and not in_output(w)]
        if stray:
            raise Unknown(f"the app's command reads `{stray[0]}`, which is not in the build output")

    # --- shared checks --------------------------------------------------------------------------

    def _user_setup(self, doc, stage, user_ins, runtime: Runtime) -> str | None:
        """The command that creates the stage's USER in the runtime image (None: it exists there)."""
        user = users.user_value(user_ins).split(":")[0]
        if user.isdigit() or user in runtime.users or user in _USERS_EVERYWHERE:
            return None
        made = [i for i in stage.instructions if i.keyword == "RUN" and re.search(rf"\b(?:useradd|adduser)\b[^;&|]*\b{re.escape(user)}\b", i.value)]
        create = users.CREATE_USER.get(runtime.family or "")
        # a system user made in the build stage is made again; one with a fixed uid is left to the author
        if users.created_user(doc, stage) != user or not made or not create or re.search(r"\s(?:-u|--uid)\b", made[-1].value):
            raise Unknown(f"the USER `{user}` at line {user_ins.line} does not exist in {runtime.image}; "
                          "create it in the runtime stage by hand")
        return create.format(user=user)

    def _check_health(self, stage, runtime: Runtime) -> None:
        for ins in stage.instructions:
            if ins.keyword != "HEALTHCHECK":
                continue
            text = re.sub(r"^(?:--\S+\s+)*", "", ins.args.strip())
            if text.upper().startswith("NONE"):
                continue
            body = text[3:].strip() if text.upper().startswith("CMD") else text
            try:
                array = json.loads(body) if body.startswith("[") else None
            except ValueError:
                array = None
            programs = [array[0]] if isinstance(array, list) and array else []
            if not programs:
                try:
                    programs = [shell.words(s.text)[0] for s in shell.split(body) if s.text.strip()]
                except (ValueError, IndexError, shell.ShellSyntaxError):
                    programs = []
            missing = [p for p in programs if posixpath.basename(p) not in runtime.tools and p not in ("exit", "[")
                       and not any(p == c[1] or posixpath.basename(c[1]) == p for c in runtime.copies)]
            if missing:
                raise Unknown(f"the HEALTHCHECK at line {ins.line} runs `{missing[0]}`, which {runtime.image} lacks")

    def _context(self, doc) -> str:
        return contexts.build_context(self.ctx.workspace, doc.path)

    def _read(self, doc, ins, path: str) -> str | None:
        found = contexts.context_file(self.ctx.workspace, self._context(doc), doc, ins, path)
        return self.ctx.workspace.read(found) if found and self.ctx.workspace else None


# --- helpers ------------------------------------------------------------------------------------------

def _segments(ins) -> list[list[str]]:
    """The words of each top-level command of a RUN (unparsable ones left out)."""
    out = []
    try:
        segments = shell.split(dockerenv.command_text(ins))
    except shell.ShellSyntaxError:
        return out
    for segment in segments:
        try:
            words = shell.words(segment.text)
        except ValueError:
            continue
        if words:
            out.append(words)
    return out


def _strip_assignments(words: list[str]) -> list[str]:
    while words and re.match(r"[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words = words[1:]
    return words


def _cleanup(ins) -> bool:
    if ins.keyword != "RUN":
        return False
    segments = _segments(ins)
    return bool(segments) and all(_CLEANUP.match(" ".join(_strip_assignments(w))) for w in segments)


def _command(stage) -> tuple[object, list[str] | None]:
    """The instruction that decides what runs (ENTRYPOINT, else CMD) and its words (an exec-form
    ENTRYPOINT followed by the CMD's array); (None, None) without either."""
    entry = next((i for i in reversed(stage.instructions) if i.keyword == "ENTRYPOINT"), None)
    cmd = next((i for i in reversed(stage.instructions) if i.keyword == "CMD"), None)
    if entry is not None:
        words = contexts.command_words(entry)
        if words is not None and entry.exec_form is not None and cmd is not None and cmd.exec_form is not None:
            words = words + cmd.exec_form
        return entry, words
    if cmd is not None:
        return cmd, contexts.command_words(cmd)
    return None, None


def _loose_words(ins) -> list[str] | None:
    """Words of a shell-form command that uses variables (``java $JAVA_OPTS -jar app.jar``)."""
    try:
        segments = shell.split(ins.value)
        return shell.words(segments[0].text) if len(segments) == 1 else None
    except (ValueError, shell.ShellSyntaxError):
        return None


def _runtime_env(ins) -> bool:
    """Whether an ENV before the build sets anything besides build-only variables."""
    names = [p.split("=", 1)[0] for p in re.findall(r"""([A-Za-z_][A-Za-z0-9_]*)=""", ins.args)] or ins.args.split()[:1]
    return any(not _BUILD_ONLY.fullmatch(n) for n in names)


def _no_secret_repeated(doc, repeated) -> None:
    """Raise Unknown when an ENV/ARG the runtime stage would repeat holds a secret: writing the
    value once more would spread it (sc-002/ec-003 remove it first; then the split goes ahead)."""
    for ins in repeated:
        for pair in dockerenv.pairs(doc, ins) or ():
            if pair.has_value and secrets.secret_reason(pair.name, pair.value):
                raise Unknown(f"{ins.keyword} {pair.name} at line {ins.line} holds a secret, which the runtime stage "
                              "would repeat; remove it first (sc-002, ec-003)")


def _args_for(doc, stage, carried) -> list:
    """The stage's ARG instructions whose variables the carried instructions use."""
    used = set()
    for ins in carried:
        used |= dockerenv.references(dockerenv.command_text(ins))
    out = []
    for ins in stage.instructions:
        if ins.keyword != "ARG":
            continue
        names = {w.split("=", 1)[0] for w in ins.args.split()}
        if names & used:
            out.append(ins)
    return out


def _plain(doc, ins) -> str:
    """An instruction's text without its line ending (comments inside it dropped when single-line)."""
    start, end = arg_span(doc, ins)
    return doc.text[ins.keyword_start:end]


def _relative(dest: str, workdir: str | None) -> str:
    """``dest`` written relative to the runtime WORKDIR when it is inside it."""
    if workdir and workdir != "/" and dest.startswith(workdir.rstrip("/") + "/"):
        return "./" + posixpath.relpath(dest, workdir)
    return dest


def _codename(ref) -> str | None:
    tag = (ref.tag or "").lower()
    return next((c for c in images._DEBIAN + images._UBUNTU if c in tag), None)


def _alpine_version(ref) -> str | None:
    match = re.search(r"alpine(\d+\.\d+)", ref.tag or "")
    return match.group(1) if match else None


def _java_major(ref) -> str | None:
    tag = (ref.tag or "").lower()
    if ref.name in ("eclipse-temurin", "openjdk", "amazoncorretto", "ibm-semeru-runtimes", "sapmachine", "ibmjava"):
        return images.major_version(tag)
    match = _JAVA_MAJOR.search(tag)
    return match.group(1) if match else None


def _merge(edits: list[Edit]) -> list[Edit]:
    """Edits sorted, with deletions that touch merged (removing neighbouring instructions)."""
    out: list[Edit] = []
    for edit in sorted(edits):
        if out and out[-1].end > edit.start and edit.start != edit.end:
            last = out.pop()
            edit = Edit(last.start, max(last.end, edit.end), last.new + edit.new)
        out.append(edit)
    return out

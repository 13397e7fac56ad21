from __future__ import annotations

import re

from orchfix.text import Edit
from orchfix.transform import Safety, Transform
from orchfix.transforms._knowledge import dockerenv, images, registry

from ._from import image_span

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else f'"{name}"'


class PinBaseTags(Transform):
    r"""Pin base images to a specific tag.

    What it finds:
        ``FROM`` lines whose image has no tag or the ``latest`` tag (and no ``@sha256:`` digest).
        The tag comes from the user's ``[pins]`` (by full repository, path or name), then from
        orchfix's table of official images (dated, in ``images.toml``). A table pin keeps the
        variant: ``latest`` is the full image, so ``FROM node`` becomes the full
        ``node:22-bookworm``, not the slim one (cm-002 decides about slim). The registry and
        namespace stay as written (``docker.io/library/node`` → ``docker.io/library/node:22-bookworm``),
        and so do ``--platform``, ``AS name`` and the keyword's case. With no pin known it reports
        ``no pin known for <image>`` with the ``[pins]`` line to add, and changes nothing.
        Not findings: ``scratch``, earlier stages (``FROM build``, any case), references built
        from build arguments whose tag is set (``node:${NODE_VERSION}``). A reference built from
        ARGs whose defaults make it untagged or ``latest`` (``ARG BASE=alpine`` + ``FROM
        ${BASE}``) is reported: the default is in the ARG, and whoever builds may override it.

    Why it matters:
        ``latest`` and untagged images move: the same Dockerfile builds a different image
        tomorrow, a new major version breaks the build or the app without any change on your
        side, and builds are not reproducible (hadolint DL3006, DL3007).

    Before:
        FROM --platform=linux/amd64 golang AS build
        WORKDIR /src
        COPY . .
        RUN CGO_ENABLED=0 go build -o /out/app .

        FROM alpine:latest
        COPY --from=build /out/app /app
        ENTRYPOINT ["/app"]

    After:
        FROM --platform=linux/amd64 golang:1.25-bookworm AS build
        WORKDIR /src
        COPY . .
        RUN CGO_ENABLED=0 go build -o /out/app .

        FROM alpine:3.22
        COPY --from=build /out/app /app
        ENTRYPOINT ["/app"]

    Options:
        ``resolve_digests`` (default ``false``): also look up the digest of the chosen tag in the
        image's registry (Docker Registry HTTP API v2, anonymous pull token) and write
        ``image:tag@sha256:…``; when the lookup fails the tag pin is written and the message says
        why. ``registry_url`` (default none): the registry address to ask instead of the image's
        own (a mirror). Pins themselves come from the ``[pins]`` table of the configuration.

    Safety:
        Unsafe: the image changes to the pinned line, which may be a different major version
        than what ``latest`` pulled until now. The digest pin freezes the image, so it also stops
        receiving security fixes until the pin is updated.
    """

    id = "io-001"
    category = "io"
    title = "Specific base image tags"
    safety = Safety.UNSAFE
    kinds = frozenset({"dockerfile"})
    options = {"resolve_digests": False, "registry_url": None}
    precheck = re.compile(r"^\s*from\s", re.I | re.M)

    def check(self, doc):
        args = None
        for stage in doc.stages:
            ins = stage.from_
            image = stage.image
            # FROM without an image does not build; nothing to pin
            if not image:
                continue
            # scratch is the empty image: there is no tag to give it
            if image.lower() == "scratch":
                continue
            # an earlier stage of this file (stage names are case-insensitive)
            if any(s.name and s.name.lower() == image.lower() for s in doc.stages[:stage.index]):
                continue
            ref = images.parse_ref(image)
            if ref.variable:
                args = dockerenv.global_args(doc) if args is None else args
                yield from self._variable(doc, ins, image, args)
                continue
            # a tag other than latest, or a digest: pinned
            if not ref.floating:
                continue
            yield self._pin(doc, ins, ref)

    def _variable(self, doc, ins, image, args):
        """A reference built from build arguments: report it only when its defaults make it float."""
        resolved = dockerenv.expand(image, args)
        # no default (the tag comes from the build), or the defaults give a pinned reference
        if resolved is None or "$" in resolved or not images.parse_ref(resolved).floating:
            return
        names = sorted(set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", image)))
        yield self.finding(
            doc, ins.line, f"the base image `{image}` defaults to `{resolved}`, which has no specific tag",
            reason=f"the reference comes from ARG {', '.join(names)}: pin its default in the ARG line "
                   "(or pass --build-arg) with a specific tag")

    def _pin(self, doc, ins, ref):
        tag = images.same_variant_pin(ref, self.ctx.pins)
        key = ref.repository
        if not tag:
            return self.finding(doc, ins.line, f"no pin known for {key}",
                                reason=f'set [pins] {_toml_key(key)} = "..."')
        span = image_span(doc, ins)
        # the image word could not be located in the text (an unusual layout): say so, change nothing
        if span is None:
            return self.finding(doc, ins.line, f"{ref.raw} has no specific tag; pin it to {ref.repository}:{tag}",
                                reason="the FROM line's layout is unusual; edit it by hand")
        pinned = f"{ref.repository}:{tag}"
        note = ""
        if self.opts.get("resolve_digests") and "@" not in tag:
            try:
                digest = registry.digest(images.parse_ref(pinned), images.parse_ref(pinned).tag,
                                         base_url=self.opts.get("registry_url"))
                pinned = f"{pinned}@{digest}"
            except registry.RegistryError as exc:
                note = f" (digest not resolved: {exc})"
        label = "no tag" if ref.tag is None else f"the tag `{ref.tag}`"
        return self.finding(doc, ins.line, f"{ref.raw} has {label}; pin it to {pinned}{note}",
                            [Edit(span[0], span[1], pinned)])

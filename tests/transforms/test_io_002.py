"""io-002: multi-stage builds."""
from __future__ import annotations

import pytest

from orchfix import documents
from orchfix.fixer import fix_document
from orchfix.registry import all_transforms
from orchfix.transform import Context, Safety
from orchfix.workspace import Workspace
from tests.corpus import needs_corpus
from tests.helpers import fix, hadolint_parses, reason_of, run
from tests.transforms.crossfile import fixed, outcome
from tests.transforms.dockerfile_corpus import check_corpus

ID = "io-002"
ALPINE = "alpine:3.22"


def split(text: str) -> tuple[str, str]:
    """(build stage, runtime stage) of a rewritten file."""
    head, sep, tail = text.rpartition("\nFROM ")
    return head + "\n", "FROM " + tail


# --- Go ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("before", "after"), [
    # static binary → alpine; runtime instructions (with their comments) move, the build stays as written
    ("FROM golang:1.24\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\n"
     "RUN CGO_ENABLED=0 go build -ldflags='-s -w' -o /bin/api ./cmd/api\n\n# the API port\nEXPOSE 8080\n\n"
     "USER 65532\nENTRYPOINT [\"/bin/api\"]\nCMD [\"--port\", \"8080\"]\n",
     "FROM golang:1.24 AS build\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\n"
     "RUN CGO_ENABLED=0 go build -ldflags='-s -w' -o /bin/api ./cmd/api\n\n"
     f"FROM {ALPINE}\nWORKDIR /src\nCOPY --from=build /bin/api /bin/api\n\n# the API port\nEXPOSE 8080\n\n"
     "USER 65532\nENTRYPOINT [\"/bin/api\"]\nCMD [\"--port\", \"8080\"]\n"),
    # CGO_ENABLED from ENV (not repeated at run time), a relative -o, a labelled version from an ARG
    ("FROM golang:1.24-alpine AS builder\nARG VERSION=dev\nENV CGO_ENABLED=0 GOOS=linux\nENV APP_MODE=prod\n"
     "LABEL org.opencontainers.image.version=$VERSION\nWORKDIR /app\nCOPY . .\nRUN go build -o server .\nCMD [\"./server\"]\n",
     "FROM golang:1.24-alpine AS builder\nARG VERSION=dev\nENV CGO_ENABLED=0 GOOS=linux\nENV APP_MODE=prod\n"
     "WORKDIR /app\nCOPY . .\nRUN go build -o server .\n\n"
     f"FROM {ALPINE}\nARG VERSION=dev\nENV APP_MODE=prod\nWORKDIR /app\nCOPY --from=builder /app/server ./server\n"
     "LABEL org.opencontainers.image.version=$VERSION\nCMD [\"./server\"]\n"),
    # golang's own WORKDIR (/go) when the file sets none; export in the same RUN
    ("FROM golang:1.24\nCOPY . .\nRUN export CGO_ENABLED=0 && go build -o app\nCMD ./app\n",
     f"FROM golang:1.24 AS build\nCOPY . .\nRUN export CGO_ENABLED=0 && go build -o app\n\nFROM {ALPINE}\nWORKDIR /go\n"
     "COPY --from=build /go/app ./app\nCMD ./app\n"),
    # a binary on the standard PATH, run by name; HEALTHCHECK with busybox wget
    ("FROM golang:1.24\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /usr/local/bin/web .\n"
     "HEALTHCHECK --interval=30s CMD wget -qO- http://127.0.0.1:8080/health || exit 1\nCMD [\"web\"]\n",
     "FROM golang:1.24 AS build\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /usr/local/bin/web .\n\n"
     f"FROM {ALPINE}\nWORKDIR /src\nCOPY --from=build /usr/local/bin/web /usr/local/bin/web\n"
     "HEALTHCHECK --interval=30s CMD wget -qO- http://127.0.0.1:8080/health || exit 1\nCMD [\"web\"]\n"),
    # dynamically linked: the builder's Debian release, slim; a cleanup after the build stays
    ("FROM golang:1.24-bookworm\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/app .\nRUN go clean -cache\nCMD [\"/out/app\"]\n",
     "FROM golang:1.24-bookworm AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/app .\nRUN go clean -cache\n\n"
     "FROM debian:bookworm-slim\nWORKDIR /src\nCOPY --from=build /out/app /out/app\nCMD [\"/out/app\"]\n"),
    ("FROM golang:1.24-alpine3.21\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/app .\nCMD [\"/out/app\"]\n",
     "FROM golang:1.24-alpine3.21 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/app .\n\n"
     "FROM alpine:3.21\nWORKDIR /src\nCOPY --from=build /out/app /out/app\nCMD [\"/out/app\"]\n"),
    # cross-compiling builder: the runtime stage takes the target platform; a fixed platform is kept
    ("FROM --platform=$BUILDPLATFORM golang:1.24\nWORKDIR /s\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /a .\nCMD [\"/a\"]\n",
     f"FROM --platform=$BUILDPLATFORM golang:1.24 AS build\nWORKDIR /s\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /a .\n\n"
     f"FROM {ALPINE}\nWORKDIR /s\nCOPY --from=build /a /a\nCMD [\"/a\"]\n"),
    ("FROM --platform=linux/arm64 golang:1.24\nWORKDIR /s\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /a .\nCMD [\"/a\"]\n",
     f"FROM --platform=linux/arm64 golang:1.24 AS build\nWORKDIR /s\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /a .\n\n"
     f"FROM --platform=linux/arm64 {ALPINE}\nWORKDIR /s\nCOPY --from=build /a /a\nCMD [\"/a\"]\n"),
    # a base image from a build argument with a default; lowercase keywords; CRLF
    ("ARG GO=1.24\r\nfrom golang:${GO}\r\nworkdir /s\r\ncopy . .\r\nrun CGO_ENABLED=0 go build -o /a .\r\ncmd [\"/a\"]\r\n",
     f"ARG GO=1.24\r\nfrom golang:${{GO}} as build\r\nworkdir /s\r\ncopy . .\r\nrun CGO_ENABLED=0 go build -o /a .\r\n\r\n"
     f"from {ALPINE}\r\nworkdir /s\r\ncopy --from=build /a /a\r\ncmd [\"/a\"]\r\n"),
    # a build continued over lines, no final newline
    ("FROM golang:1.24\nWORKDIR /s\nCOPY . .\nRUN CGO_ENABLED=0 \\\n    go build \\\n    -o /a .\nCMD [\"/a\"]",
     f"FROM golang:1.24 AS build\nWORKDIR /s\nCOPY . .\nRUN CGO_ENABLED=0 \\\n    go build \\\n    -o /a .\n\n"
     f"FROM {ALPINE}\nWORKDIR /s\nCOPY --from=build /a /a\nCMD [\"/a\"]\n"),
])
def test_go(before, after):
    assert fix(ID, before) == after
    assert hadolint_parses(after)


def test_a_user_made_in_the_build_stage_is_made_again():
    before = ("FROM golang:1.24\nRUN groupadd --system app && useradd --system --gid app --no-create-home app\nWORKDIR /s\n"
              "COPY . .\nRUN CGO_ENABLED=0 go build -o /a .\nUSER app\nCMD [\"/a\"]\n")
    runtime = split(fix(ID, before))[1]
    assert runtime == (f"FROM {ALPINE}\nWORKDIR /s\nCOPY --from=build /a /a\nRUN addgroup -S app && adduser -S -G app app\n"
                       "USER app\nCMD [\"/a\"]\n")
    # also when the build's RUN does more (as cm-002/sc-001 write it after df-004 joined the RUNs)
    joined = ("FROM golang:1.24\nWORKDIR /s\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /a . && \\\n"
              "    groupadd --system app && useradd --system --gid app --no-create-home app\nUSER app\nCMD [\"/a\"]\n")
    assert "RUN addgroup -S app && adduser -S -G app app\nUSER app\n" in split(fix(ID, joined))[1]


def test_pins_choose_the_alpine_tag():
    text = "FROM golang:1.24\nWORKDIR /s\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /a .\nCMD [\"/a\"]\n"
    cls = all_transforms()[ID]
    ctx = Context(options=dict(cls.options), workspace=Workspace(), pins={"alpine": "3.21.3"})
    result = fix_document(documents.load("Dockerfile", "dockerfile", text), [cls(ctx)], unsafe_ok=True)
    assert "\nFROM alpine:3.21.3\n" in result.text


def test_is_unsafe():
    text = "FROM golang:1.24\nWORKDIR /s\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /a .\nCMD [\"/a\"]\n"
    result = run(ID, text, unsafe=False)
    [finding] = result.remaining
    assert result.text == text and finding.fix and finding.safety is Safety.UNSAFE


@pytest.mark.parametrize(("before", "reason"), [
    ("FROM golang:1.24\nWORKDIR /s\nCOPY . .\nRUN go build .\nCMD [\"/s/x\"]\n", "has no -o"),
    ("FROM golang:1.24\nWORKDIR /s\nCOPY . .\nRUN go build -o bin/ ./...\nCMD [\"/s/x\"]\n", "is a folder"),
    ("FROM golang:1.24\nWORKDIR /s\nCOPY . .\nRUN go build -o /a .\nCMD [\"/a\"]\n", "release is not in its tag"),
    ("FROM golang:1.24\nWORKDIR /s\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /a .\n", "no CMD or ENTRYPOINT"),
    ("FROM golang:1.24\nWORKDIR /s\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /a .\nCMD [\"go\", \"run\", \".\"]\n", "runs `go`"),
    ("FROM golang:1.24\nWORKDIR /s\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /go/bin/a .\nCMD [\"a\"]\n", "runs `a`"),
    ("FROM golang:1.24\nWORKDIR /s\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /a .\nCMD /a --name $NAME\n", "shell features"),
    ("FROM golang:1.24\nWORKDIR /s\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /a .\nRUN apt-get install -y tzdata\nCMD [\"/a\"]\n",
     "RUN at line 5 after the build"),
    ("FROM golang:1.24\nWORKDIR /s\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /a .\nCOPY config.yml /etc/\nCMD [\"/a\"]\n",
     "COPY at line 5 after the build"),
    ("FROM golang:1.24\nRUN useradd -u 1001 app\nWORKDIR /s\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /a .\nUSER app\nCMD [\"/a\"]\n",
     "USER `app`"),
    ("FROM golang:1.24\nWORKDIR /s\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /a .\nUSER www-data\nCMD [\"/a\"]\n", "USER `www-data`"),
    ("FROM golang:1.24\nWORKDIR /s\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /a .\nHEALTHCHECK CMD curl -f http://localhost/ || exit 1\n"
     "CMD [\"/a\"]\n", "runs `curl`"),
    ("FROM golang:1.24\nWORKDIR /s\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /a .\nUSER 1000\nRUN go clean -cache\nCMD [\"/a\"]\n",
     "depends on the USER at line 5"),
    ("ARG GO\nFROM golang:${GO}\nWORKDIR /s\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /a .\nCMD [\"/a\"]\n", "without default"),
    ("FROM golang:1.24\nWORKDIR $SRC\nCOPY . .\nRUN CGO_ENABLED=0 go build -o a .\nCMD [\"./a\"]\n", "working directory"),
])
def test_go_reports(before, reason):
    result = run(ID, before)
    assert result.text == before
    assert reason in reason_of(result)


@pytest.mark.parametrize("before", [
    "FROM golang:1.24 AS build\nRUN go build -o /a .\nFROM alpine\nCOPY --from=build /a /a\n",
    "FROM golang:1.24\nRUN go test ./...\nCMD [\"go\", \"run\", \".\"]\n",
    "FROM node:22\nRUN npm run lint\nCMD [\"npm\", \"start\"]\n",
    "FROM node:22\nRUN npm ci\n",
    "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN go build -o C:\\app.exe .\n",
    "FROM python:3.13\nRUN pip install build && python -m build\n",
    "FROM rust:1.80\nRUN cargo build\nCMD [\"cargo\", \"run\"]\n",
])
def test_leaves_alone(before):
    result = run(ID, before)
    assert result.text == before and not result.remaining


# --- Rust -------------------------------------------------------------------------------------------

CARGO = "[package]\nname = \"my-api\"\nversion = \"0.1.0\"\n"


@pytest.mark.parametrize(("files", "before", "runtime"), [
    ({"Cargo.toml": CARGO},
     "FROM rust:1.80-slim-bookworm\nWORKDIR /usr/src/app\nCOPY . .\nRUN cargo build --release\nCMD [\"./target/release/my-api\"]\n",
     "FROM debian:bookworm-slim\nWORKDIR /usr/src/app\nCOPY --from=build /usr/src/app/target/release/my-api ./target/release/my-api\n"
     "CMD [\"./target/release/my-api\"]\n"),
    ({"Cargo.toml": CARGO + "\n[[bin]]\nname = \"srv\"\npath = \"src/main.rs\"\n"},
     "FROM rust:1.80-alpine\nWORKDIR /app\nCOPY . .\nRUN cargo build --release --locked\nENTRYPOINT [\"/app/target/release/srv\"]\n",
     f"FROM {ALPINE}\nWORKDIR /app\nCOPY --from=build /app/target/release/srv ./target/release/srv\nENTRYPOINT [\"/app/target/release/srv\"]\n"),
    ({"Cargo.toml": CARGO},
     "FROM rust:1.80\nWORKDIR /app\nCOPY . .\nRUN cargo build -r --target x86_64-unknown-linux-musl --bin tool\n"
     "CMD [\"/app/target/x86_64-unknown-linux-musl/release/tool\"]\n",
     f"FROM {ALPINE}\nWORKDIR /app\nCOPY --from=build /app/target/x86_64-unknown-linux-musl/release/tool "
     "./target/x86_64-unknown-linux-musl/release/tool\nCMD [\"/app/target/x86_64-unknown-linux-musl/release/tool\"]\n"),
])
def test_rust(tmp_path, monkeypatch, files, before, runtime):
    result = fixed(ID, tmp_path, monkeypatch, {**files, "Dockerfile": before})
    build, rest = split(result)
    assert rest == runtime
    assert build == before.replace("\n", " AS build\n", 1).rsplit("\n", 2)[0] + "\n\n"  # the command moved
    assert hadolint_parses(result)


@pytest.mark.parametrize(("files", "before", "reason"), [
    ({}, "FROM rust:1.80-bookworm\nWORKDIR /a\nCOPY . .\nRUN cargo build --release\nCMD [\"./target/release/x\"]\n",
     "Cargo.toml is not in the workspace"),
    ({"Cargo.toml": "[workspace]\nmembers = ['a']\n"},
     "FROM rust:1.80-bookworm\nWORKDIR /a\nCOPY . .\nRUN cargo build --release\nCMD [\"./target/release/x\"]\n", "names no package"),
    ({"Cargo.toml": CARGO + "[[bin]]\nname='a'\n[[bin]]\nname='b'\n"},
     "FROM rust:1.80-bookworm\nWORKDIR /a\nCOPY . .\nRUN cargo build --release\nCMD [\"./target/release/a\"]\n", "several binaries"),
    ({"Cargo.toml": CARGO, "Cargo.lock": "[[package]]\nname = \"openssl-sys\"\n"},
     "FROM rust:1.80-bookworm\nWORKDIR /a\nCOPY . .\nRUN cargo build --release\nCMD [\"./target/release/my-api\"]\n", "OpenSSL"),
    ({"Cargo.toml": CARGO},
     "FROM rust:1.80\nWORKDIR /a\nCOPY . .\nRUN cargo build --release\nCMD [\"./target/release/my-api\"]\n", "release is not in its tag"),
    ({"Cargo.toml": CARGO},
     "FROM rust:1.80-bookworm\nWORKDIR /a\nCOPY . .\nRUN cargo build --release --workspace\nCMD [\"x\"]\n", "--workspace"),
    ({"Cargo.toml": CARGO},
     "FROM rust:1.80-bookworm\nWORKDIR /a\nCOPY . .\nRUN cargo build --release\nCMD [\"cargo\", \"run\", \"--release\"]\n", "runs `cargo`"),
])
def test_rust_reports(tmp_path, monkeypatch, files, before, reason):
    assert reason in reason_of(outcome(ID, tmp_path, monkeypatch, {**files, "Dockerfile": before}))


# --- Java -------------------------------------------------------------------------------------------

POM = ("<project>\n  <parent><artifactId>spring-boot-starter-parent</artifactId><version>3.3.0</version></parent>\n"
       "  <artifactId>demo</artifactId>\n  <version>0.0.1-SNAPSHOT</version>\n</project>\n")


@pytest.mark.parametrize(("files", "before", "runtime"), [
    ({"pom.xml": POM},
     "FROM maven:3.9-eclipse-temurin-21\nWORKDIR /app\nCOPY . .\nRUN mvn -B package -DskipTests\nEXPOSE 8080\n"
     "ENTRYPOINT java -jar target/*.jar\n",
     "FROM eclipse-temurin:21-jre\nWORKDIR /app\nCOPY --from=build /app/target/demo-0.0.1-SNAPSHOT.jar ./target/demo-0.0.1-SNAPSHOT.jar\n"
     "EXPOSE 8080\nENTRYPOINT java -jar target/*.jar\n"),
    ({"pom.xml": POM.replace("</project>", "<build><finalName>app</finalName></build></project>")},
     "FROM eclipse-temurin:17-jdk-alpine\nWORKDIR /w\nCOPY . .\nRUN ./mvnw package\nENV JAVA_OPTS=-Xmx512m\n"
     "CMD [\"java\", \"-jar\", \"/w/target/app.jar\"]\n",
     "FROM eclipse-temurin:17-jre-alpine\nWORKDIR /w\nCOPY --from=build /w/target/app.jar ./target/app.jar\nENV JAVA_OPTS=-Xmx512m\n"
     "CMD [\"java\", \"-jar\", \"/w/target/app.jar\"]\n"),
    ({},
     "FROM gradle:8.14-jdk21\nWORKDIR /home/gradle/src\nCOPY . .\nRUN gradle bootJar --no-daemon\n"
     "ENTRYPOINT [\"java\", \"-jar\"]\nCMD [\"build/libs/svc-1.0.jar\"]\n",
     "FROM eclipse-temurin:21-jre\nWORKDIR /home/gradle/src\nCOPY --from=build /home/gradle/src/build/libs/svc-1.0.jar ./build/libs/svc-1.0.jar\n"
     "ENTRYPOINT [\"java\", \"-jar\"]\nCMD [\"build/libs/svc-1.0.jar\"]\n"),
    ({},
     "FROM openjdk:17-jdk-slim\nWORKDIR /app\nCOPY . .\nRUN ./gradlew build -x test\nCMD [\"java\", \"-jar\", \"build/libs/app.jar\"]\n",
     "FROM eclipse-temurin:17-jre\nWORKDIR /app\nCOPY --from=build /app/build/libs/app.jar ./build/libs/app.jar\n"
     "CMD [\"java\", \"-jar\", \"build/libs/app.jar\"]\n"),
])
def test_java(tmp_path, monkeypatch, files, before, runtime):
    result = fixed(ID, tmp_path, monkeypatch, {**files, "Dockerfile": before})
    assert split(result)[1] == runtime
    assert hadolint_parses(result)


@pytest.mark.parametrize(("files", "before", "reason"), [
    ({}, "FROM maven:3.9-eclipse-temurin-21\nWORKDIR /a\nCOPY . .\nRUN mvn package\nCMD java -jar target/*.jar\n", "no pom.xml"),
    ({"pom.xml": "<project><artifactId>${name}</artifactId><version>1</version></project>"},
     "FROM maven:3.9-eclipse-temurin-21\nWORKDIR /a\nCOPY . .\nRUN mvn package\nCMD java -jar target/*.jar\n", "plainly"),
    ({}, "FROM gradle:8-jdk21\nWORKDIR /a\nCOPY . .\nRUN gradle build\nCMD java -jar build/libs/*.jar\n", "glob"),
    ({}, "FROM maven:3.9-eclipse-temurin-21\nWORKDIR /a\nCOPY . .\nRUN mvn package\nCMD [\"mvn\", \"spring-boot:run\"]\n", "java -jar"),
    ({}, "FROM maven:3\nWORKDIR /a\nCOPY . .\nRUN mvn package\nCMD [\"java\", \"-jar\", \"target/a.jar\"]\n", "Java version"),
    ({}, "FROM maven:3.9-eclipse-temurin-21\nWORKDIR /a\nCOPY . .\nRUN mvn package\nCMD java -jar target/${JAR}\n", "variable"),
])
def test_java_reports(tmp_path, monkeypatch, files, before, reason):
    assert reason in reason_of(outcome(ID, tmp_path, monkeypatch, {**files, "Dockerfile": before}))


# --- Node -------------------------------------------------------------------------------------------

def node_project(scripts: dict, deps: dict | None = None, **more) -> dict:
    return {"package.json": {"name": "web", "scripts": scripts, "dependencies": deps or {}, "devDependencies": {"typescript": "5"}},
            "package-lock.json": "{}", **more}


@pytest.mark.parametrize(("files", "before", "runtime"), [
    (node_project({"build": "tsc", "start": "node dist/server.js"}, {"express": "4"}, **{"tsconfig.json": '{"compilerOptions": {"outDir": "dist"}}'}),
     "FROM node:22\nENV PORT=3000\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\nRUN npm run build\n\n"
     "# the port\nEXPOSE 3000\nUSER node\nCMD [\"npm\", \"start\"]\n",
     "FROM node:22-slim\nENV PORT=3000\nWORKDIR /app\nCOPY --from=build /app/package.json /app/package-lock.json ./\nRUN npm ci --omit=dev\n"
     "COPY --from=build /app/dist ./dist\n\n# the port\nEXPOSE 3000\nUSER node\nCMD [\"npm\", \"start\"]\n"),
    # Next.js: .next, public and the config; `next start` is a production dependency
    (node_project({"build": "next build", "start": "next start"}, {"next": "14"}, **{"public/favicon.ico": "", "next.config.js": ""}),
     "FROM node:20-bookworm\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\nCMD [\"npm\", \"start\"]\n",
     "FROM node:20-bookworm-slim\nWORKDIR /app\nCOPY --from=build /app/package.json /app/package-lock.json ./\nRUN npm ci --omit=dev\n"
     "COPY --from=build /app/.next ./.next\nCOPY --from=build /app/public ./public\nCOPY --from=build /app/next.config.js ./next.config.js\n"
     "CMD [\"npm\", \"start\"]\n"),
    # Create React App served by serve; yarn; alpine keeps its image; old node: --production
    ({"package.json": {"scripts": {"build": "react-scripts build", "start": "serve -s build"}, "dependencies": {"serve": "14", "react-scripts": "5"}},
      "yarn.lock": ""},
     "FROM node:14-alpine\nWORKDIR /app\nCOPY . .\nRUN yarn install --frozen-lockfile && yarn build\n"
     "HEALTHCHECK CMD wget -q -O- http://localhost:3000 || exit 1\nCMD [\"yarn\", \"start\"]\n",
     "FROM node:14-alpine\nWORKDIR /app\nCOPY --from=build /app/package.json /app/yarn.lock ./\nRUN yarn install --production --frozen-lockfile\n"
     "COPY --from=build /app/build ./build\nHEALTHCHECK CMD wget -q -O- http://localhost:3000 || exit 1\nCMD [\"yarn\", \"start\"]\n"),
    (node_project({"build": "vite build --outDir public/app", "start": "node server.js"}, **{"server.js": ""}),
     "FROM node:14\nWORKDIR /app\nCOPY . .\nRUN npm install\nRUN npm run build\nCMD node public/app/server.js\n",
     "FROM node:14-slim\nWORKDIR /app\nCOPY --from=build /app/package.json /app/package-lock.json ./\nRUN npm ci --production\n"
     "COPY --from=build /app/public/app ./public/app\nCMD node public/app/server.js\n"),
    # a HEALTHCHECK with curl keeps the full image (slim has no curl)
    (node_project({"build": "tsc -p tsconfig.build.json", "start": "node build/main.js"}, **{"tsconfig.build.json": '{"compilerOptions": {"outDir": "./build"}}'}),
     "FROM node:22\nWORKDIR /srv\nCOPY . .\nRUN npm ci\nRUN npm run build\nHEALTHCHECK CMD curl -f http://localhost/ || exit 1\nCMD [\"npm\", \"start\"]\n",
     "FROM node:22\nWORKDIR /srv\nCOPY --from=build /srv/package.json /srv/package-lock.json ./\nRUN npm ci --omit=dev\n"
     "COPY --from=build /srv/build ./build\nHEALTHCHECK CMD curl -f http://localhost/ || exit 1\nCMD [\"npm\", \"start\"]\n"),
])
def test_node(tmp_path, monkeypatch, files, before, runtime):
    result = fixed(ID, tmp_path, monkeypatch, {**files, "Dockerfile": before})
    assert split(result)[1] == runtime
    assert hadolint_parses(result)


@pytest.mark.parametrize(("files", "before", "reason"), [
    ({}, "FROM node:22\nWORKDIR /a\nCOPY . .\nRUN npm ci && npm run build\nCMD [\"npm\", \"start\"]\n", "package.json built in /a is not in the workspace"),
    (node_project({"build": "rollup -c", "start": "node dist/a.js"}),
     "FROM node:22\nWORKDIR /a\nCOPY . .\nRUN npm ci && npm run build\nCMD [\"npm\", \"start\"]\n", "cannot be told: `rollup -c`"),
    (node_project({"build": "tsc", "start": "node index.js"}, **{"tsconfig.json": '{"compilerOptions": {"outDir": "dist"}}'}),
     "FROM node:22\nWORKDIR /a\nCOPY . .\nRUN npm ci && npm run build\nCMD [\"npm\", \"start\"]\n", "`node index.js`, which is not in the build output"),
    (node_project({"build": "vite build", "start": "react-scripts start"}, {"react-scripts": "5"}),
     "FROM node:22\nWORKDIR /a\nCOPY . .\nRUN npm ci && npm run build\nCMD [\"npm\", \"start\"]\n", "development server"),
    (node_project({"build": "tsc", "start": "node dist/a.js", "postinstall": "patch-package"}),
     "FROM node:22\nWORKDIR /a\nCOPY . .\nRUN npm ci && npm run build\nCMD [\"npm\", \"start\"]\n", "scripts.postinstall"),
    (node_project({"build": "next build", "start": "next start"}, {}),
     "FROM node:22\nWORKDIR /a\nCOPY . .\nRUN npm ci && npm run build\nCMD [\"npm\", \"start\"]\n", "not a production dependency"),
    (node_project({"build": "vite build", "start": "node s.js"}),
     "FROM node:22\nWORKDIR /a\nCOPY . .\nRUN pnpm install && pnpm run build\nCMD [\"node\", \"dist/s.js\"]\n", "pnpm"),
    (node_project({"build": "vite build"}, **{".yarnrc.yml": "nodeLinker: node-modules\n"}),
     "FROM node:22\nWORKDIR /a\nCOPY . .\nRUN yarn && yarn build\nCMD [\"node\", \"dist/s.js\"]\n", "Yarn Berry"),
    (node_project({"build": "vite build"}, **{".npmrc": "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n"}),
     "FROM node:22\nWORKDIR /a\nCOPY . .\nRUN npm ci && npm run build\nCMD [\"node\", \"dist/s.js\"]\n", "token"),
    (node_project({"build": "vite build"}),
     "FROM mycorp/node:22\nWORKDIR /a\nCOPY . .\nRUN npm ci && npm run build\nCMD [\"node\", \"dist/s.js\"]\n", "only the official node image"),
    (node_project({"build": "vite build"}),
     "FROM node:22\nWORKDIR /a\nCOPY . .\nRUN npm ci && npm run build\nCMD [\"sh\", \"start.sh\"]\n", "runs `sh`"),
])
def test_node_reports(tmp_path, monkeypatch, files, before, reason):
    assert reason in reason_of(outcome(ID, tmp_path, monkeypatch, {**files, "Dockerfile": before}))


def test_node_build_with_a_mount(tmp_path, monkeypatch):
    """RUN flags are not part of the build command."""
    files = node_project({"build": "tsc", "start": "node dist/s.js"}, **{"tsconfig.json": '{"compilerOptions": {"outDir": "dist"}}'})
    before = ("FROM node:22\nWORKDIR /a\nCOPY . .\nRUN --mount=type=cache,target=/root/.npm npm ci\n"
              "RUN --mount=type=cache,target=/root/.npm npm run build\nCMD [\"node\", \"dist/s.js\"]\n")
    runtime = split(fixed(ID, tmp_path, monkeypatch, {**files, "Dockerfile": before}))[1]
    assert runtime.startswith("FROM node:22-slim\n") and "COPY --from=build /a/dist ./dist\n" in runtime


@pytest.mark.parametrize("secret", ["ENV API_TOKEN=tk_9fQ2mR7xL4vB8nW1cZ6yH3pKd5Ts\n", "ENV DB_PASSWORD=hunter2hunter2\n",
                                    "ARG NPM_TOKEN=Xq7Lm2Rv9Tc4Wz8Kp1Hn6Bd3Fy5Js0Ga\nENV NPM_TOKEN=$NPM_TOKEN\n"])
def test_node_does_not_repeat_a_secret(tmp_path, monkeypatch, secret):
    """An ENV/ARG the runtime stage would repeat that holds a secret: reported, so the value is not
    written a second time (sc-002/ec-003 remove it first, then the split goes ahead)."""
    files = node_project({"build": "tsc", "start": "node dist/s.js"}, **{"tsconfig.json": '{"compilerOptions": {"outDir": "dist"}}'})
    before = f"FROM node:22\n{secret}WORKDIR /a\nCOPY . .\nRUN npm ci && npm run build\nCMD [\"node\", \"dist/s.js\"]\n"
    result = outcome(ID, tmp_path, monkeypatch, {**files, "Dockerfile": before})
    assert result.text == before and "holds a secret, which the runtime stage would repeat" in reason_of(result)
    workspace = Workspace.scan(["."])
    both = [cls(Context(options=dict(cls.options), workspace=workspace)) for cls in (all_transforms()[t] for t in (ID, "sc-002", "ec-003"))]
    after = fix_document(documents.load("Dockerfile", "dockerfile", before), both, unsafe_ok=True)
    assert not after.errors and "\nFROM node:22-slim\n" in after.text
    assert not any(value in after.text for value in ("tk_9fQ2", "hunter2hunter2", "Xq7Lm2"))


def test_node_native_build_tools_keep_the_full_image(tmp_path, monkeypatch):
    files = node_project({"build": "vite build", "start": "node dist/s.js"})
    before = ("FROM node:22\nRUN apt-get update && apt-get install -y python3 make g++\nWORKDIR /a\nCOPY . .\n"
              "RUN npm ci && npm run build\nCMD [\"npm\", \"start\"]\n")
    assert split(fixed(ID, tmp_path, monkeypatch, {**files, "Dockerfile": before}))[1].startswith("FROM node:22\n")


def test_docs_example_needs_no_workspace():
    sections = all_transforms()[ID].doc_sections()
    assert run(ID, sections["Before"], workspace=Workspace()).text == sections["After"]


@needs_corpus
def test_corpus():
    counts = check_corpus(ID, workspace=True)
    # every corpus Dockerfile that builds is multi-stage already
    assert counts["applied"] == 0 and counts["report-only"] == 0
